"""Which checkpoint is the last good one, and keeping it when the losses turn NaN.

A loss computed at step ``s`` checks the weights left by step ``s - 1``; a validation loss at the
end of an epoch checks the weights left by its last step. A checkpoint is good once nothing
computed on its weights was NaN or infinite. Saving therefore keeps the one before
(``checkpoint.prev.pt``) until the new one has been checked, and a non-finite loss on the newest
checkpoint's own weights puts the previous one back.

A process killed at any moment leaves a loadable ``checkpoint.pt``: the previous one is kept by
a hard link (``checkpoint.pt`` never moves aside), and the new one is written to a temporary
name, flushed to disk and renamed over ``checkpoint.pt`` in one step; putting the previous one
back is one rename too.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from torch import nn

from dlstudio.core.files import keep_copy
from dlstudio.train.checkpoint import load_checkpoint, save_checkpoint

CHECKPOINT_NAME = "checkpoint.pt"
PREVIOUS_NAME = "checkpoint.prev.pt"


class CheckpointKeeper:
    """Writes ``checkpoint.pt`` in ``folder`` and knows which one is good (``folder`` None: no
    checkpoints at all)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.path: Path | None = None
        """The newest checkpoint on disk (None before the first save)."""
        self._step: int | None = None  # optimizer steps done when self.path was written
        self._previous: int | None = None  # the same for checkpoint.prev.pt, when it exists

    def resumed_from(self, path: Path) -> None:
        """A run resumed from ``path``: it is the good one so far (it was checked before)."""
        self.path = path

    def save(self, step: int, **state: Any) -> Path | None:
        """Write a checkpoint after ``step`` steps (see :func:`save_checkpoint` for ``state``)."""
        if self.folder is None:
            return None
        current = self.folder / CHECKPOINT_NAME
        if self.path == current and current.exists():
            keep_copy(current, self.folder / PREVIOUS_NAME)
            self._previous = self._step
        self.path = save_checkpoint(current, **state)
        self._step = step
        return self.path

    def reject_weights_of(self, step: int) -> Path | None:
        """A loss computed on the weights after ``step`` steps was not finite: if the newest
        checkpoint holds exactly those weights, drop it for the one before. Returns the last
        good checkpoint (None when there is none)."""
        if self.path is None or self._step is None or self._step != step:
            return self.path
        assert self.folder is not None
        previous = self.folder / PREVIOUS_NAME
        if self._previous is not None and previous.exists():
            os.replace(previous, self.path)
            self._step, self._previous = self._previous, None
            return self.path
        self.path.unlink(missing_ok=True)
        self.path = self._step = None
        return None

    def restore_into(self, model: nn.Module) -> None:
        """Load the good checkpoint's weights into ``model`` (nothing when there is none)."""
        if self.path is not None:
            model.load_state_dict(load_checkpoint(self.path)["model"])

    def finish(self) -> None:
        """The run ended: the newest checkpoint stays, its predecessor goes."""
        if self.folder is not None:
            (self.folder / PREVIOUS_NAME).unlink(missing_ok=True)

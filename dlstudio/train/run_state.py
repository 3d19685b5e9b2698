"""The state a run carries between batches, what it returns, and its internal signals."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlstudio.train.events import EpochEvent


class NonFiniteLoss(Exception):
    """Raised inside the loop when a reported loss is NaN or infinite."""

    def __init__(self, step: int, value: float, phase: str = "training") -> None:
        super().__init__(f"{phase} loss {value} at step {step}")
        self.step, self.value, self.phase = step, value, phase


class LayerFailure(Exception):
    """An exception from the model's forward or backward, with the pass it happened in."""

    def __init__(self, exc: BaseException, phase: str) -> None:
        super().__init__(str(exc))
        self.exc, self.phase = exc, phase


@dataclass
class RunResult:
    """How a run ended: ``status`` is completed, stopped, early_stopping or failed."""

    status: str
    epochs: int = 0
    steps: int = 0
    history: list[EpochEvent] = field(default_factory=list)
    best: dict[str, float] = field(default_factory=dict)
    message: str = ""
    checkpoint: Path | None = None
    best_epoch: int = 0
    """The epoch (from 1) whose metrics are in ``best`` (0: none)."""


_SAVED = (
    "epoch",
    "position",
    "step",
    "batch_size",
    "epoch_loss",
    "epoch_loss_steps",
    "best_score",
    "bad_epochs",
    "best",
    "best_epoch",
)


@dataclass
class Progress:
    """Where the run is: epochs done, samples of this epoch done, steps, early-stopping state."""

    epoch: int = 0
    position: int = 0  # samples of the current epoch already trained on
    step: int = 0
    batch_size: int = 0
    epoch_loss: float = 0.0
    epoch_loss_steps: int = 0
    best_score: float = math.inf
    bad_epochs: int = 0
    best: dict[str, float] = field(default_factory=dict)
    best_epoch: int = 0  # the epoch (from 1) whose metrics are in ``best``

    def to_dict(self) -> dict[str, Any]:
        """Plain values for a checkpoint."""
        data = {key: getattr(self, key) for key in _SAVED}
        data["best"] = dict(self.best)
        return data

    def load(self, data: dict[str, Any]) -> None:
        """Continue from :meth:`to_dict`."""
        for key in _SAVED:
            if key in data:  # checkpoints of older versions lack best_epoch
                setattr(self, key, data[key])

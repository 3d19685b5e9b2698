"""Changing the batch size during a run: halving it after running out of device memory, and
fitting the learning-rate schedule to a batch size other than the configured one.

A mixin of :class:`~dlstudio.train.trainer.Trainer` (its attributes are the Trainer's).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from dlstudio.train.events import NoticeEvent
from dlstudio.train.optim import make_scheduler
from dlstudio.train.run_state import Progress


class BatchResizing:
    """Batch size changes of a run (attributes are the Trainer's)."""

    _progress: Progress
    config: Any
    optimizer: Any
    device: torch.device
    dist: Any
    scheduler: Any
    _n_train: int
    _steps_per_epoch: int
    _emit: Callable[[Any], None]

    def _retry_smaller(self) -> bool:
        """After running out of device memory: halve the batch and carry on, if allowed."""
        p = self._progress
        if not self.config.oom_retry or p.batch_size <= 1 or self.dist.active:
            return False
        self.optimizer.zero_grad(set_to_none=True)
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
        p.batch_size //= 2
        self._rebuild_schedule()
        self._emit(
            NoticeEvent(
                f"out of device memory at step {p.step + 1}: retrying with batch size {p.batch_size}",
                p.step + 1,
            )
        )
        return True

    def _rebuild_schedule(self) -> None:
        """Fit the schedule to a batch size other than the configured one (after an OOM halving,
        or resuming such a run): same curve over samples seen, more steps."""
        p = self._progress
        self._steps_per_epoch = math.ceil(self._n_train / p.batch_size)
        self.scheduler = make_scheduler(self.optimizer, self.config, self._steps_per_epoch)
        seen = p.epoch * self._n_train + p.position
        if seen:
            self.scheduler.last_epoch = seen // p.batch_size - 1
            self.scheduler.step()

"""What a training run reports, as frozen dataclasses, and the tokens that stop or pause it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class StepEvent:
    """Progress every few steps: mean loss over the steps since the last report.

    ``step`` counts optimizer steps from 1 over the whole run; ``epoch`` is the epoch under way,
    from 1; ``epoch_fraction`` is how much of it is done (0..1).
    """

    step: int
    epoch: int
    loss: float
    lr: float
    samples_per_s: float
    epoch_fraction: float = 0.0


@dataclass(frozen=True)
class EpochEvent:
    """End of an epoch (``epoch`` from 1): metrics of the training pass and of the validation set.

    ``train`` holds ``loss`` and the chosen metric; ``val`` holds ``loss`` and every metric that
    fits the output (empty without a validation split).
    """

    epoch: int
    step: int
    train: dict[str, float]
    val: dict[str, float]
    seconds: float = 0.0
    samples_per_s: float = 0.0
    """Training samples of this epoch over the seconds of its training pass (without
    validation): the run's own speed figure."""


@dataclass(frozen=True)
class PausedEvent:
    """The run is paused between two batches and waits for ``RunControl.resume``."""

    step: int
    epoch: int


@dataclass(frozen=True)
class NoticeEvent:
    """Something people should know that does not end the run (e.g. a halved batch size)."""

    message: str
    step: int


@dataclass(frozen=True)
class FinishedEvent:
    """The run ended normally: ``reason`` is ``completed``, ``stopped`` or ``early_stopping``."""

    reason: str
    epochs: int
    steps: int
    best: dict[str, float] = field(default_factory=dict)
    checkpoint: str | None = None
    best_epoch: int = 0
    """The epoch (from 1) whose validation (or, without one, training) metrics are ``best``."""


@dataclass(frozen=True)
class FailedEvent:
    """The run could not go on: a message for people, and details (traceback, values)."""

    message: str
    details: str = ""
    step: int | None = None
    layer: str | None = None
    checkpoint: str | None = None


Event = StepEvent | EpochEvent | PausedEvent | NoticeEvent | FinishedEvent | FailedEvent
Callback = Callable[[Event], None]
"""Receives every event, on the thread that runs the trainer."""


class RunControl:
    """Thread-safe stop and pause tokens; the trainer checks them between batches."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()

    def stop(self) -> None:
        """Ask the run to end after the current batch (a paused run wakes up and ends)."""
        self._stop.set()
        self._running.set()

    def pause(self) -> None:
        """Ask the run to wait after the current batch until :meth:`resume` or :meth:`stop`."""
        self._running.clear()

    def resume(self) -> None:
        """Let a paused run go on."""
        self._running.set()

    @property
    def stop_requested(self) -> bool:
        """True once :meth:`stop` was called."""
        return self._stop.is_set()

    @property
    def pause_requested(self) -> bool:
        """True while paused (and not stopped)."""
        return not self._running.is_set()

    def wait_while_paused(self) -> None:
        """Block until resumed or stopped."""
        self._running.wait()

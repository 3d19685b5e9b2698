"""Progress of a run in words: epoch, step, throughput and an honest time-left estimate."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer

from dlstudio.train import EpochEvent, StepEvent

STEP_PROGRESS_MS = 250
"""Step reports arrive about ten times a second; the bar and its line show one every this many
ms (4 Hz reads as live, and each repaint costs the training thread time)."""


def clock(seconds: float) -> str:
    """``75`` -> ``1:15``; ``3725`` -> ``1:02:05``."""
    seconds = int(max(0, seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return f"{seconds // 60}:{seconds % 60:02d}"


class ProgressClock:
    """Turns step reports into the progress bar's value and text.

    Time left comes from the pace since the first report (or the last resume), so loading the
    data, compiling and pauses do not distort it.
    """

    def __init__(self) -> None:
        self._origin: tuple[float, float] | None = None
        self._epoch_rate: tuple[int, float] | None = None

    def reset(self) -> None:
        """Start measuring the pace afresh (a new run, or a resume)."""
        self._origin = None

    def epoch_done(self, event: EpochEvent) -> None:
        """Show this epoch's own samples/s from now on (the figure the run reports)."""
        self._epoch_rate = (event.epoch, event.samples_per_s)

    def clear(self) -> None:
        """A new run: no epoch figure yet."""
        self._origin = self._epoch_rate = None

    def describe(self, event: StepEvent, epochs: int) -> tuple[float, str, str]:
        """``(fraction done, line under the bar, text on the bar)``."""
        fraction = min(1.0, ((event.epoch - 1) + event.epoch_fraction) / max(1, epochs))
        now = time.perf_counter()
        if self._origin is None:
            self._origin = (now, fraction)
        start, done = self._origin
        pace = (fraction - done) / (now - start) if now > start else 0.0
        if pace <= 0 or fraction - done <= 0.01:
            left = "estimating time…"
        elif (1 - fraction) / pace < 1:
            left = "almost done"
        else:
            left = f"about {clock((1 - fraction) / pace)} left"
        # The speed shown is the run's per-epoch figure (training samples over the seconds of
        # the training pass), the same number the epoch log, metrics.jsonl and the runs table give.
        if self._epoch_rate is not None:
            number, rate = self._epoch_rate
            speed = f"{rate:,.0f} samples/s (epoch {number})"
        else:
            speed = "samples/s after epoch 1"
        text = f"Epoch {event.epoch}/{epochs} · step {event.step} · {speed} · {left}"
        return fraction, text, f"{fraction:.0%} · loss {event.loss:.4f}"


class Throttled(QObject):
    """Calls ``apply`` with the latest offered value at most once every ``interval_ms``: at
    once after a quiet spell, else when the interval ends (so the last value is always shown)."""

    def __init__(
        self, apply: Callable[[Any], None], interval_ms: int, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._apply = apply
        self._latest: Any = None
        self._waiting = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._on_timeout)

    def offer(self, value: Any) -> None:
        """Show ``value`` now, or when the current interval ends."""
        if self._timer.isActive():
            self._latest, self._waiting = value, True
            return
        self._apply(value)
        self._timer.start()

    def cancel(self) -> None:
        """Drop a value still waiting (something else is shown instead)."""
        self._latest, self._waiting = None, False

    def _on_timeout(self) -> None:
        if self._waiting:
            value, self._latest, self._waiting = self._latest, None, False
            self._apply(value)
            self._timer.start()

"""Callbacks that write a run down: a plain-text progress bar and JSON-lines metrics."""

from __future__ import annotations

import json
import math
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TextIO

from dlstudio.train.events import (
    EpochEvent,
    Event,
    FailedEvent,
    FinishedEvent,
    NoticeEvent,
    PausedEvent,
    StepEvent,
)


def _json_safe(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN / Infinity
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    return value


class JsonlMetricsWriter:
    """Appends one JSON object per event (``{"event": "epoch", ...}``) to a file, flushed at once."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = self.path.open("a", encoding="utf-8")

    def __call__(self, event: Event) -> None:
        kind = type(event).__name__.removesuffix("Event").lower()
        record = {"event": kind, **_json_safe(asdict(event))}  # type: ignore[dict-item]
        self._handle.write(json.dumps(record) + "\n")
        self._handle.flush()

    def close(self) -> None:
        """Close the file."""
        self._handle.close()


class TextProgress:
    """A one-line progress bar redrawn in place, and a line per epoch, on ``stream`` (stderr)."""

    def __init__(self, epochs: int, stream: TextIO | None = None, width: int = 24) -> None:
        self.epochs = epochs
        self.stream = stream or sys.stderr
        self.width = width

    def __call__(self, event: Event) -> None:
        out = self.stream
        if isinstance(event, StepEvent):
            filled = int(self.width * event.epoch_fraction)
            bar = "#" * filled + "-" * (self.width - filled)
            out.write(
                f"\repoch {event.epoch}/{self.epochs} [{bar}] step {event.step} "
                f"loss {event.loss:.4f} lr {event.lr:.2e} {event.samples_per_s:,.0f} samples/s "
            )
        elif isinstance(event, EpochEvent):
            parts = [f"train {k} {v:.4f}" for k, v in event.train.items()]
            parts += [f"val {k} {v:.4f}" for k, v in event.val.items()]
            out.write(
                f"\repoch {event.epoch}/{self.epochs} ({event.seconds:.1f}s, "
                f"{event.samples_per_s:,.0f} samples/s): {', '.join(parts)}\n"
            )
        elif isinstance(event, NoticeEvent):
            out.write(f"\nnote: {event.message}\n")
        elif isinstance(event, PausedEvent):
            out.write(f"\npaused at step {event.step}\n")
        elif isinstance(event, FinishedEvent):
            out.write(
                f"finished ({event.reason}) after {event.epochs} epochs, {event.steps} steps\n"
            )
        elif isinstance(event, FailedEvent):
            out.write(f"\nerror: {event.message}\n")
        out.flush()

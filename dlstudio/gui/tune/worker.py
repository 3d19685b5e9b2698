"""The tuning worker: a QObject moved to a QThread that opens the study and runs its trials.

Everything goes out through ``event`` (queued to the GUI thread): :class:`TunePrepared`, the
tuner's ``TrialStarted`` / ``TrialEpoch`` / ``TrialFinished``, and last :class:`TuneOutcome`.
Stop is the tuner's thread-safe :class:`~dlstudio.train.tune.TuneControl`.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from dlstudio.core import DLStudioError, LayerGraph
from dlstudio.train.history import RunStore
from dlstudio.train.tune import Dimension, TuneControl, Tuner, TuneSettings, best_trial


@dataclass(frozen=True)
class TuneRequest:
    """What to search: a snapshot of the graph, the parsed space, and where the study lives."""

    graph: LayerGraph
    dims: tuple[Dimension, ...]
    folder: Path
    settings: TuneSettings
    store: RunStore


@dataclass(frozen=True)
class TunePrepared:
    """The data set is loaded and the study open."""

    study_name: str
    storage: str
    metric: str
    direction: str
    dataset: str


@dataclass(frozen=True)
class TuneOutcome:
    """Sent last: the best completed trial (None when none completed) or why the study failed."""

    best_number: int | None = None
    best_value: float | None = None
    best_params: dict[str, Any] = field(default_factory=dict)
    trials: int = 0
    error: str = ""
    details: str = ""


class TuneWorker(QObject):
    """Runs one :class:`TuneRequest` when :meth:`run` is invoked on its thread."""

    reported = Signal(object)
    """TunePrepared, every trial event, then a TuneOutcome."""
    done = Signal()
    """Nothing left to do; the thread may quit."""

    def __init__(self, request: TuneRequest, control: TuneControl) -> None:
        super().__init__()
        self.request = request
        self.control = control

    @Slot()
    def run(self) -> None:
        """Open the study, run the trials, report the best; never raises."""
        try:
            self.reported.emit(self._tune())
        except Exception as exc:  # a worker must never die silently
            message = str(exc) if isinstance(exc, DLStudioError) else f"{type(exc).__name__}: {exc}"
            self.reported.emit(TuneOutcome(error=message, details=traceback.format_exc()))
        finally:
            self.done.emit()

    def _tune(self) -> TuneOutcome:
        r = self.request
        tuner = Tuner(
            r.graph, r.dims, r.folder, r.settings, [self.reported.emit], self.control, r.store
        )
        self.reported.emit(
            TunePrepared(
                tuner.study.study_name,
                tuner.storage_url,
                tuner.metric,
                tuner.direction,
                tuner.dataset.summary(),
            )
        )
        study = tuner.run()
        best = best_trial(study)
        if best is None:
            return TuneOutcome(trials=len(study.trials))
        return TuneOutcome(best.number, best.value, dict(best.params), len(study.trials))

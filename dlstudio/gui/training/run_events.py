"""The running worker's events, routed to the views: steps and epochs to the curves and the
run's record, health to the canvas and the Health tab, the end of a run to the log and results.

A mixin of :class:`~dlstudio.gui.training.controller.TrainingController` (kept apart so each
file has one job); the run's thread and commands stay in the controller.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dlstudio.gui.training.worker import RunOutcome, RunPrepared
from dlstudio.train import (
    EpochEvent,
    FailedEvent,
    FinishedEvent,
    NoticeEvent,
    PausedEvent,
    StepEvent,
)
from dlstudio.train.health import HealthEvent

if TYPE_CHECKING:
    import torch
    from PySide6.QtCore import SignalInstance
    from PySide6.QtWidgets import QMessageBox

    from dlstudio.gui.document import Document
    from dlstudio.gui.training.evaluation import Predictions
    from dlstudio.gui.training.history import RunRecord, RunStore
    from dlstudio.gui.training.monitor import TrainingMonitor
    from dlstudio.gui.training.overlay import HealthOverlay
    from dlstudio.gui.training.panel import TrainingPanel
    from dlstudio.gui.training.progress import ProgressClock
    from dlstudio.gui.training.worker import TrainingWorker


class RunEventsMixin:
    """How the controller shows each event of a run."""

    # The TrainingController's state and methods this mixin uses, declared here so a type
    # checker holds both sides to them.
    document: Document
    panel: TrainingPanel
    monitor: TrainingMonitor
    overlay: HealthOverlay
    store: RunStore
    state: str
    record: RunRecord | None
    trained: dict[str, torch.nn.Module]
    progress_clock: ProgressClock
    event_received: SignalInstance
    _worker: TrainingWorker | None
    _run_graph: object

    if TYPE_CHECKING:  # the controller's own, not the mixin's

        def _save_record(self, record: RunRecord) -> None: ...

        def _show_progress(self, event: StepEvent) -> None: ...

        def _show_predictions(self, predictions: Predictions) -> None: ...

        def _set_state(self, state: str) -> None: ...

        def _show_error(self, title: str, message: str, details: str = "") -> QMessageBox: ...

        def _failure_details(self, event: FailedEvent) -> str: ...

    def _on_worker_event(self, event: object) -> None:
        record = self.record
        if isinstance(event, StepEvent):
            self.monitor.plot.add_step(event)
            if record is not None:
                record.add_step(event)
            self._show_progress(event)
        elif isinstance(event, EpochEvent):
            self._on_epoch(event)
        elif isinstance(event, HealthEvent):
            self._on_health(event)
        elif isinstance(event, PausedEvent):
            if self.state != "stopping":
                self._set_state("paused")
            self.monitor.append_log(f"Paused at step {event.step}.")
            self.panel.set_progress(
                self.panel.progress.value() / 1000, f"Paused at step {event.step}."
            )
        elif isinstance(event, NoticeEvent):
            self.monitor.append_log(event.message, "warning")
        elif isinstance(event, FinishedEvent):
            self._on_finished(event)
        elif isinstance(event, FailedEvent):
            self._on_failed(event)
        elif isinstance(event, RunOutcome):
            self._on_outcome(event)
        elif isinstance(event, RunPrepared):
            if record is not None:
                record.settings = event.config.to_metadata()
            self.monitor.append_log(f"Data: {event.dataset}")
        self.event_received.emit(event)

    def _on_epoch(self, event: EpochEvent) -> None:
        self.progress_clock.epoch_done(event)
        self.monitor.plot.add_epoch(event)
        if self.record is not None:
            self.record.add_epoch(event)
            self._save_record(self.record)
        shown = " ".join(
            f"{split} {k} {v:.4g}"
            for split, m in (("train", event.train), ("val", event.val))
            for k, v in m.items()
        )
        self.monitor.append_log(
            f"Epoch {event.epoch}: {shown} ({event.seconds:.1f} s, "
            f"{event.samples_per_s:,.0f} samples/s)"
        )

    def _on_health(self, event: HealthEvent) -> None:
        # After New or Open the canvas shows another graph whose node ids may coincide.
        if self.document.graph is self._run_graph:
            self.overlay.show_event(event)
        self.monitor.show_health(event)

    def _on_finished(self, event: FinishedEvent) -> None:
        if self.record is not None:
            self.record.status = event.reason
            self.record.best = dict(event.best)
            self.record.checkpoint = event.checkpoint
        best = ", ".join(f"{k} {v:.4g}" for k, v in event.best.items())
        self.monitor.append_log(
            f"Finished ({event.reason.replace('_', ' ')}) after {event.epochs} epoch(s), "
            f"{event.steps} steps" + (f"; best {best}" if best else ""),
            "ok",
        )

    def _on_failed(self, event: FailedEvent) -> None:
        if self.record is not None:
            self.record.status = "failed"
            self.record.message = event.message
        self.monitor.append_log(f"Failed: {event.message}", "error")
        if self._worker is None or not self._worker.closing:
            self._show_error("Training failed", event.message, self._failure_details(event))

    def _on_outcome(self, outcome: RunOutcome) -> None:
        record = self.record
        if record is None:
            return
        if outcome.module is not None:
            self.trained[record.run_id] = outcome.module
            if self._worker is not None:  # typed text goes to this run's model
                self.panel.data_tools.set_trained(outcome.module, self._worker.request.graph)
        if outcome.predictions is not None:
            self._show_predictions(outcome.predictions)
        self._save_record(record)
        self.monitor.history.set_records(self.store.load_all())
        self.monitor.plot.redraw_now()

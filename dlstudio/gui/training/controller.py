"""The training controller: owns the worker thread of a run and routes its events to the views
(how each event is shown: :mod:`~dlstudio.gui.training.run_events`).

One run at a time. Start takes a snapshot of the graph (``graph.copy()``), so the user keeps
editing while it trains; the panel's banner says so. The worker lives in its own QThread and
talks only through queued signals; Stop and Pause are the trainer's thread-safe tokens;
:meth:`TrainingController.shutdown` (window closing, application quitting) stops the run and
waits for the thread, so Qt never destroys a running QThread.
"""

from __future__ import annotations

import time
from datetime import datetime

import torch
from PySide6.QtCore import QCoreApplication, QEvent, QObject, QThread, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from dlstudio.core import GraphEvent
from dlstudio.gui.canvas import GraphScene
from dlstudio.gui.document import EMPTY_MODEL_TEXT, Document
from dlstudio.gui.training.after_run import RunResultsMixin
from dlstudio.gui.training.attention_run import AttentionMixin
from dlstudio.gui.training.data_flow import DataFitMixin
from dlstudio.gui.training.evaluation import Predictions
from dlstudio.gui.training.history import RunRecord, RunStore
from dlstudio.gui.training.monitor import TrainingMonitor
from dlstudio.gui.training.overlay import HealthOverlay
from dlstudio.gui.training.panel import TrainingPanel
from dlstudio.gui.training.progress import ProgressClock, clock
from dlstudio.gui.training.run_events import RunEventsMixin
from dlstudio.gui.training.worker import RunRequest, TrainingWorker
from dlstudio.gui.workers import TaskHandle
from dlstudio.train import (
    RunControl,
    StepEvent,
    TrainError,
)

SHUTDOWN_WAIT_MS = 60_000


class TrainingController(RunEventsMixin, RunResultsMixin, AttentionMixin, DataFitMixin, QObject):
    """Start, pause, resume, stop, evaluate and export runs of the document's model."""

    run_started = Signal(object)
    """The :class:`RunRecord` of a run that just started."""
    event_received = Signal(object)
    """Every event of the running worker, after the views have taken it."""
    run_finished = Signal(object)
    """The run's :class:`RunRecord`, after its results are shown and saved."""
    evaluation_finished = Signal(object)
    """:class:`Predictions` of Evaluate (or a FailedEvent)."""
    state_changed = Signal(str)
    """``idle``, ``running``, ``paused`` or ``stopping``."""
    monitor_wanted = Signal()
    """The Training Monitor should come into view (Show Attention Map); the window shows and
    raises its dock."""
    train_requested = Signal()
    """Train again through the window's Run > Train (a data check that F5 waited for ended
    well); with nothing connected the controller starts the run itself."""

    def __init__(
        self,
        document: Document,
        scene: GraphScene,
        parent_widget: QWidget,
        store: RunStore | None = None,
        health_every: int = 20,
    ) -> None:
        super().__init__(parent_widget)
        self.document = document
        self.window = parent_widget
        self.store = store or RunStore()
        self.health_every = health_every
        self.panel = TrainingPanel(document, parent_widget)
        self.monitor = TrainingMonitor(parent_widget)
        self.overlay = HealthOverlay(scene)
        self.state = "idle"
        self.record: RunRecord | None = None
        self.trained: dict[str, torch.nn.Module] = {}
        self.task: TaskHandle | None = None
        self._thread: QThread | None = None
        self._worker: TrainingWorker | None = None
        self._control: RunControl | None = None
        self._started_at = 0.0
        self.progress_clock = ProgressClock()
        self._model_changed = False
        self._run_graph: object = None
        self._install_data_check()
        self.panel.start_requested.connect(self.start)
        self.panel.pause_requested.connect(self.pause)
        self.panel.resume_requested.connect(self.resume)
        self.panel.stop_requested.connect(self.stop)
        history = self.monitor.history
        history.overlay_changed.connect(self._on_history_overlay_changed)
        history.export_requested.connect(self.export_trained)
        history.evaluate_requested.connect(self.evaluate)
        self.monitor.currentChanged.connect(self._on_monitor_current_changed)
        self.run_finished.connect(self._on_attention_run_finished)
        document.graph_event.connect(self._on_document_graph_event)
        document.reset.connect(self._on_document_reset)
        history.set_records(self.store.load_all())

    # ------------------------------------------------------------- commands
    @property
    def is_running(self) -> bool:
        """True from Start until the worker thread has finished."""
        return self._thread is not None

    def start(self, check_data: bool = True) -> RunRecord | None:
        """Train a snapshot of the current graph with the panel's settings (None: refused).

        With ``check_data`` a data set that cannot be loaded or does not fit the drawing is
        reported at once, with its fixes as buttons, instead of failing in the worker."""
        if self.is_running:
            return None
        if self.document.is_empty:
            self._show_error("Nothing to train", EMPTY_MODEL_TEXT)
            return None
        if not self.panel.commit():
            return None
        try:
            config = self.panel.config()
        except TrainError as exc:
            self._show_error("Cannot start training", str(exc))
            return None
        analysis = self.document.analysis
        if analysis.has_errors:
            details = "\n".join(f"• {d.message}" for d in analysis.errors[:12])
            self._show_error(
                "The model has errors", "Fix the problems listed in the Problems panel.", details
            )
            return None
        if check_data and not self._data_fits():
            return None
        snapshot = self.document.graph.copy()
        self._run_graph = self.document.graph
        started = datetime.now()
        try:
            record = self.store.create(snapshot, config.to_metadata(), started)
        except OSError as exc:
            self._show_error(
                "Cannot start training",
                f"could not create the run folder under {self.store.root}: {exc.strerror or exc}; "
                "set DLSTUDIO_DATA_DIR to a writable folder",
            )
            return None
        self.record = record
        self._control = RunControl()
        path = self.document.path
        request = RunRequest(
            snapshot,
            self.panel.edited_metadata(),
            config.device,
            record.folder,
            self.health_every,
            base_dir=path.resolve().parent if path else None,
            init_weights=self.panel.init_weights,
            threads=self.panel.threads(),
            project_path=path,
            processes=self.panel.processes(),
            tensorboard=self.panel.data_tools.tensorboard_dir(record.folder),
        )
        self._worker = TrainingWorker(request, self._control)
        self._thread = QThread(self)
        self._thread.setObjectName("training")
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        self._worker.reported.connect(self._on_worker_event)
        self._worker.done.connect(self._thread.quit)
        self._thread.finished.connect(self._on_thread_finished)
        self._reset_views()
        self.progress_clock.clear()
        self._model_changed = False
        self._started_at = time.perf_counter()
        self.panel.show_banner(self._banner_text())
        self.monitor.append_log(
            f"Run {record.run_id}: {snapshot.name}, data set {config.dataset}, {config.epochs} "
            f"epoch(s), batch {config.batch_size}, {config.optimizer} lr {config.lr:g}, "
            f"device {config.device}"
        )
        self._set_state("running")
        self._thread.start()
        self.run_started.emit(record)
        return record

    def pause(self) -> None:
        """Pause after the current batch."""
        if self._control is not None and self.state == "running":
            self._control.pause()
            self.panel.set_progress(self.panel.progress.value() / 1000, "Pausing after this batch…")

    def resume(self) -> None:
        """Let a paused run go on."""
        if self._control is not None and self.state == "paused":
            self._control.resume()
            self.progress_clock.reset()
            self._set_state("running")
            self.monitor.append_log("Resumed.")

    def stop(self) -> None:
        """End the run after the current batch (its checkpoint and results are kept)."""
        if self._control is not None and self.state in ("running", "paused"):
            self._control.stop()
            self._set_state("stopping")
            self.monitor.append_log("Stopping after this batch…")

    def shutdown(self, timeout_ms: int = SHUTDOWN_WAIT_MS) -> bool:
        """Stop a run and wait for its thread (the window is closing); True when it ended."""
        thread = self._thread
        if thread is None:
            return True
        if self._worker is not None:
            self._worker.closing = True
        if self._control is not None:
            self._control.stop()
        thread.quit()  # takes effect once the worker's run() returns
        finished = thread.wait(timeout_ms)
        if finished:
            # Deliver the worker's last queued events now (its FinishedEvent and outcome), so
            # the run's record is complete before the window goes away.
            QCoreApplication.sendPostedEvents(self, QEvent.Type.MetaCall)
            self._on_thread_finished()
        return finished

    def _on_thread_finished(self) -> None:
        if self._thread is None:
            return
        thread = self._thread
        # The worker has no parent: dropping the last reference deletes it here and now (its
        # thread has ended, so nothing else touches it). The thread is ours: Qt deletes it.
        self._thread = self._worker = self._control = None
        thread.deleteLater()
        self._set_state("idle")
        if self.record is not None and self.record.status == "completed":
            self.panel.set_progress(1.0, self.panel.progress_label.text(), "100% · done")
        elapsed = clock(time.perf_counter() - self._started_at)
        when = self.record.started.strftime("%H:%M:%S") if self.record else ""
        if self.record is not None and self.record.status == "failed":
            self.panel.show_banner(
                f"The run started at {when} failed: {self.record.message or 'see the log'}. "
                "Fix it and press Start again."
            )
        else:
            self.panel.show_banner(
                f"The last run trained the model as it was at {when} ({elapsed}); Start trains "
                "the current drawing."
            )
        if self.record is not None:
            self.run_finished.emit(self.record)

    def _on_history_overlay_changed(self, records: list) -> None:
        colours = self.monitor.plot.set_overlays(records)
        self.monitor.history.set_colours(colours)
        self.monitor.plot.redraw_now()

    def _on_document_graph_event(self, event: GraphEvent) -> None:
        if (
            self.is_running
            and not self._model_changed
            and event.kind != GraphEvent.METADATA_CHANGED
        ):
            self._model_changed = True
            self.panel.show_banner(self._banner_text())

    def _on_document_reset(self) -> None:
        """New or Open: the curves, banner and results of the last model go with it (a run in
        progress keeps showing: it trains its own snapshot)."""
        self.overlay.clear()
        if self.is_running:
            return
        self.monitor.plot.reset()
        self.monitor.plot.redraw_now()
        self.monitor.confusion.set_predictions(None)
        self.monitor.samples.set_predictions(None)
        self.monitor.attention.set_source(None)
        self.panel.show_banner("")
        self.panel.set_progress(0.0, "Ready.", "")

    # -------------------------------------------------------------- helpers
    def _save_record(self, record: RunRecord) -> None:
        """Write the run's record; a full or read-only disk is logged, never fatal."""
        try:
            self.store.save(record)
        except OSError as exc:
            self.monitor.append_log(f"could not save {record.folder}: {exc}", "error")

    def _banner_text(self) -> str:
        when = self.record.started.strftime("%H:%M:%S") if self.record else "Start"
        text = f"Training uses the model as it was at {when}; edits apply to the next run."
        if self._model_changed:
            text += " The drawing has changed since."
        return text

    def _show_progress(self, event: StepEvent) -> None:
        epochs = self.record.settings.get("epochs", 1) if self.record else 1
        self.panel.show_step_progress(*self.progress_clock.describe(event, epochs))

    def _show_predictions(self, predictions: Predictions) -> None:
        self.monitor.confusion.set_predictions(predictions)
        self.monitor.samples.set_predictions(predictions)

    def _reset_views(self) -> None:
        self.monitor.plot.reset()
        self.overlay.clear()
        self.monitor.reset_health()
        self.panel.set_progress(0.0, "Compiling the model and loading the data…", "starting")

    def _set_state(self, state: str) -> None:
        self.state = state
        self.panel.set_state(state)
        if state == "idle" and self.record is not None:
            self.panel.set_progress(
                self.panel.progress.value() / 1000,
                f"Run {self.record.run_id}: {self.record.summary()}.",
            )
        self.state_changed.emit(state)

    def _show_error(self, title: str, message: str, details: str = "") -> QMessageBox:
        """A non-blocking error box with the message, and the details behind "Show Details"."""
        box = QMessageBox(
            QMessageBox.Icon.Critical, title, message, QMessageBox.StandardButton.Ok, self.window
        )
        if details:
            box.setDetailedText(details)
        box.setModal(False)
        box.open()
        self.error_box = box
        return box

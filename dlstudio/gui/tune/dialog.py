"""The Tune dialog: edit the search space and the number of trials, watch the trials live, and
apply the best values to the document as one undoable edit.

The study runs in a :class:`TuneWorker` on its own QThread (like training); the dialog only
talks to it through queued signals and the tuner's thread-safe stop token. Each trial is a run
of the run history, so it shows in the Runs tab when the study ends.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import QCoreApplication, QEvent, Qt, QThread, Signal
from PySide6.QtGui import QCloseEvent, QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dlstudio.core import LayerGraph
from dlstudio.gui.document import Document
from dlstudio.gui.theme import monospace_font
from dlstudio.gui.tune.plot import COLOURS, RUNNING_COLOUR, TrialPlot
from dlstudio.gui.tune.worker import TuneOutcome, TunePrepared, TuneRequest, TuneWorker
from dlstudio.train import user_data_dir
from dlstudio.train.history import RunStore
from dlstudio.train.tune import (
    Dimension,
    SpaceError,
    TrialEpoch,
    TrialFinished,
    TrialStarted,
    TuneControl,
    TuneSettings,
    apply_command,
    parse_space,
)
from dlstudio.train.tune.report import format_value

SHUTDOWN_WAIT_MS = 60_000


def suggested_space(graph: LayerGraph) -> list[str]:
    """A starting space: the learning rate, the batch size and the first hidden Dense layer's
    width (not the last Dense layer, whose width is the number of outputs)."""
    lines = ["lr=1e-4:1e-1:log", "batch_size=16|32|64"]
    dense = [node for node in graph if node.type_id == "dense"]
    if len(dense) > 1:
        lines.append(f"{dense[0].name}.units=8:128")
    return lines


class TuneDialog(QDialog):
    """Space, trials, Start/Stop, the live plot and table of trials, and Apply Best."""

    trial_event = Signal(object)
    """Every event of the running study (TunePrepared, trial events, TuneOutcome)."""
    study_finished = Signal(object)
    """The :class:`TuneOutcome`, once the worker thread has ended."""

    def __init__(
        self,
        document: Document,
        parent: QWidget | None = None,
        store: RunStore | None = None,
        on_runs_changed: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Tune Hyper-parameters")
        self.setObjectName("tune_dialog")
        self.document = document
        self.store = store or RunStore()
        self.on_runs_changed = on_runs_changed
        self.dims: list[Dimension] = []
        self.space_texts: list[str] = []
        self.outcome: TuneOutcome | None = None
        self.prepared: TunePrepared | None = None
        self._thread: QThread | None = None
        self._worker: TuneWorker | None = None
        self._control: TuneControl | None = None
        self._rows: dict[int, int] = {}
        self._build()
        self.reset_space()
        self._set_running(False)

    # ------------------------------------------------------------------ UI
    def _build(self) -> None:
        self.space_edit = QPlainTextEdit(self)
        self.space_edit.setObjectName("tune_space")
        self.space_edit.setFont(monospace_font(10))
        self.space_edit.setFixedHeight(92)
        self.space_edit.setToolTip(
            "One searched value per line: SETTING=LOW:HIGH, add :log for a log scale, or A|B|C.\n"
            "Training settings: lr, batch_size, optimizer, weight_decay, momentum, epochs, …\n"
            "Layer parameters: NODE.PARAM, e.g. fc1.units=8:128"
        )
        self.trials_spin = QSpinBox(self)
        self.trials_spin.setRange(1, 10_000)
        self.trials_spin.setValue(20)
        self.epochs_spin = QSpinBox(self)
        self.epochs_spin.setRange(1, 100_000)
        self.prune_check = QCheckBox("Stop trials that fall behind the median (pruning)", self)
        self.prune_check.setChecked(True)
        form = QFormLayout()
        form.addRow("Search space", self.space_edit)
        hint = QLabel(
            "<small>one per line: SETTING=LOW:HIGH (add :log), SETTING=A|B|C; layers as NODE.PARAM</small>"
        )
        hint.setStyleSheet("color: #8a8f98")
        form.addRow("", hint)
        counts = QHBoxLayout()
        counts.addWidget(self.trials_spin)
        counts.addWidget(QLabel("epochs per trial"))
        counts.addWidget(self.epochs_spin)
        counts.addStretch(1)
        form.addRow("Trials", counts)
        form.addRow("", self.prune_check)

        self.status_label = QLabel(self)
        self.status_label.setObjectName("tune_status")
        self.status_label.setWordWrap(True)
        self.start_button = QPushButton("Start", self)
        self.stop_button = QPushButton("Stop", self)
        self.apply_button = QPushButton("Apply Best", self)
        self.apply_button.setToolTip("Set the best trial's values in the model (undoable)")
        self.close_button = QPushButton("Close", self)
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.apply_button.clicked.connect(self.apply_best)
        self.close_button.clicked.connect(self.close)
        buttons = QHBoxLayout()
        for button in (self.start_button, self.stop_button, self.apply_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)

        self.plot = TrialPlot(self)
        self.table = QTableWidget(0, 0, self)
        self.table.setObjectName("tune_trials")
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setAlternatingRowColors(True)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(self.plot)
        splitter.addWidget(self.table)
        splitter.setSizes([300, 200])

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status_label)
        layout.addLayout(buttons)
        layout.addWidget(splitter, 1)
        self.resize(900, 720)

    def reset_space(self) -> None:
        """Fill the space with suggestions for the document's model and its epochs."""
        graph = self.document.graph
        self.space_edit.setPlainText("\n".join(suggested_space(graph)))
        epochs = (graph.metadata.get("training") or {}).get("epochs", 5)
        self.epochs_spin.setValue(int(epochs) if isinstance(epochs, int) else 5)

    def space_lines(self) -> list[str]:
        """The non-empty lines of the space editor."""
        return [line.strip() for line in self.space_edit.toPlainText().splitlines() if line.strip()]

    # ------------------------------------------------------------ commands
    @property
    def is_running(self) -> bool:
        """True from Start until the worker thread has ended."""
        return self._thread is not None

    def start(self) -> bool:
        """Check the space and start the study on a snapshot of the model (False: refused)."""
        if self.is_running:
            return False
        graph = self.document.graph
        lines = self.space_lines()
        if not lines:
            return self._refuse("Give at least one line, e.g. lr=1e-4:1e-1:log.")
        try:
            dims = parse_space(lines, graph)
        except SpaceError as exc:
            return self._refuse(str(exc).replace("--space ", "", 1))
        if self.document.analysis.has_errors:
            return self._refuse("The model has errors; fix the problems listed first.")
        started = datetime.now()
        name = f"{graph.name or 'model'}-{started:%Y%m%d-%H%M%S}"
        settings = TuneSettings(
            trials=self.trials_spin.value(),
            study_name=name,
            prune=self.prune_check.isChecked(),
            epochs=self.epochs_spin.value(),
        )
        request = TuneRequest(
            graph.copy(), tuple(dims), user_data_dir() / "studies" / name, settings, self.store
        )
        self.dims, self.space_texts = dims, lines
        self.outcome = self.prepared = None
        self._reset_views(dims)
        self._control = TuneControl()
        self._worker = TuneWorker(request, self._control)
        self._thread = QThread(self)
        self._thread.setObjectName("tuning")
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        self._worker.reported.connect(self._on_worker_event)
        self._worker.done.connect(self._thread.quit)
        self._thread.finished.connect(self._on_thread_finished)
        self._set_running(True)
        self._show_status("Loading the data and opening the study…")
        self._thread.start()
        return True

    def stop(self) -> None:
        """End the study after the current batch (the running trial is recorded as failed)."""
        if self._control is not None:
            self._control.stop()
            self._show_status("Stopping after this batch…")

    def apply_best(self) -> bool:
        """Set the best trial's values in the document as one undoable edit."""
        outcome = self.outcome
        if outcome is None or outcome.best_number is None:
            return False
        graph = self.document.graph
        try:
            dims = parse_space(self.space_texts, graph)
        except SpaceError as exc:
            self._show_status(f"Cannot apply: the model changed since the study ({exc})", "error")
            return False
        command = apply_command(graph, dims, outcome.best_params)
        if not self.document.push(command):
            self._show_status("Cannot apply the best values to this model.", "error")
            return False
        self._show_status(
            f"Applied trial {outcome.best_number}'s values to the model (Edit › Undo reverts).",
            "ok",
        )
        return True

    def shutdown(self, timeout_ms: int = SHUTDOWN_WAIT_MS) -> bool:
        """Stop a study and wait for its thread (closing); True when it ended."""
        thread = self._thread
        if thread is None:
            return True
        if self._control is not None:
            self._control.stop()
        thread.quit()
        finished = thread.wait(timeout_ms)
        if finished:
            QCoreApplication.sendPostedEvents(self, QEvent.Type.MetaCall)
            self._on_thread_finished()
        return finished

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)

    def reject(self) -> None:
        self.shutdown()
        super().reject()

    # -------------------------------------------------------------- events
    def _on_worker_event(self, event: object) -> None:
        self.plot.add_event(event)
        if isinstance(event, TunePrepared):
            self.prepared = event
            self.plot.reset(event.direction)
            self._show_status(
                f"Study {event.study_name}: {event.direction} validation {event.metric} on "
                f"{event.dataset}."
            )
        elif isinstance(event, TrialStarted):
            self._set_row(event.number, "running", event.params, None, 0)
            self._show_status(f"Trial {event.number} of {self.trials_spin.value()} is training…")
        elif isinstance(event, TrialEpoch):
            row = self._rows.get(event.number)
            if row is not None:
                self._set_cell(row, len(self.dims) + 2, format_value(event.value))
                self._set_cell(row, len(self.dims) + 3, str(event.epoch))
        elif isinstance(event, TrialFinished):
            self._set_row(event.number, event.state, event.params, event.value, event.epochs)
            if event.message:
                self._cell(self._rows[event.number], 1).setToolTip(event.message)
        elif isinstance(event, TuneOutcome):
            self.outcome = event
        self.trial_event.emit(event)

    def _on_thread_finished(self) -> None:
        if self._thread is None:
            return
        thread = self._thread
        self._thread = self._worker = self._control = None
        thread.deleteLater()
        self._set_running(False)
        self.plot.redraw_now()
        outcome = self.outcome or TuneOutcome(error="the study ended without a result")
        if outcome.error:
            self._show_status(f"Tuning failed: {outcome.error}", "error")
        elif outcome.best_number is None:
            self._show_status("No trial completed, so there is no best value.", "error")
        else:
            metric = self.prepared.metric if self.prepared else "metric"
            self._show_status(
                f"Best: trial {outcome.best_number}, validation {metric} "
                f"{format_value(outcome.best_value)}. Apply Best sets its values in the model.",
                "ok",
            )
            self._mark_best(outcome.best_number)
        self.apply_button.setEnabled(outcome.best_number is not None)
        if self.on_runs_changed is not None:
            self.on_runs_changed()
        self.study_finished.emit(outcome)

    # ------------------------------------------------------------- helpers
    def _reset_views(self, dims: list[Dimension]) -> None:
        self.plot.reset()
        self._rows.clear()
        headers = ["trial", "state", *(d.target for d in dims), "val metric", "epochs"]
        self.table.clear()
        self.table.setRowCount(0)
        self.table.setColumnCount(len(headers))
        self.table.setHorizontalHeaderLabels(headers)

    def _set_row(
        self, number: int, state: str, params: dict, value: float | None, epochs: int
    ) -> None:
        row = self._rows.get(number)
        if row is None:
            row = self._rows[number] = self.table.rowCount()
            self.table.insertRow(row)
        cells = [
            str(number),
            state,
            *(format_value(params.get(d.target)) for d in self.dims),
            format_value(value),
            str(epochs),
        ]
        for column, text in enumerate(cells):
            self._set_cell(row, column, text)
        colour = COLOURS.get(state, RUNNING_COLOUR)
        if colour:
            self._cell(row, 1).setForeground(QColor(colour))
        self.table.scrollToItem(self._cell(row, 0))

    def _cell(self, row: int, column: int) -> QTableWidgetItem:
        """The table's item at ``row``, ``column`` (an empty one is made where none is)."""
        item = self.table.item(row, column)
        if item is None:
            item = QTableWidgetItem("")
            if column >= 2:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(row, column, item)
        return item

    def _set_cell(self, row: int, column: int, text: str) -> None:
        self._cell(row, column).setText(text)

    def _mark_best(self, number: int) -> None:
        row = self._rows.get(number)
        if row is not None:
            item = self._cell(row, 0)
            item.setText(f"{number} ★")
            item.setToolTip("the best trial")

    def _refuse(self, message: str) -> bool:
        self._show_status(message, "error")
        return False

    def _show_status(self, text: str, kind: str = "") -> None:
        colour = {"error": "#e5534b", "ok": "#63d297"}.get(kind, "#c2c6cc")
        self.status_label.setStyleSheet(f"color: {colour}")
        self.status_label.setText(text)

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.apply_button.setEnabled(
            not running and self.outcome is not None and self.outcome.best_number is not None
        )
        for widget in (self.space_edit, self.trials_spin, self.epochs_spin, self.prune_check):
            widget.setEnabled(not running)

"""The Training monitor: tabs for live curves, results, run history, health and the log."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from dlstudio.gui.theme import monospace_font
from dlstudio.gui.training.history import RunRecord
from dlstudio.gui.training.overlay import HealthTable
from dlstudio.gui.training.plots import LossPlot
from dlstudio.gui.training.results import ConfusionMatrixView, SamplePredictions

MAX_LOG_LINES = 5000


class RunHistoryPanel(QWidget):
    """Past runs, newest first; tick runs to overlay their curves on the live plots."""

    overlay_changed = Signal(list)
    """The ticked :class:`RunRecord` s."""
    export_requested = Signal(object)
    """Export the chosen run's trained model."""
    evaluate_requested = Signal(object)
    """Evaluate the chosen run's trained model on the test split."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.list = QListWidget(self)
        self.list.setAlternatingRowColors(True)
        self.details = QLabel(
            "Each run keeps its model snapshot, settings, metrics and weights.", self
        )
        self.details.setProperty("role", "dim")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.evaluate_button = QPushButton("Evaluate on Test Split", self)
        self.export_button = QPushButton("Export Trained Model…", self)
        buttons = QHBoxLayout()
        buttons.addWidget(self.evaluate_button)
        buttons.addWidget(self.export_button)
        buttons.addStretch(1)
        side = QVBoxLayout()
        side.addWidget(self.details, 1)
        side.addLayout(buttons)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.list, 3)
        layout.addLayout(side, 2)
        self.records: list[RunRecord] = []
        self.list.itemChanged.connect(self._on_list_item_changed)
        self.list.currentRowChanged.connect(self._on_list_current_changed)
        self.export_button.clicked.connect(self._on_export_clicked)
        self.evaluate_button.clicked.connect(self._on_evaluate_clicked)
        self._on_list_current_changed(-1)

    def set_records(self, records: list[RunRecord]) -> None:
        """Show ``records`` (oldest first in the list given; shown newest first)."""
        ticked = {r.run_id for r in self.ticked()}
        self.list.blockSignals(True)
        self.list.clear()
        self.records = list(reversed(records))
        for record in self.records:
            item = QListWidgetItem(f"{record.label}  —  {record.summary()}")
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            checked = record.run_id in ticked
            item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
            item.setToolTip(str(record.folder))
            self.list.addItem(item)
        self.list.blockSignals(False)
        self._on_list_current_changed(self.list.currentRow())

    def ticked(self) -> list[RunRecord]:
        """The runs whose curves are overlaid."""
        return [
            record
            for row, record in enumerate(self.records)
            if self.list.item(row) is not None
            and self.list.item(row).checkState() == Qt.CheckState.Checked
        ]

    def set_ticked(self, run_ids: set[str]) -> None:
        """Tick exactly these runs (emits ``overlay_changed``)."""
        for row, record in enumerate(self.records):
            state = Qt.CheckState.Checked if record.run_id in run_ids else Qt.CheckState.Unchecked
            self.list.item(row).setCheckState(state)

    def current(self) -> RunRecord | None:
        """The selected run (or the newest one)."""
        row = self.list.currentRow()
        if 0 <= row < len(self.records):
            return self.records[row]
        return self.records[0] if self.records else None

    def _on_list_item_changed(self, _item: QListWidgetItem) -> None:
        self.overlay_changed.emit(self.ticked())

    def _on_list_current_changed(self, _row: int) -> None:
        record = self.current()
        has_weights = bool(record and record.weights_path.exists())
        self.export_button.setEnabled(has_weights)
        self.evaluate_button.setEnabled(has_weights)
        if record is None:
            return
        settings = record.settings
        lines = [
            f"<b>{record.label}</b> — {record.summary()}",
            f"data set {settings.get('dataset')}, {settings.get('epochs')} epochs, batch "
            f"{settings.get('batch_size')}, {settings.get('optimizer')} lr {settings.get('lr')}",
            f"<span style='color:#8b9099'>{record.folder}</span>",
        ]
        if record.message:
            lines.insert(1, f"<span style='color:#f07b74'>{record.message}</span>")
        self.details.setText("<br>".join(lines))

    def _on_export_clicked(self) -> None:
        if self.current() is not None:
            self.export_requested.emit(self.current())

    def _on_evaluate_clicked(self) -> None:
        if self.current() is not None:
            self.evaluate_requested.emit(self.current())


class TrainingMonitor(QTabWidget):
    """Curves, Results, Runs, Health and Log tabs of the training dock."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDocumentMode(True)
        self.plot = LossPlot(self)
        self.confusion = ConfusionMatrixView(self)
        self.samples = SamplePredictions(self)
        results = QSplitter(Qt.Orientation.Horizontal, self)
        results.addWidget(self.confusion)
        results.addWidget(self.samples)
        results.setSizes([420, 600])
        self.results = results
        self.history = RunHistoryPanel(self)
        self.health = HealthTable(self)
        self.log = QPlainTextEdit(self)
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(MAX_LOG_LINES)
        self.log.setFont(monospace_font(9.5))
        self.addTab(self.plot, "Curves")
        self.addTab(self.results, "Results")
        self.addTab(self.history, "Runs")
        self.addTab(self.health, "Health")
        self.addTab(self.log, "Log")

    def append_log(self, text: str, level: str = "info") -> None:
        """Add a time-stamped line to the log (warnings and errors coloured)."""
        colour = {"warning": "#ffa94d", "error": "#f07b74", "ok": "#63d297"}.get(level)
        stamp = datetime.now().strftime("%H:%M:%S")
        escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        body = f"<span style='color:{colour}'>{escaped}</span>" if colour else escaped
        self.log.appendHtml(f"<span style='color:#6b7078'>{stamp}</span> {body}")

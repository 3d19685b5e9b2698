"""The Runs tab: every past run in a table; tick runs to overlay their curves on the plots."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dlstudio.gui.training.history import RunRecord

COLUMNS = ("Run", "Model", "Status", "Epochs", "Data set", "Optimizer", "Val loss", "Metric")
_STATUS_COLORS = {"completed": "#63d297", "failed": "#f07b74", "running": "#6fa8ff"}


def _swatch(colour: str | None) -> QIcon:
    pixmap = QPixmap(12, 12)
    pixmap.fill(QColor(colour) if colour else QColor(0, 0, 0, 0))
    return QIcon(pixmap)


def _last_val(record: RunRecord) -> tuple[str, str]:
    """The last epoch's validation loss and first metric, as short text."""
    last = record.epochs[-1] if record.epochs else {}
    metrics = last.get("val") or last.get("train") or {}
    loss = f"{metrics['loss']:.4g}" if "loss" in metrics else "–"
    name = next((k for k in metrics if k != "loss"), None)
    metric = f"{name.replace('_', ' ')} {metrics[name]:.4g}" if name else "–"
    return loss, metric


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
        self.table = QTreeWidget(self)
        self.table.setColumnCount(len(COLUMNS))
        self.table.setHeaderLabels(COLUMNS)
        self.table.setRootIsDecorated(False)
        self.table.setAlternatingRowColors(True)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.header().setStretchLastSection(True)
        # The shared style sheet leaves checked boxes looking empty in a tree: draw them here.
        self.table.setStyleSheet(
            "QTreeWidget::indicator { width: 12px; height: 12px; border: 1px solid #5a5f68;"
            " border-radius: 3px; background: #1d1f22; }"
            "QTreeWidget::indicator:checked { background: #3d7bd9; border-color: #6fa8ff; }"
        )
        self.details = QLabel("Each run keeps its model snapshot, settings, metrics and weights.")
        self.details.setProperty("role", "dim")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.compare_button = QPushButton("Compare Architectures", self)
        self.compare_button.setToolTip("Tick two runs: what changed in the model between them")
        self.evaluate_button = QPushButton("Evaluate on Test Split", self)
        self.export_button = QPushButton("Export Trained Model…", self)
        bottom = QHBoxLayout()
        bottom.addWidget(self.details, 1)
        bottom.addWidget(self.compare_button)
        bottom.addWidget(self.evaluate_button)
        bottom.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.table, 1)
        layout.addLayout(bottom)
        self.records: list[RunRecord] = []
        self.table.itemChanged.connect(self._on_table_item_changed)
        self.table.currentItemChanged.connect(self._on_table_current_changed)
        self.export_button.clicked.connect(self._on_export_clicked)
        self.evaluate_button.clicked.connect(self._on_evaluate_clicked)
        self.compare_button.clicked.connect(self._on_compare_clicked)
        self.compare_button.setEnabled(False)
        self.architecture_dialog: QWidget | None = None
        self._on_table_current_changed()

    def set_records(self, records: list[RunRecord]) -> None:
        """Show ``records`` (given oldest first; listed newest first); ticks are kept."""
        ticked = {r.run_id for r in self.ticked()}
        current = self.current()
        self.table.blockSignals(True)
        self.table.clear()
        self.records = list(reversed(records))
        for record in self.records:
            loss, metric = _last_val(record)
            settings = record.settings
            item = QTreeWidgetItem(
                [
                    record.started.strftime("%Y-%m-%d %H:%M:%S"),
                    record.model_name,
                    record.status.replace("_", " "),
                    str(len(record.epochs)),
                    str(settings.get("dataset", "")),
                    f"{settings.get('optimizer', '')} {settings.get('lr', '')}",
                    loss,
                    metric,
                ]
            )
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            state = Qt.CheckState.Checked if record.run_id in ticked else Qt.CheckState.Unchecked
            item.setCheckState(0, state)
            item.setForeground(2, QColor(_STATUS_COLORS.get(record.status, "#e0a526")))
            item.setToolTip(0, f"{record.folder}\nTick to overlay its curves on the plots.")
            self.table.addTopLevelItem(item)
            if current is not None and record.run_id == current.run_id:
                self.table.setCurrentItem(item)
        self.table.blockSignals(False)
        self.compare_button.setEnabled(len(self.ticked()) == 2)
        self._on_table_current_changed()

    def set_colours(self, colours: dict[str, str]) -> None:
        """Show each overlaid run's curve colour next to its tick (run id -> colour)."""
        # An icon change is an itemChanged too: without blocking, it would re-trigger overlays.
        self.table.blockSignals(True)
        for row, record in enumerate(self.records):
            item = self.table.topLevelItem(row)
            if item is not None:
                item.setIcon(0, _swatch(colours.get(record.run_id)))
        self.table.blockSignals(False)

    def ticked(self) -> list[RunRecord]:
        """The runs whose curves are overlaid."""
        items = [self.table.topLevelItem(row) for row in range(len(self.records))]
        return [
            record
            for record, item in zip(self.records, items, strict=True)
            if item is not None and item.checkState(0) == Qt.CheckState.Checked
        ]

    def set_ticked(self, run_ids: set[str]) -> None:
        """Tick exactly these runs (emits ``overlay_changed``)."""
        for row, record in enumerate(self.records):
            state = Qt.CheckState.Checked if record.run_id in run_ids else Qt.CheckState.Unchecked
            item = self.table.topLevelItem(row)
            if item is not None:
                item.setCheckState(0, state)

    def current(self) -> RunRecord | None:
        """The selected run (or the newest one)."""
        item = self.table.currentItem()
        row = self.table.indexOfTopLevelItem(item) if item is not None else -1
        if 0 <= row < len(self.records):
            return self.records[row]
        return self.records[0] if self.records else None

    def _on_table_item_changed(self, _item: QTreeWidgetItem, column: int) -> None:
        if column == 0:
            self.compare_button.setEnabled(len(self.ticked()) == 2)
            self.overlay_changed.emit(self.ticked())

    def _on_table_current_changed(self, *_args: object) -> None:
        record = self.current()
        has_weights = bool(record and record.weights_path.exists())
        self.export_button.setEnabled(has_weights)
        self.evaluate_button.setEnabled(has_weights)
        if record is None:
            return
        settings = record.settings
        text = (
            f"<b>{record.label}</b>: {record.summary()}; batch {settings.get('batch_size')}, "
            f"schedule {settings.get('schedule', 'none')}. "
            f"<span style='color:#8b9099'>{record.folder}</span>"
        )
        if record.message:
            text += f"<br><span style='color:#f07b74'>{record.message}</span>"
        self.details.setText(text)

    def _on_export_clicked(self) -> None:
        if self.current() is not None:
            self.export_requested.emit(self.current())

    def _on_compare_clicked(self) -> None:
        """The two ticked runs' models side by side, beside their curves on the plots."""
        from dlstudio.gui.experiment import RunArchitectureDialog

        ticked = self.ticked()
        if len(ticked) == 2:
            dialog = RunArchitectureDialog(ticked[0], ticked[1], self)
            dialog.show()
            self.architecture_dialog = dialog

    def _on_evaluate_clicked(self) -> None:
        if self.current() is not None:
            self.evaluate_requested.emit(self.current())

"""The model summary: one row per layer (type, output shape, parameters, MACs) and the totals.

Clicking a row asks for that node to be selected on the canvas (``node_activated``).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dlstudio.analysis import AnalysisResult
from dlstudio.gui.document import Document
from dlstudio.gui.theme import monospace_font
from dlstudio.layers import get_layer_type, has_layer_type

MEMORY_BATCH = 32
"""Batch size at which the activation memory total is reported."""

_COLUMNS = ("Layer", "Type", "Output shape", "Params", "MACs")
_NODE_ROLE = Qt.ItemDataRole.UserRole


def human_count(value: int) -> str:
    """``1.2 M``-style short form of a large count."""
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= size:
            return f"{value / size:.1f} {unit}"
    return str(value)


def human_bytes(value: int) -> str:
    """``3.1 MiB``-style size."""
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def activation_bytes(result: AnalysisResult, batch: int = MEMORY_BATCH) -> int:
    """Memory of every layer output for a batch of ``batch`` examples."""
    bindings = {**result.bindings, "N": batch}
    total = 0
    for info in result.nodes.values():
        for spec in info.outputs.values():
            total += spec.bytes(bindings) or 0
    return total


class SummaryTable(QWidget):
    """A table of layers in execution order with a totals line underneath."""

    node_activated = Signal(str)
    """A node id whose row the user clicked."""

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.table = QTableWidget(0, len(_COLUMNS), self)
        self.table.setHorizontalHeaderLabels(_COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(22)
        header = self.table.horizontalHeader()
        # Every column as wide as its widest entry (names first: they vary most); the table
        # scrolls sideways in a narrow dock rather than squeezing the names to two letters.
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.cellClicked.connect(self._on_table_clicked)
        self.totals = QLabel(self)
        self.totals.setObjectName("summary_totals")
        self.totals.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.totals.setContentsMargins(8, 4, 8, 4)
        self.totals.setWordWrap(True)  # a long line must not force the dock wider
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.table)
        layout.addWidget(self.totals)
        document.analysis_ready.connect(self._on_document_analysis_ready)
        self._on_document_analysis_ready(document.analysis)

    def _on_document_analysis_ready(self, result: AnalysisResult) -> None:
        graph = self.document.graph
        ids = [nid for nid in result.order if nid in graph]
        ids += [nid for nid in graph.nodes if nid not in result.order]  # nodes stuck in cycles
        mono = monospace_font(9.5)
        self.table.setRowCount(len(ids) + 1)
        for row, node_id in enumerate(ids):
            node = graph.node(node_id)
            info = result.nodes.get(node_id)
            label = get_layer_type(node.type_id).label if has_layer_type(node.type_id) else "?"
            shape = "  ".join(str(s) for s in info.outputs.values()) if info else ""
            params = info.param_count if info else None
            macs = info.macs if info else None
            cells = (
                node.name + ("" if node.trainable else "  (frozen)"),
                label,
                shape or "—",
                f"{params:,}" if params is not None else "—",
                human_count(macs) if macs is not None else "—",
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(_NODE_ROLE, node_id)
                if column >= 2:
                    item.setFont(mono)
                if column >= 3:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                self.table.setItem(row, column, item)
        bold = QFont(self.table.font())
        bold.setBold(True)
        totals = (
            "Total",
            f"{len(ids)} layers",
            "",
            f"{result.total_params:,}",
            human_count(result.total_macs),
        )
        for column, text in enumerate(totals):
            item = QTableWidgetItem(text)
            item.setFont(bold)
            if column >= 3:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(len(ids), column, item)
        memory = activation_bytes(result)
        self.totals.setText(
            f"<b>{result.total_params:,}</b> parameters ({result.trainable_params:,} trainable,"
            f" {result.frozen_params:,} frozen) &nbsp;·&nbsp; {human_count(result.total_macs)}"
            f" MACs per example &nbsp;·&nbsp; activations {human_bytes(memory)} at batch"
            f" {MEMORY_BATCH}"
        )
        self.totals.setToolTip(
            f"{result.total_macs:,} multiply-accumulates per example; activation memory is the"
            f" size of every layer output for a batch of {MEMORY_BATCH}."
        )

    def row_of(self, node_id: str) -> int:
        """The table row showing ``node_id``, or -1."""
        for row in range(self.table.rowCount() - 1):
            item = self.table.item(row, 0)
            if item is not None and item.data(_NODE_ROLE) == node_id:
                return row
        return -1

    def _on_table_clicked(self, row: int, _column: int) -> None:
        item = self.table.item(row, 0)
        node_id = item.data(_NODE_ROLE) if item is not None else None
        if node_id:
            self.node_activated.emit(node_id)

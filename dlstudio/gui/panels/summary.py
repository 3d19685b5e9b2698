"""The model summary: one row per layer (type, output shape, parameters, MACs) and the totals;
block instances expand into their inner layers.

Clicking a row asks for that node to be selected on the canvas (``node_activated``, or
``location_activated`` for a layer inside a block).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dlstudio.analysis import AnalysisResult
from dlstudio.analysis.tree import summary_rows
from dlstudio.gui.document import Document
from dlstudio.gui.theme import monospace_font

MEMORY_BATCH = 32
"""Batch size at which the activation memory total is reported."""

_COLUMNS = ("Layer", "Type", "Output shape", "Params", "MACs")
_LOCATION_ROLE = Qt.ItemDataRole.UserRole
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


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
    """The layers in execution order as a tree (block instances expand into their insides, a
    repeating instance into one row per copy), with a totals row and line underneath."""

    node_activated = Signal(str)
    """A top-level node id whose row the user clicked."""
    location_activated = Signal(tuple)
    """Node ids from the top graph down to the inner layer whose row the user clicked."""

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.tree = QTreeWidget(self)
        self.tree.setObjectName("summary_tree")
        self.tree.setColumnCount(len(_COLUMNS))
        self.tree.setHeaderLabels(_COLUMNS)
        self.tree.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setIndentation(16)
        header = self.tree.header()
        # Every column as wide as its widest entry (names first: they vary most); the tree
        # scrolls sideways in a narrow dock rather than squeezing the names to two letters.
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.tree.itemClicked.connect(self._on_tree_clicked)
        self.totals = QLabel(self)
        self.totals.setObjectName("summary_totals")
        self.totals.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.totals.setContentsMargins(8, 4, 8, 4)
        self.totals.setWordWrap(True)  # a long line must not force the dock wider
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.tree)
        layout.addWidget(self.totals)
        self._items: dict[tuple[str, ...], QTreeWidgetItem] = {}
        document.analysis_ready.connect(self._on_document_analysis_ready)
        self._on_document_analysis_ready(document.analysis)

    def _on_document_analysis_ready(self, result: AnalysisResult) -> None:
        expanded = {loc for loc, item in self._items.items() if item.isExpanded()}
        self.tree.clear()
        self._items = {}
        mono = monospace_font(9.5)
        parents: list[QTreeWidgetItem] = []
        rows = summary_rows(self.document.graph, result)
        top_level = 0
        for row in rows:
            shape = "  ".join(str(s) for s in row.outputs)
            params, macs = row.params, row.macs
            frozen = row.node is not None and not row.node.trainable
            cells = (
                row.name + ("  (frozen)" if frozen else ""),
                row.type_label,
                shape or "—",
                f"{params:,}" if params is not None else "—",
                human_count(macs) if macs is not None else "—",
            )
            del parents[row.depth :]
            parent = parents[-1] if parents else self.tree.invisibleRootItem()
            item = QTreeWidgetItem(parent, list(cells))
            item.setData(0, _LOCATION_ROLE, row.location)
            item.setToolTip(0, row.path)
            for column in range(2, len(_COLUMNS)):
                item.setFont(column, mono)
            for column in (3, 4):
                item.setTextAlignment(column, _RIGHT)
            parents.append(item)
            if row.node is not None:
                if row.location not in self._items:  # a repeating block: its first copy
                    self._items[row.location] = item
                if row.location in expanded:
                    item.setExpanded(True)
            top_level += row.depth == 0
        bold = QFont(self.tree.font())
        bold.setBold(True)
        totals = (
            "Total",
            f"{top_level} layers",
            "",
            f"{result.total_params:,}",
            human_count(result.total_macs),
        )
        total_item = QTreeWidgetItem(self.tree, list(totals))
        for column in range(len(_COLUMNS)):
            total_item.setFont(column, bold)
        for column in (3, 4):
            total_item.setTextAlignment(column, _RIGHT)
        self.total_item = total_item
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

    def item_of(self, location: str | tuple[str, ...]) -> QTreeWidgetItem | None:
        """The row of a top-level node id, or of an inner layer by its location (node ids
        from the top graph down); for a repeating instance, the row in its first copy."""
        key = (location,) if isinstance(location, str) else tuple(location)
        return self._items.get(key)

    def top_level_items(self) -> list[QTreeWidgetItem]:
        """The rows at the top of the tree (the totals row last)."""
        items = (self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount()))
        return [item for item in items if item is not None]

    def select_location(self, location: str | tuple[str, ...]) -> bool:
        """Select (and reveal) the row of a node; False when it has none."""
        return self.select_locations([location]) == 1

    def select_locations(self, locations: list[str | tuple[str, ...]]) -> int:
        """Select (and reveal) the rows of these nodes, and only those, the first one current;
        returns how many have a row (an empty list clears the selection)."""
        items = [item for item in map(self.item_of, locations) if item is not None]
        self.tree.clearSelection()
        for index, item in enumerate(items):
            parent = item.parent()
            while parent is not None:
                parent.setExpanded(True)
                parent = parent.parent()
            if index == 0:
                # Current first (it selects its row in single-selection mode), then the others:
                # the view's mode limits the user's clicks, not what the canvas selected.
                self.tree.setCurrentItem(item)
            item.setSelected(True)
        if items:
            self.tree.scrollToItem(items[0])
        return len(items)

    def _on_tree_clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        location = item.data(0, _LOCATION_ROLE)
        if not location:
            return
        if len(location) == 1:
            self.node_activated.emit(location[0])
        else:
            self.location_activated.emit(tuple(location))

"""A model difference drawn side by side: model A's layers on the left, B's on the right, one
line per layer, coloured by what happened to it, and the parameter and MAC deltas per block.

It only draws a :class:`~dlstudio.analysis.model_diff.ModelDiff`; the comparison itself is
``dlstudio.analysis.model_diff``.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QHeaderView,
    QLabel,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dlstudio.analysis.model_diff import LayerChange, ModelDiff
from dlstudio.analysis.model_diff_text import change_line, count, value_text

KIND_COLORS = {
    "added": "#63d297",
    "removed": "#f07b74",
    "changed": "#ffa94d",
    "renamed": "#6fa8ff",
    "same": "#8b9099",
}
KIND_MARKS = {"added": "+", "removed": "−", "changed": "~", "renamed": "~", "same": ""}
COLUMNS = ("A: layer", "type", "params", "", "B: layer", "type", "params", "what changed")
BLOCK_COLUMNS = ("block", "params A", "params B", "Δ params", "MACs A", "MACs B", "Δ MACs")


class ModelDiffView(QWidget):
    """Side by side layers of two models and their per-block figures."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.diff: ModelDiff | None = None
        self.headline = QLabel("Choose a model to compare with.", self)
        self.headline.setWordWrap(True)
        self.headline.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.only_changes = QCheckBox("Only differences", self)
        self.only_changes.toggled.connect(self._on_only_changes_toggled)
        self.layers = QTreeWidget(self)
        self.layers.setColumnCount(len(COLUMNS))
        self.layers.setHeaderLabels(COLUMNS)
        self.layers.setRootIsDecorated(False)
        self.layers.setUniformRowHeights(True)
        self.layers.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.layers.header().setStretchLastSection(True)
        self.blocks = QTreeWidget(self)
        self.blocks.setColumnCount(len(BLOCK_COLUMNS))
        self.blocks.setHeaderLabels(BLOCK_COLUMNS)
        self.blocks.setRootIsDecorated(False)
        self.blocks.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(self.layers)
        split.addWidget(self.blocks)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.headline)
        layout.addWidget(self.only_changes)
        layout.addWidget(split, 1)

    def set_diff(self, diff: ModelDiff | None, label_a: str = "", label_b: str = "") -> None:
        """Show ``diff`` (None: empty); the labels name A and B in the headline."""
        self.diff = diff
        self.layers.clear()
        self.blocks.clear()
        if diff is None:
            self.headline.setText("Choose a model to compare with.")
            return
        counts = ", ".join(f"{n} {kind}" for kind, n in diff.counts().items() if n)
        model = diff.blocks[0]
        self.headline.setText(
            f"<b>A</b> {_escape(label_a or diff.name_a)} → <b>B</b> {_escape(label_b or diff.name_b)}"
            f": {counts or 'the same architecture'}; parameters "
            f"{_figures(model.params, model.params_delta)}, MACs "
            f"{_figures(model.macs, model.macs_delta)}"
        )
        changes = {c.path: c for c in diff.changes}
        for row in diff.rows:
            change = changes.get(row.path_b or row.path_a or "")
            if row.kind == "removed":
                change = next(
                    (c for c in diff.changes if c.kind == "removed" and c.path == row.path_a), None
                )
            indent = "    " * row.depth
            item = QTreeWidgetItem(
                [
                    indent + (row.path_a or "").rsplit(".", 1)[-1] if row.path_a else "",
                    row.type_a or "",
                    _count(row.params[0]),
                    KIND_MARKS[row.kind],
                    indent + (row.path_b or "").rsplit(".", 1)[-1] if row.path_b else "",
                    row.type_b or "",
                    _count(row.params[1]),
                    _what(change) if change else "",
                ]
            )
            item.setData(0, Qt.ItemDataRole.UserRole, row.kind)
            item.setToolTip(0, row.path_a or "")
            item.setToolTip(4, row.path_b or "")
            if change:
                item.setToolTip(7, change_line(change))
            colour = QBrush(QColor(KIND_COLORS[row.kind]))
            for column in range(len(COLUMNS)):
                if row.kind != "same" or column == 3:
                    item.setForeground(column, colour)
            self.layers.addTopLevelItem(item)
        for block in diff.blocks:
            item = QTreeWidgetItem(
                [
                    block.path or "whole model",
                    _count(block.params[0]),
                    _count(block.params[1]),
                    _signed(block.params_delta),
                    count(block.macs[0]) if block.macs[0] is not None else "–",
                    count(block.macs[1]) if block.macs[1] is not None else "–",
                    _signed(block.macs_delta),
                ]
            )
            if block.params_delta or block.macs_delta:
                for column in (3, 6):
                    item.setForeground(column, QBrush(QColor(KIND_COLORS["changed"])))
            self.blocks.addTopLevelItem(item)
        self._on_only_changes_toggled(self.only_changes.isChecked())

    def visible_kinds(self) -> list[str]:
        """The kinds of the rows shown (for tests and the status line)."""
        return [
            item.data(0, Qt.ItemDataRole.UserRole) for item in self._items() if not item.isHidden()
        ]

    def _items(self) -> list[QTreeWidgetItem]:
        count = self.layers.topLevelItemCount()
        items = [self.layers.topLevelItem(i) for i in range(count)]
        return [item for item in items if item is not None]

    def _on_only_changes_toggled(self, only: bool) -> None:
        for item in self._items():
            item.setHidden(only and item.data(0, Qt.ItemDataRole.UserRole) == "same")


def _what(change: LayerChange) -> str:
    if change.kind in ("added", "removed"):
        return change.kind
    return "; ".join(
        f"{v.name} {value_text(v.before)} → {value_text(v.after)}" for v in change.values
    ) or ("weights follow a changed input")


def _count(value: int | None) -> str:
    return "–" if value is None else f"{value:,}"


def _signed(value: int | None) -> str:
    if value is None:
        return "–"
    if value == 0:
        return "0"
    return ("+" if value > 0 else "−") + count(abs(value))


def _figures(pair: tuple[int | None, int | None], delta: int | None) -> str:
    before, after = (count(v) for v in pair)
    return f"{before} → {after} ({_signed(delta)})" if delta else after


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

"""A model difference as an overlay on the canvas: each layer that is new or changed in the
model on screen gets a coloured outline and a mark (+ new, Δ changed or renamed); a block
instance with changes inside carries the mark of the most telling one. Layers only the other
model has cannot be drawn here; the comparison's list shows them.

The marks are child items of the scene's node items, so they move with their node and go
with it; :meth:`DiffOverlay.clear` removes them.
"""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from dlstudio.analysis.model_diff import ModelDiff
from dlstudio.analysis.model_diff_text import change_line
from dlstudio.gui.canvas import GraphScene
from dlstudio.gui.canvas import style as canvas_style
from dlstudio.gui.experiment.diff_view import KIND_COLORS

_RANK = {"added": 3, "changed": 2, "renamed": 1}
_MARKS = {"added": "+", "changed": "Δ", "renamed": "Δ"}


def marks_for(
    diff: ModelDiff, graph_ids: set[str], opened: tuple[str, ...] = ()
) -> dict[str, tuple[str, list[str]]]:
    """Node id in the shown graph -> (kind, lines explaining it) for every node that is new or
    changed itself or has changes inside (a block instance). ``opened`` is the path of block
    instances the canvas has opened (empty at the top graph). Only B's layers can be marked."""
    out: dict[str, tuple[str, list[str]]] = {}
    depth = len(opened)
    for change in diff.changes:
        location = change.location_b
        if change.kind == "removed" or len(location) <= depth or location[:depth] != opened:
            continue
        node_id = location[depth]
        if node_id not in graph_ids:
            continue
        kind = change.kind if len(location) == depth + 1 else "changed"
        old_kind, lines = out.get(node_id, (kind, []))
        if _RANK[kind] > _RANK[old_kind]:
            old_kind = kind
        out[node_id] = (old_kind, [*lines, change_line(change)])
    return out


class DiffMarkItem(QGraphicsItem):
    """An outline around a node and a round mark on its top-left corner."""

    def __init__(self, parent: QGraphicsItem, kind: str, lines: list[str]) -> None:
        super().__init__(parent)
        self.kind = kind
        self.setZValue(6)
        self.setAcceptHoverEvents(True)
        self.setToolTip("\n".join(lines[:12]) + ("\n…" if len(lines) > 12 else ""))

    def boundingRect(self) -> QRectF:
        return QRectF(-12, -12, canvas_style.NODE_WIDTH + 18, canvas_style.NODE_HEIGHT + 18)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        colour = QColor(KIND_COLORS[self.kind])
        painter.setPen(QPen(colour, 2.2, Qt.PenStyle.DashLine))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        outline = QRectF(-4, -4, canvas_style.NODE_WIDTH + 8, canvas_style.NODE_HEIGHT + 8)
        painter.drawRoundedRect(outline, 10, 10)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        badge = QRectF(-11, -11, 18, 18)
        painter.drawEllipse(badge)
        font = QFont(painter.font())
        font.setBold(True)
        font.setPointSizeF(9)
        painter.setFont(font)
        painter.setPen(QColor("#15171a"))
        painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, _MARKS[self.kind])


class DiffOverlay:
    """Marks the changed layers of the shown graph on the canvas."""

    def __init__(self, scene: GraphScene) -> None:
        self.scene = scene
        self.items: list[DiffMarkItem] = []

    def show(self, diff: ModelDiff, opened: tuple[str, ...] = ()) -> int:
        """Mark the nodes of the shown graph (inside the instances ``opened``) that ``diff``
        says are new or changed; returns how many were marked."""
        self.clear()
        ids = {item.node.id for item in self.scene.node_items()}
        for node_id, (kind, lines) in marks_for(diff, ids, opened).items():
            node_item = self.scene.node_item(node_id)
            if node_item is not None:
                self.items.append(DiffMarkItem(node_item, kind, lines))
        return len(self.items)

    def clear(self) -> None:
        """Remove every mark (those whose node is gone went with it)."""
        for item in self.items:
            if shiboken6.isValid(item) and item.scene() is not None:
                item.scene().removeItem(item)
        self.items = []

"""Where a node's lens thumbnail goes on the canvas: beside the node, clear of other nodes."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSizeF
from PySide6.QtWidgets import QGraphicsItem

from dlstudio.gui.canvas.node_item import NodeItem

GAP = 6
"""Pixels between a node and its thumbnail."""


def thumbnail_place(
    item: QGraphicsItem, width: float, height: float
) -> tuple[QPointF, list[QGraphicsItem]]:
    """The thumbnail's position in ``item``'s coordinates, right of the node, else left of it,
    wherever it covers no other node; and the nodes it covers there. Where both sides are
    taken (a crowded block) it goes right, and the caller draws it above what it covers."""
    box = item.boundingRect()
    top = box.top() + (box.height() - height) / 2
    size = QSizeF(width, height)
    places = (QPointF(box.right() + GAP, top), QPointF(box.left() - GAP - width, top))
    scene = item.scene()
    first: list[QGraphicsItem] = []
    for index, place in enumerate(places):
        if scene is None:
            return place, []
        area = item.mapRectToScene(QRectF(place, size))
        covered: list[QGraphicsItem] = [
            o for o in scene.items(area) if isinstance(o, NodeItem) and o is not item
        ]
        if not covered:
            return place, []
        if index == 0:
            first = covered
    return places[0], first

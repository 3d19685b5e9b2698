"""``EdgeItem``: a wire drawn as a cubic curve labelled with the tensor shape it carries."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QPainter, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QStyle, QStyleOptionGraphicsItem

from dlstudio.core import Edge
from dlstudio.gui.canvas import style
from dlstudio.gui.canvas.node_item import NodeItem

EDGE_TYPE = QGraphicsItem.UserType + 3  # type: ignore[attr-defined]  # not in PySide6's stubs


def wire_path(p0: QPointF, p1: QPointF, flow: str) -> QPainterPath:
    """A cubic curve leaving ``p0`` and entering ``p1`` along the flow direction."""
    path = QPainterPath(p0)
    if flow == "LR":
        bend = max(40.0, abs(p1.x() - p0.x()) * 0.5)
        if p1.x() < p0.x():  # a wire going back needs a wider loop to stay readable
            bend = max(bend, abs(p1.y() - p0.y()) * 0.5, 80.0)
        path.cubicTo(p0 + QPointF(bend, 0), p1 - QPointF(bend, 0), p1)
    else:
        bend = max(30.0, abs(p1.y() - p0.y()) * 0.5)
        if p1.y() < p0.y():
            bend = max(bend, abs(p1.x() - p0.x()) * 0.5, 80.0)
        path.cubicTo(p0 + QPointF(0, bend), p1 - QPointF(0, bend), p1)
    return path


def lane_path(p0: QPointF, p1: QPointF, lane: float, flow: str) -> QPainterPath:
    """A wire that leaves ``p0``, runs along a side lane (x = ``lane`` for TB, y for LR) past
    the nodes between its ends, and comes back into ``p1``: ResNet skip wires read this way."""
    path = QPainterPath(p0)
    r = 40.0
    if flow == "LR":
        path.cubicTo(p0 + QPointF(r, 0), QPointF(p0.x() + r, lane), QPointF(p0.x() + 2 * r, lane))
        path.lineTo(p1.x() - 2 * r, lane)
        path.cubicTo(QPointF(p1.x() - r, lane), p1 - QPointF(r, 0), p1)
    else:
        path.cubicTo(p0 + QPointF(0, r), QPointF(lane, p0.y() + r), QPointF(lane, p0.y() + 2 * r))
        path.lineTo(lane, p1.y() - 2 * r)
        path.cubicTo(QPointF(lane, p1.y() - r), p1 - QPointF(0, r), p1)
    return path


class EdgeItem(QGraphicsItem):
    """One wire. Its ends follow the two nodes' ports; the scene calls :meth:`update_path`
    only for wires touching a node that moved."""

    def __init__(self, edge: Edge, src: NodeItem, dst: NodeItem, flow: str = "TB") -> None:
        super().__init__()
        self.edge = edge
        self.src_item = src
        self.dst_item = dst
        self.flow = flow
        self.label = ""
        """The shape text, e.g. ``(N, 6, 28, 28)``; empty where the analysis did not reach."""
        self.show_label = True
        """Only one wire per output port shows the label (fan-out would repeat it)."""
        self.is_error = False
        self.is_long = False
        """True for a wire spanning several rows (it may need to route around nodes)."""
        self._path = QPainterPath()
        self._shape = QPainterPath()
        self._bounds = QRectF()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setAcceptHoverEvents(True)
        self.setZValue(0)
        # Only wires touching a moved node are redrawn; the rest come from the pixmap cache.
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.update_path()

    def type(self) -> int:
        return EDGE_TYPE

    def path(self) -> QPainterPath:
        """The wire's curve in scene coordinates."""
        return self._path

    def update_path(self) -> None:
        """Recompute the curve from the current port positions."""
        p0 = self.src_item.port_scene_pos(self.edge.src.port, True)
        p1 = self.dst_item.port_scene_pos(self.edge.dst.port, False)
        self.prepareGeometryChange()
        lane = self._lane(p0, p1)
        self._path = (
            wire_path(p0, p1, self.flow) if lane is None else lane_path(p0, p1, lane, self.flow)
        )
        stroker = QPainterPathStroker()
        stroker.setWidth(10.0)
        self._shape = stroker.createStroke(self._path)
        self._bounds = self._path.boundingRect().adjusted(-3, -3, 3, 3) | self._label_rect()

    def _lane(self, p0: QPointF, p1: QPointF) -> float | None:
        """Where to run a long wire that a straight curve would draw across other nodes."""
        scene = self.scene()
        lr = self.flow == "LR"
        along = (p1.x() - p0.x()) if lr else (p1.y() - p0.y())
        self.is_long = along >= 200.0
        if scene is None or not self.is_long:
            return None
        if lr:
            corridor = QRectF(
                p0.x() + 20, min(p0.y(), p1.y()) - 4, along - 40, abs(p1.y() - p0.y()) + 8
            )
        else:
            corridor = QRectF(
                min(p0.x(), p1.x()) - 4, p0.y() + 20, abs(p1.x() - p0.x()) + 8, along - 40
            )
        blockers = [
            item
            for item in scene.items(corridor)
            if isinstance(item, NodeItem) and item not in (self.src_item, self.dst_item)
        ]
        if not blockers:
            return None
        if lr:
            return max(b.sceneBoundingRect().bottom() for b in blockers) + 22.0
        return max(b.sceneBoundingRect().right() for b in blockers) + 22.0

    def set_state(self, label: str, is_error: bool, show_label: bool) -> None:
        """Show a new shape label or error colour; does nothing when nothing changed."""
        if (label, is_error, show_label) == (self.label, self.is_error, self.show_label):
            return
        self.label, self.is_error, self.show_label = label, is_error, show_label
        self.prepareGeometryChange()
        self._bounds = self._path.boundingRect().adjusted(-3, -3, 3, 3) | self._label_rect()
        tip = f"{self.edge.src} → {self.edge.dst}"
        self.setToolTip(f"{label}\n{tip}" if label else tip)
        self.update()

    def _label_rect(self) -> QRectF:
        if not (self.label and self.show_label):
            return QRectF()
        width = QFontMetricsF(style.font("wire")).horizontalAdvance(self.label) + 4
        start = self._path.pointAtPercent(0.0)
        # Beside the wire just after it leaves the port, where the curve is still straight, on
        # the side away from the lanes that long wires take (right in TB, below in LR).
        if self.flow == "LR":
            return QRectF(start.x() + 8, start.y() - 16, width, 13)
        return QRectF(start.x() - 7 - width, start.y() + 5, width, 13)

    def boundingRect(self) -> QRectF:
        return self._bounds

    def shape(self) -> QPainterPath:
        return self._shape

    def colour(self, selected: bool) -> QColor:
        """The wire's colour: red for a problem, blue when selected, grey otherwise."""
        if self.is_error:
            return style.ERROR
        return style.WIRE_SELECTED if selected else style.WIRE

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        colour = self.colour(selected)
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        pen = QPen(colour, 2.6 if selected else 1.7)
        if lod < style.LOD_TEXT:
            pen.setCosmetic(True)  # keep wires visible in a zoomed-out overview
            pen.setWidthF(1.2)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self._path)
        if lod < style.LOD_TEXT or not (self.label and self.show_label):
            return
        painter.setFont(style.font("wire"))
        painter.setPen(style.ERROR if self.is_error else style.WIRE_LABEL)
        painter.drawText(self._label_rect(), Qt.AlignmentFlag.AlignRight, self.label)


class TempWireItem(QGraphicsPathItem):
    """The dashed wire that follows the mouse while connecting; red when the drop is refused."""

    def __init__(self, flow: str = "TB") -> None:
        super().__init__()
        self.flow = flow
        self.setZValue(3)
        self.set_valid(None)

    def set_ends(self, start: QPointF, end: QPointF, from_output: bool) -> None:
        """Draw from the port being dragged to ``end`` (the mouse or the snapped target port)."""
        a, b = (start, end) if from_output else (end, start)
        self.setPath(wire_path(a, b, self.flow))

    def set_valid(self, valid: bool | None) -> None:
        """None: no target yet (blue); True: can connect (green); False: refused (red)."""
        colour = style.WIRE_SELECTED if valid is None else (style.OK if valid else style.ERROR)
        pen = QPen(colour, 2.0, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        self.setPen(pen)

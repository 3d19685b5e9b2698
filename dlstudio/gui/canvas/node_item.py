"""``NodeItem``: one layer drawn as a rounded box, and its ``PortItem`` connection points."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyle, QStyleOptionGraphicsItem, QWidget

from dlstudio.analysis import AnalysisResult
from dlstudio.analysis.diagnostics import ERROR, WARNING
from dlstudio.core import LayerNode
from dlstudio.gui.canvas import style
from dlstudio.gui.canvas.labels import count_text, key_params_text
from dlstudio.gui.canvas.node_paint import (
    NAME_OVERFLOW,
    paint_large_name,
    paint_lock,
    paint_optional_outline,
    paint_simplified_box,
)
from dlstudio.layers import LayerType, UnknownLayerError, get_layer_type

_R = style.PORT_RADIUS + 4  # generous hit area: ports are small targets
_PORT_BOUNDS = QRectF(-_R, -_R, 2 * _R, 2 * _R)
_M = style.PORT_RADIUS + 3  # the ports stick out of the box
_O = max(_M, NAME_OVERFLOW)
_NODE_BOUNDS = QRectF(-_O, -_M, style.NODE_WIDTH + 2 * _O, style.NODE_HEIGHT + 2 * _M)
_NODE_SHAPE = QPainterPath()
_NODE_SHAPE.addRect(QRectF(-_M, -_M, style.NODE_WIDTH + 2 * _M, style.NODE_HEIGHT + 2 * _M))

# UserType is missing from PySide6's type stubs.
NODE_TYPE = QGraphicsItem.UserType + 1  # type: ignore[attr-defined]
PORT_TYPE = QGraphicsItem.UserType + 2  # type: ignore[attr-defined]


class PortItem(QGraphicsItem):
    """A connection point on a node: drag from it to draw a wire."""

    def __init__(self, parent: NodeItem, name: str, is_output: bool, show_name: bool) -> None:
        super().__init__(parent)
        self.node_item = parent
        self.name = name
        self.is_output = is_output
        self.show_name = show_name
        self.hovered = False
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setZValue(2)
        # The node draws its ports into its cached body; this item only paints while hovered,
        # so a thousand ports cost no paint calls per frame.
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents)

    @property
    def node_id(self) -> str:
        """Id of the node this port belongs to."""
        return self.node_item.node.id

    def type(self) -> int:
        return PORT_TYPE

    def boundingRect(self) -> QRectF:
        return _PORT_BOUNDS

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        r = style.PORT_RADIUS + (1.5 if self.hovered else 0.0)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        ring = style.PORT_HOVER if self.hovered else style.PORT_RING
        painter.setPen(QPen(ring, 1.6 if lod >= style.LOD_TEXT else 0))
        painter.setBrush(style.PORT_HOVER if self.hovered else style.PORT_FILL)
        painter.drawEllipse(QPointF(0, 0), r, r)

    def hoverEnterEvent(self, event) -> None:
        self.hovered = True
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents, False)
        self.update()
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event) -> None:
        self.hovered = False
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents)
        self.update()
        super().hoverLeaveEvent(event)


class NodeItem(QGraphicsItem):
    """A layer node. Mirrors its :class:`LayerNode` (kept by reference, never copied) and the
    latest analysis; the scene forwards the node's graph events to :meth:`on_node_changed`."""

    def __init__(self, node: LayerNode, flow: str = "TB") -> None:
        super().__init__()
        self.node = node
        self.flow = flow
        self.layer: LayerType | None = None
        self.ports: dict[tuple[str, bool], PortItem] = {}
        self._label = ""
        self._key = ""
        self._count = ""
        self._severity: str | None = None
        self._summary = ""
        self._messages: list[str] = []
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setAcceptHoverEvents(True)
        # Bodies only change on edits; the cache makes panning and dragging 500 nodes cheap.
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.setZValue(1)
        self.setCursor(Qt.CursorShape.OpenHandCursor)
        self._resolve_layer()
        self.sync_ports()
        self.sync_position()
        self.refresh_texts(None)

    def type(self) -> int:
        return NODE_TYPE

    # ----------------------------------------------------------- model mirror
    def _resolve_layer(self) -> None:
        try:
            self.layer = get_layer_type(self.node.type_id)
            self._label = self.layer.label
            self._summary = self.layer.summary
        except UnknownLayerError as exc:
            self.layer = None
            self._label = self.node.type_id
            self._summary = str(exc)

    def _params(self, result: AnalysisResult | None) -> dict:
        info = result.nodes.get(self.node.id) if result else None
        if info is not None and info.params:
            return info.params
        return {**(self.layer.defaults() if self.layer else {}), **self.node.params}

    def on_node_changed(self, detail: str | None, result: AnalysisResult | None) -> None:
        """The node changed (``name``, ``params``, ``position``, ``trainable``, ``when``):
        redraw."""
        if detail == "position":
            self.sync_position()
            return
        if detail == "params":
            self.sync_ports()
        self.refresh_texts(result)
        # Name and frozen state are drawn too, though the analysis state may be unchanged.
        self._update_tooltip()
        self.update()

    def sync_position(self) -> None:
        """Move to the node's position (the model's top-left corner)."""
        x, y = self.node.position
        self.setPos(x, y)

    def sync_ports(self) -> None:
        """Create, keep or drop port items to match the layer's ports (variadic Add grows)."""
        if self.layer is None:
            inputs: list[str] = []
            outputs: list[str] = []
        else:
            params = {**self.layer.defaults(), **self.node.params}
            inputs = [p.name for p in self.layer.input_ports(params)]
            outputs = [p.name for p in self.layer.output_ports(params)]
        wanted = {(n, False) for n in inputs} | {(n, True) for n in outputs}
        for key in list(self.ports):
            if key not in wanted:
                port = self.ports.pop(key)
                port.setParentItem(None)  # type: ignore[arg-type]  # Qt takes None: no parent
                scene = port.scene()
                if scene is not None:
                    scene.removeItem(port)
        for names, is_output in ((inputs, False), (outputs, True)):
            for i, name in enumerate(names):
                existing = self.ports.get((name, is_output))
                if existing is None:
                    existing = PortItem(self, name, is_output, len(names) > 1)
                    self.ports[(name, is_output)] = existing
                port = existing
                port.show_name = len(names) > 1
                port.setPos(self._port_offset(i, len(names), is_output))
        self.update()

    def _port_offset(self, index: int, count: int, is_output: bool) -> QPointF:
        if self.flow == "LR":
            y = style.NODE_HEIGHT * (index + 1) / (count + 1)
            return QPointF(style.NODE_WIDTH if is_output else 0.0, y)
        x = style.NODE_WIDTH * (index + 1) / (count + 1)
        return QPointF(x, style.NODE_HEIGHT if is_output else 0.0)

    def port_scene_pos(self, name: str, is_output: bool) -> QPointF:
        """Where a wire attaches to this port (the box's edge centre if the port is gone)."""
        port = self.ports.get((name, is_output))
        if port is not None:
            return self.mapToScene(port.pos())
        return self.mapToScene(self._port_offset(0, 1, is_output))

    def refresh_texts(self, result: AnalysisResult | None, diags: list | None = None) -> None:
        """Recompute the drawn texts and problem state from the node and the analysis
        (``diags``: this node's diagnostics, when the caller has them grouped already)."""
        key = key_params_text(self.layer, self._params(result)) if self.layer else ""
        info = result.nodes.get(self.node.id) if result else None
        count = count_text(info.param_count if info else None)
        if diags is None:
            diags = result.diagnostics_for(self.node.id) if result else []
        severity = None
        if any(d.severity == ERROR for d in diags):
            severity = ERROR
        elif any(d.severity == WARNING for d in diags):
            severity = WARNING
        messages = [d.message for d in diags if d.severity in (ERROR, WARNING)]
        state = (key, count, severity, messages)
        if state == (self._key, self._count, self._severity, self._messages):
            return  # nothing visible changed: keep the cached pixmap
        self._key, self._count, self._severity, self._messages = state
        self._update_tooltip()
        self.update()

    def _update_tooltip(self) -> None:
        lines = [f"<b>{self.node.name}</b> — {self._label}"]
        if self._messages:
            colour = style.ERROR if self._severity == ERROR else style.WARNING
            lines += [f"<span style='color:{colour.name()}'>{m}</span>" for m in self._messages]
        else:
            lines.append(self._summary)
        if not self.node.trainable:
            lines.append("<i>Frozen: training leaves its weights unchanged.</i>")
        if self.node.when:
            lines.append(
                f"<i>Only when {self.node.when}: elsewhere its input passes straight through.</i>"
            )
        self.setToolTip("<br>".join(lines))

    @property
    def caption_text(self) -> str:
        """What a zoomed-out node shows under its name (a block: its definition, ×N)."""
        return ""

    @property
    def label_text(self) -> str:
        """The second line: the layer's label, and its condition when it is optional."""
        return f"{self._label} · if {self.node.when}" if self.node.when else self._label

    @property
    def severity(self) -> str | None:
        """``"error"``, ``"warning"`` or None: what the border shows."""
        return self._severity

    @property
    def key_text(self) -> str:
        """The compact key-parameter text drawn on the node."""
        return self._key

    @property
    def count_text(self) -> str:
        """The parameter-count text drawn on the node."""
        return self._count

    # ----------------------------------------------------------------- drawing
    def boundingRect(self) -> QRectF:
        return _NODE_BOUNDS

    def shape(self) -> QPainterPath:
        return _NODE_SHAPE  # clicks and rubber bands see the box, not the name's overflow

    def title_rect(self) -> QRectF:
        """The area of the name text (double-click there to rename)."""
        return QRectF(style.STRIPE_WIDTH + 8, 6 + self._text_top(), style.NODE_WIDTH - 40, 18)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        rect = QRectF(0, 0, style.NODE_WIDTH, style.NODE_HEIGHT)
        body = QPainterPath()
        body.addRoundedRect(rect, style.NODE_RADIUS, style.NODE_RADIUS)
        frozen = not self.node.trainable
        category = self.layer.category if self.layer else ""
        painter.setPen(Qt.PenStyle.NoPen)
        if lod < style.LOD_TEXT:
            self._paint_simplified(painter, body, lod, selected)
            return
        painter.setBrush(style.NODE_FILL_FROZEN if frozen else style.NODE_FILL)
        painter.drawPath(body)
        painter.save()
        painter.setClipPath(body)
        painter.fillRect(QRectF(0, 0, style.STRIPE_WIDTH, style.NODE_HEIGHT), _cat(category))
        if frozen:
            painter.fillRect(rect, QBrush(style.HATCH, Qt.BrushStyle.BDiagPattern))
        painter.restore()
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(self._border_pen(selected))
        painter.drawPath(body)
        self._paint_ports(painter)
        self._paint_texts(painter, lod)
        if frozen:
            paint_lock(painter, QPointF(style.NODE_WIDTH - 18, 7 + self._text_top()))

    def _paint_simplified(
        self, painter: QPainter, body: QPainterPath, lod: float, selected: bool
    ) -> None:
        """Zoomed out: the box in its category's colour and the name, as large as fits (at
        least :data:`style.NAME_MIN_PX` on screen), so a big graph still reads at a glance."""
        category = self.layer.category if self.layer else ""
        paint_simplified_box(painter, body, _cat(category), not self.node.trainable)
        if self.node.when:
            paint_optional_outline(painter, body, lod)
        for port in self.ports.values():
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(style.PORT_RING)
            painter.drawEllipse(port.pos(), 2.5 / lod, 2.5 / lod)
        if lod >= style.LOD_NAMES:
            paint_large_name(painter, self.node.name, lod, self.caption_text)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        pen = self._border_pen(selected)
        pen.setWidthF(pen.widthF() * min(2.5, 1.0 / lod))
        painter.setPen(pen)
        painter.drawPath(body)

    def _paint_ports(self, painter: QPainter) -> None:
        painter.setPen(QPen(style.PORT_RING, 1.6))
        painter.setBrush(style.PORT_FILL)
        for port in self.ports.values():
            painter.drawEllipse(port.pos(), style.PORT_RADIUS, style.PORT_RADIUS)

    def _border_pen(self, selected: bool) -> QPen:
        if self._severity == ERROR:
            return QPen(style.ERROR, 2.4 if selected else 2.0)
        if self._severity == WARNING:
            return QPen(style.WARNING, 2.4 if selected else 2.0)
        if selected:
            return QPen(style.NODE_BORDER_SELECTED, 2.0)
        if self.node.when:  # optional: a dashed border
            return QPen(style.TEXT_MUTED, 1.3, Qt.PenStyle.DashLine)
        return QPen(style.NODE_BORDER, 1.0)

    def _text_top(self) -> float:
        """Named input ports on the top edge push the texts down a little to make room."""
        named = any(p.show_name and not p.is_output for p in self.ports.values())
        return 5.0 if named and self.flow != "LR" else 0.0

    def _title_reserve(self) -> float:
        """Room kept free at the right of the name's row (a block's ``×N`` badge)."""
        return 0.0

    def _paint_texts(self, painter: QPainter, lod: float) -> None:
        top = self._text_top()
        left = style.STRIPE_WIDTH + 9
        width = style.NODE_WIDTH - left - 8
        lock = (16 if not self.node.trainable else 0) + self._title_reserve()
        painter.setFont(style.font("title"))
        painter.setPen(style.TEXT)
        metrics = QFontMetricsF(style.font("title"))
        name = metrics.elidedText(self.node.name, Qt.TextElideMode.ElideRight, width - lock - 4)
        painter.drawText(QRectF(left, top + 7, width - lock, 18), _LEFT, name)
        painter.setFont(style.font("label"))
        painter.setPen(style.TEXT_MUTED)
        label = QFontMetricsF(style.font("label")).elidedText(
            self.label_text, Qt.TextElideMode.ElideRight, width
        )
        painter.drawText(QRectF(left, top + 25, width, 16), _LEFT, label)
        count_w = 0.0
        if self._count:
            painter.setFont(style.font("count"))
            painter.setPen(style.TEXT_MUTED)
            painter.drawText(QRectF(left, top + 44, width, 16), _LEFT, self._count)
            count_w = QFontMetricsF(style.font("count")).horizontalAdvance(self._count) + 10
        if self._key:
            painter.setFont(style.font("params"))
            painter.setPen(style.TEXT_PARAMS)
            label_w = QFontMetricsF(style.font("label")).horizontalAdvance(label) + 8
            fm = QFontMetricsF(style.font("params"))
            key_w = fm.horizontalAdvance(self._key)
            if key_w <= width - label_w or width - label_w >= width - count_w:
                row, room = QRectF(left + label_w, top + 25, width - label_w, 16), width - label_w
            else:  # a long type name (PositionalEncoding): the key goes to the row below
                row, room = QRectF(left + count_w, top + 44, width - count_w, 16), width - count_w
            key = fm.elidedText(self._key, Qt.TextElideMode.ElideRight, room)
            painter.drawText(row, _RIGHT, key)
        if style.readable("port", lod):  # port names are small: only once they are readable
            self._paint_port_names(painter)

    def _paint_port_names(self, painter: QPainter) -> None:
        painter.setFont(style.font("port"))
        painter.setPen(style.TEXT_MUTED)
        for (name, is_output), port in self.ports.items():
            if not port.show_name:
                continue
            p = port.pos()
            if self.flow == "LR":
                rect = QRectF(p.x() - 46 if is_output else p.x() + 8, p.y() - 7, 38, 14)
                align = _RIGHT if is_output else _LEFT
            else:
                rect = QRectF(p.x() - 20, p.y() - 15 if is_output else p.y() + 4, 40, 10)
                align = Qt.AlignmentFlag.AlignCenter
            painter.drawText(rect, align, name)


_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


def _cat(category: str) -> QColor:
    return style.category_color(category)

"""``BlockNodeItem``: a block instance drawn as one node: its name, its definition's name, its
ports, key parameters, parameter count, and a ``×N`` badge (and stacked copies) when it repeats."""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QStyleOptionGraphicsItem, QWidget

from dlstudio.analysis import AnalysisResult
from dlstudio.analysis.blocks import block_layer_type
from dlstudio.core import LayerNode
from dlstudio.core.blocks import BlockDefinition
from dlstudio.gui.canvas import style
from dlstudio.gui.canvas.node_item import _NODE_BOUNDS, NodeItem

STACK_OFFSET = 5.0
"""How far each drawn copy behind a repeating instance is shifted."""
_BOUNDS = _NODE_BOUNDS.adjusted(0, 0, 2 * STACK_OFFSET, 2 * STACK_OFFSET)


class BlockNodeItem(NodeItem):
    """A block instance. ``blocks`` is the project's definitions (read, never stored)."""

    def __init__(
        self, node: LayerNode, blocks: Mapping[str, BlockDefinition], flow: str = "TB"
    ) -> None:
        self._blocks = blocks
        super().__init__(node, flow)

    @property
    def repeat(self) -> int:
        """How many copies the instance chains (1 when the value is not a valid count)."""
        value = self.node.params.get("repeat", 1)
        return value if type(value) is int and value >= 1 else 1

    @property
    def definition_name(self) -> str:
        """The name of the definition the instance names."""
        return str(self.node.params.get("block", ""))

    @property
    def badge_text(self) -> str:
        """``×N`` when the instance repeats, else empty."""
        return f"×{self.repeat}" if self.repeat > 1 else ""

    def _resolve_layer(self) -> None:
        definition = self._blocks.get(self.definition_name)
        if definition is None:
            self.layer = None
            self._label = f"{self.definition_name or 'block'} (missing)"
            self._summary = f"There is no block definition {self.definition_name!r}."
            return
        self.layer = block_layer_type(definition)
        self._label = definition.name
        self._summary = (definition.description or f"An instance of block {definition.name}.") + (
            " Double-click to open it."
        )

    def sync_block(self, result: AnalysisResult | None) -> None:
        """The definition changed (renamed, ports or parameters edited): redraw."""
        self._resolve_layer()
        self.sync_ports()
        self._messages = ["(definition changed)"]  # no real state: the texts are recomputed
        self.refresh_texts(result)
        self._update_tooltip()
        self.update()

    def on_node_changed(self, detail: str | None, result: AnalysisResult | None) -> None:
        if detail == "params":
            self.prepareGeometryChange()
            self._resolve_layer()
        super().on_node_changed(detail, result)

    @property
    def caption_text(self) -> str:
        """The definition's name and the ``×N`` badge: a zoomed-out block still says what it
        is."""
        return f"{self._label} {self.badge_text}".strip()

    def boundingRect(self) -> QRectF:
        return _BOUNDS

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        copies = min(self.repeat, 3) - 1
        if copies:
            painter.save()
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(QPen(style.NODE_BORDER, 1.0))
            painter.setBrush(style.NODE_FILL.darker(115))
            for k in range(copies, 0, -1):
                shifted = QRectF(
                    k * STACK_OFFSET, k * STACK_OFFSET, style.NODE_WIDTH, style.NODE_HEIGHT
                )
                painter.drawRoundedRect(shifted, style.NODE_RADIUS, style.NODE_RADIUS)
            painter.restore()
        super().paint(painter, option, widget)
        if lod < style.LOD_TEXT:
            return
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(style.category_color("Blocks"), 1.0, Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        inner = QPainterPath()
        inner.addRoundedRect(
            QRectF(3, 3, style.NODE_WIDTH - 6, style.NODE_HEIGHT - 6),
            style.NODE_RADIUS - 2,
            style.NODE_RADIUS - 2,
        )
        painter.drawPath(inner)
        if self.badge_text:
            self._paint_badge(painter)
        painter.restore()

    def _badge_width(self) -> float:
        if not self.badge_text:
            return 0.0
        return QFontMetricsF(style.font("title")).horizontalAdvance(self.badge_text) + 12

    def _title_reserve(self) -> float:
        # The badge sits at the right of the name's row, where nothing else is drawn (on the
        # parameter rows it covered the key parameters).
        width = self._badge_width()
        return width + 4 if width else 0.0

    def _paint_badge(self, painter: QPainter) -> None:
        painter.setFont(style.font("title"))
        width = self._badge_width()
        top = 6 + self._text_top()
        lock = 16 if not self.node.trainable else 0
        rect = QRectF(style.NODE_WIDTH - width - 8 - lock, top, width, 17)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(style.category_color("Blocks"))
        painter.drawRoundedRect(rect, 8, 8)
        painter.setPen(style.BACKGROUND)
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, self.badge_text)

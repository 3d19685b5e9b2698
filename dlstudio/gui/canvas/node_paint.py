"""Drawing a node when zoomed out: a plain box with a large name that stays readable."""

from __future__ import annotations

import math
from functools import lru_cache

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen

from dlstudio.gui.canvas import style
from dlstudio.gui.canvas.labels import name_lines

NAME_OVERFLOW = 26.0
"""How far a zoomed-out node's name may run past each side of its box (the layout keeps 60
between neighbours)."""
_NAME_REF_PX = 100
"""Pixel size at which names are measured; widths scale linearly with the size."""


@lru_cache(maxsize=4096)
def _name_fits(name: str) -> tuple[tuple[tuple[str, ...], float, float], ...]:
    """Each line split of ``name`` (one line first) with the largest font pixel sizes, in
    scene units, at which it fits the simplified box: (lines, fitting both ways, by width)."""
    font = QFont(style.font("name"))
    font.setPixelSize(_NAME_REF_PX)
    metrics = QFontMetricsF(font)
    width = style.NODE_WIDTH - style.STRIPE_WIDTH * 2 - 12
    height = style.NODE_HEIGHT - 4
    fits = []
    for lines in name_lines(name):
        widest = max(metrics.horizontalAdvance(line) for line in lines) or 1.0
        by_width = width * _NAME_REF_PX / widest
        fits.append((tuple(lines), min(by_width, height / (len(lines) * 1.1)), by_width))
    return tuple(fits)


def _name_layout(name: str, lod: float) -> tuple[tuple[str, ...], float, bool]:
    """Lines, scene pixel size and whether to elide: one line while it reads comfortably,
    else the split that gives the largest text, never below the readable minimum (a little
    taller than the box rather than smaller; elided only when too wide even then)."""
    cap = style.NAME_MAX_PX / lod
    fits = [(lines, min(size, cap), wide) for lines, size, wide in _name_fits(name)]
    lines, size, wide = fits[0]
    if size * lod < _COMFORT_PX:
        lines, size, wide = max(fits, key=lambda fit: (fit[1], fit[2]))
    minimum = style.NAME_MIN_PX / lod
    if size < minimum:
        lines, size, wide = max(fits, key=lambda fit: fit[2])
    room = (style.NODE_WIDTH + 2 * NAME_OVERFLOW - 6) / (
        style.NODE_WIDTH - style.STRIPE_WIDTH * 2 - 12
    )
    return lines, max(size, minimum), wide * room < minimum * 0.97


_COMFORT_PX = 10.0
"""A one-line name at least this tall on screen is kept on one line."""


def paint_simplified_box(painter: QPainter, body: QPainterPath, colour: QColor, frozen: bool):
    """The simplified node's body: dark fill, a wide stripe in ``colour`` (the category)."""
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(style.NODE_FILL_FROZEN if frozen else style.NODE_FILL)
    painter.drawPath(body)
    painter.save()
    painter.setClipPath(body)
    painter.fillRect(QRectF(0, 0, style.STRIPE_WIDTH * 2, style.NODE_HEIGHT), colour)
    if frozen:
        painter.fillRect(body.boundingRect(), QBrush(style.HATCH, Qt.BrushStyle.BDiagPattern))
    painter.restore()


def paint_optional_outline(painter: QPainter, body: QPainterPath, lod: float) -> None:
    """A dashed outline: the layer exists only when its block's condition holds."""
    pen = QPen(style.TEXT_MUTED, 1.5 / max(lod, 0.05), Qt.PenStyle.DashLine)
    painter.setPen(pen)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawPath(body)


CAPTION_PX = 9.0
"""Screen size of a zoomed-out block's caption (its definition and repeat count)."""
_CAPTION_MIN_BOX_PX = 28.0
"""A box at least this tall on screen has room for the caption under the name."""


def paint_large_name(painter: QPainter, name: str, lod: float, caption: str = "") -> None:
    """``name`` centred in the node box at the largest size that fits, between
    :data:`style.NAME_MIN_PX` and :data:`style.NAME_MAX_PX` on screen. At the smallest size a
    name may run :data:`NAME_OVERFLOW` past the box's sides on a plate of the node's colour
    (the layout leaves that much between neighbours); only beyond that is it elided.
    ``caption`` (a block's ``BasicBlock ×2``) goes under the name where the box has room."""
    height = style.NODE_HEIGHT - 4
    if caption and style.NODE_HEIGHT * lod >= _CAPTION_MIN_BOX_PX:
        height = _paint_caption(painter, caption, lod)
    lines, size, _elide = _name_layout(name, lod)
    minimum = style.NAME_MIN_PX / lod
    if len(lines) > 1 and minimum * 1.25 * len(lines) > height:
        lines = (name,)  # two readable lines do not fit: one, past the box or shortened
    size = max(minimum, min(size, height / (1.25 * len(lines))))
    font = QFont(style.font("name"))
    font.setPixelSize(max(1, math.ceil(size)))  # rounded up: never under the minimum
    painter.setFont(font)
    left = style.STRIPE_WIDTH * 2 + 4
    box = QRectF(left, 2, style.NODE_WIDTH - left - 4, height)
    metrics = QFontMetricsF(font)
    widest = max(metrics.horizontalAdvance(line) for line in lines)
    if widest > box.width():
        room = style.NODE_WIDTH + 2 * NAME_OVERFLOW
        width = min(widest + 6, room)
        box = QRectF((style.NODE_WIDTH - width) / 2, 2, width, height)
        if widest > room - 6:
            lines = tuple(
                metrics.elidedText(line, Qt.TextElideMode.ElideMiddle, room - 6) for line in lines
            )
        plate = QRectF(box.left(), box.center().y() - len(lines) * size * 0.6, box.width(), 0)
        plate.setHeight(len(lines) * size * 1.2)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(style.NODE_FILL)
        painter.drawRoundedRect(plate, 3 / lod, 3 / lod)
    painter.setPen(style.TEXT)
    painter.drawText(box, Qt.AlignmentFlag.AlignCenter, "\n".join(lines))


def _paint_caption(painter: QPainter, caption: str, lod: float) -> float:
    """Draw ``caption`` along the bottom of the box at :data:`CAPTION_PX` on screen (a long
    definition name is elided, the ``×N`` kept); returns the height left above it for the
    name."""
    font = QFont(style.font("label"))
    size = min(CAPTION_PX / lod, style.NODE_HEIGHT * 0.36)
    font.setPixelSize(max(1, math.ceil(size)))  # rounded up: never under CAPTION_PX
    left = style.STRIPE_WIDTH * 2 + 4
    width = style.NODE_WIDTH - left - 4
    metrics = QFontMetricsF(font)
    head, _, badge = caption.rpartition(" ×")
    if not head:  # no repeat badge
        head, badge = caption, ""
    tail = f" ×{badge}" if badge else ""
    room = width - metrics.horizontalAdvance(tail)
    text = metrics.elidedText(head, Qt.TextElideMode.ElideRight, room) + tail
    top = style.NODE_HEIGHT - 3 - size * 1.25
    painter.setFont(font)
    painter.setPen(style.TEXT_MUTED)
    painter.drawText(QRectF(left, top, width, size * 1.25), Qt.AlignmentFlag.AlignCenter, text)
    return top - 2


def paint_lock(painter: QPainter, at: QPointF) -> None:
    """A small padlock: frozen layers keep their weights during training."""
    painter.save()
    painter.translate(at)
    painter.setPen(QPen(style.TEXT_MUTED, 1.4))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawArc(QRectF(2.5, 0, 7, 9), 0, 180 * 16)
    painter.drawLine(QPointF(2.5, 4.5), QPointF(2.5, 6))
    painter.drawLine(QPointF(9.5, 4.5), QPointF(9.5, 6))
    painter.setBrush(style.TEXT_MUTED)
    painter.drawRoundedRect(QRectF(1, 6, 10, 7.5), 1.5, 1.5)
    painter.restore()

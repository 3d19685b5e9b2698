"""Training health on the canvas: a badge on each node and a warning halo, plus a table view.

Badges are child items of the scene's :class:`~dlstudio.gui.canvas.NodeItem` s, so they move
with their node and vanish with it; the overlay re-attaches them after the scene rebuilds.
"""

from __future__ import annotations

import math

import shiboken6
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGraphicsItem,
    QHeaderView,
    QStyleOptionGraphicsItem,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from dlstudio.gui.canvas import GraphScene
from dlstudio.gui.canvas import style as canvas_style
from dlstudio.train.health import HealthEvent, NodeHealth

_COLORS = {"ok": QColor("#63d297"), "warning": QColor("#ffa94d"), "none": QColor("#6b7078")}
BADGE_WIDTH = 92.0
BADGE_HEIGHT = 20.0


def _number(value: float | None) -> str:
    if value is None:
        return "–"
    if value == 0:
        return "0"
    if not math.isfinite(value):
        return str(value)
    return f"{value:.2g}" if 1e-2 <= abs(value) < 1e3 else f"{value:.1e}"


def badge_text(health: NodeHealth) -> str:
    """The few characters a badge shows: dead share for ReLUs, else the gradient norm."""
    if health.type_id in ("relu", "relu6") and health.zero_fraction is not None:
        return f"zero {health.zero_fraction:.0%}"
    if health.grad_norm is not None:
        return f"∇ {_number(health.grad_norm)}"
    if health.std is not None:
        return f"σ {_number(health.std)}"
    return "–"


def tooltip(health: NodeHealth, step: int) -> str:
    """Every statistic of a node, and its warnings, as rich text."""
    rows = [
        ("mean", _number(health.mean)),
        ("std", _number(health.std)),
        ("zeros", "–" if health.zero_fraction is None else f"{health.zero_fraction:.1%}"),
        ("‖∇ params‖", _number(health.grad_norm)),
        ("‖∇ output‖", _number(health.out_grad_norm)),
    ]
    table = "".join(f"<tr><td>{k}</td><td align='right'>{v}</td></tr>" for k, v in rows)
    warnings = "".join(f"<p style='color:#ffa94d'>⚠ {w}</p>" for w in health.warnings)
    return f"<b>{health.name}</b> at step {step}<table>{table}</table>{warnings}"


class HealthBadgeItem(QGraphicsItem):
    """A small pill on a node's top-right corner: status colour and one number."""

    def __init__(self, parent: QGraphicsItem) -> None:
        super().__init__(parent)
        self.health: NodeHealth | None = None
        self.setZValue(5)
        self.setAcceptHoverEvents(True)
        self.setPos(canvas_style.NODE_WIDTH - BADGE_WIDTH + 10, -BADGE_HEIGHT / 2 - 2)
        self.halo = _HaloItem(parent)

    def set_health(self, health: NodeHealth, step: int) -> None:
        """Show ``health`` (measured at ``step``)."""
        shown = self.health is not None and (
            self.health.level,
            bool(self.health.warnings),
            badge_text(self.health),
        ) == (health.level, bool(health.warnings), badge_text(health))
        self.health = health
        self.setToolTip(tooltip(health, step))
        self.halo.setVisible(bool(health.warnings))
        if not shown:  # repaint only when the pill looks different (the canvas repaints too)
            self.update()

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, BADGE_WIDTH, BADGE_HEIGHT)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        if self.health is None:
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        colour = _COLORS[self.health.level]
        rect = self.boundingRect().adjusted(0.5, 0.5, -0.5, -0.5)
        painter.setPen(QPen(colour, 1.2))
        painter.setBrush(QColor("#1b1d21"))
        painter.drawRoundedRect(rect, BADGE_HEIGHT / 2, BADGE_HEIGHT / 2)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        painter.drawEllipse(QRectF(7, BADGE_HEIGHT / 2 - 4, 8, 8))
        font = QFont(painter.font())
        font.setPointSizeF(7.5)
        painter.setFont(font)
        painter.setPen(QColor("#e8eaed"))
        text = ("⚠ " if self.health.warnings else "") + badge_text(self.health)
        painter.drawText(
            QRectF(19, 0, BADGE_WIDTH - 24, BADGE_HEIGHT),
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
            text,
        )


class _HaloItem(QGraphicsItem):
    """An amber glow behind a node with a health warning."""

    def __init__(self, parent: QGraphicsItem) -> None:
        super().__init__(parent)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemStacksBehindParent)
        self.setVisible(False)

    def boundingRect(self) -> QRectF:
        return QRectF(-7, -7, canvas_style.NODE_WIDTH + 14, canvas_style.NODE_HEIGHT + 14)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor(255, 169, 77, 200), 2))
        painter.setBrush(QBrush(QColor(255, 169, 77, 40)))
        painter.drawRoundedRect(self.boundingRect().adjusted(1, 1, -1, -1), 11, 11)


class HealthOverlay:
    """Puts a :class:`HealthBadgeItem` on every measured node of ``scene``."""

    def __init__(self, scene: GraphScene) -> None:
        self.scene = scene
        self.badges: dict[str, HealthBadgeItem] = {}
        self.last: HealthEvent | None = None
        self.visible = True

    def show_event(self, event: HealthEvent) -> None:
        """Update the badges from a health report."""
        self.last = event
        for health in event.nodes:
            if health.level == "none":
                continue
            badge = self._badge(health.node_id)
            if badge is not None:
                badge.set_health(health, event.step)
                badge.setVisible(self.visible)
                badge.halo.setVisible(self.visible and bool(health.warnings))

    def _badge(self, node_id: str) -> HealthBadgeItem | None:
        item = self.scene.node_item(node_id)
        if item is None:
            return None
        badge = self.badges.get(node_id)
        if badge is None or not shiboken6.isValid(badge) or badge.parentItem() is not item:
            badge = HealthBadgeItem(item)
            self.badges[node_id] = badge
        return badge

    def set_visible(self, visible: bool) -> None:
        """Show or hide every badge (the Run menu's toggle)."""
        self.visible = visible
        for badge in self._live_badges():
            badge.setVisible(visible)
            badge.halo.setVisible(visible and bool(badge.health and badge.health.warnings))

    def clear(self) -> None:
        """Remove every badge (a new run starts, or the document changed)."""
        for badge in self._live_badges():
            scene = badge.scene()
            for item in (badge.halo, badge):
                if scene is not None:
                    scene.removeItem(item)
        self.badges.clear()
        self.last = None

    def _live_badges(self) -> list[HealthBadgeItem]:
        return [
            b for b in self.badges.values() if shiboken6.isValid(b) and shiboken6.isValid(b.halo)
        ]


class HealthTable(QTableWidget):
    """Every node's statistics at the latest sample, warnings first."""

    COLUMNS = ("Node", "Type", "Mean", "Std", "Zeros", "‖∇ params‖", "‖∇ output‖", "Warning")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(self.COLUMNS), parent)
        self._pending: HealthEvent | None = None
        self.setHorizontalHeaderLabels(self.COLUMNS)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.verticalHeader().hide()
        self.setAlternatingRowColors(True)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)

    def show_event(self, event: HealthEvent) -> None:
        """Fill the table from a health report; while the table is hidden (another tab is in
        front) only the latest report is kept, and shown when the table is: filling it costs
        the GUI thread time the training thread would otherwise have."""
        self._pending = event
        if self.isVisible():
            self._fill()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._fill()

    def _fill(self) -> None:
        event, self._pending = self._pending, None
        if event is None:
            return
        self.setUpdatesEnabled(False)
        try:
            self._fill_rows(event)
        finally:
            self.setUpdatesEnabled(True)

    def _fill_rows(self, event: HealthEvent) -> None:
        nodes = sorted(event.nodes, key=lambda n: not n.warnings)
        self.setRowCount(len(nodes))
        for row, health in enumerate(nodes):
            zeros = "–" if health.zero_fraction is None else f"{health.zero_fraction:.0%}"
            values = (
                health.name,
                health.type_id,
                _number(health.mean),
                _number(health.std),
                zeros,
                _number(health.grad_norm),
                _number(health.out_grad_norm),
                "; ".join(w.split(": ", 1)[-1] for w in health.warnings),
            )
            for col, text in enumerate(values):
                item = QTableWidgetItem(text)
                if col in (2, 3, 4, 5, 6):
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                if health.warnings:
                    item.setForeground(QColor("#ffa94d"))
                    item.setToolTip("\n".join(health.warnings))
                self.setItem(row, col, item)

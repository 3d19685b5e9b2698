"""The minimap: the whole graph small, in the canvas's bottom-right corner, with the part the
canvas shows outlined. Click or drag in it to move there. It appears only while the graph does
not fit the canvas (a large graph, or zoomed in), and View > Minimap turns it off."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QPoint, QRect, QRectF, Qt
from PySide6.QtGui import QAction, QColor, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import QFrame, QGraphicsView

from dlstudio.gui.canvas import style
from dlstudio.gui.canvas.view import GraphView

if TYPE_CHECKING:
    from dlstudio.gui.main_window import MainWindow

WIDTH, HEIGHT = 200, 140
"""The minimap's size in pixels."""
MARGIN = 10
"""Its distance from the canvas's edges."""


class MiniMap(QGraphicsView):
    """An overview of ``view``'s scene; a child of ``view`` that keeps to its corner."""

    def __init__(self, view: GraphView) -> None:
        super().__init__(view.scene(), view)
        self.main_view = view
        self.enabled_by_user = True
        """View > Minimap: off hides it whatever the graph's size."""
        self.setObjectName("minimap")
        self.setFixedSize(WIDTH, HEIGHT)
        self.setInteractive(False)
        self.setFrameShape(QFrame.Shape.Box)
        self.setStyleSheet("QGraphicsView#minimap { border: 1px solid #454a53; }")
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setBackgroundBrush(style.BACKGROUND.darker(115))
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Overview: click or drag to move the canvas there")
        self._fitted_to = QRectF()
        view.installEventFilter(self)
        view.viewport().installEventFilter(self)
        self.hide()

    def graph_rect(self) -> QRectF:
        """The scene rectangle the minimap shows: the graph with a margin."""
        return self.main_view.graph_scene.nodes_rect().adjusted(-40, -40, 40, 40)

    def visible_rect(self) -> QRectF:
        """The part of the scene the canvas shows now."""
        main = self.main_view
        return main.mapToScene(main.viewport().rect()).boundingRect()

    def should_show(self) -> bool:
        """Shown while the user wants it and some of the graph is outside the canvas."""
        graph = self.graph_rect()
        return (
            self.enabled_by_user
            and not graph.isEmpty()
            and not self.visible_rect().contains(graph.adjusted(30, 30, -30, -30))
        )

    def set_enabled_by_user(self, enabled: bool) -> None:
        """View > Minimap."""
        self.enabled_by_user = enabled
        self.sync()

    def sync(self) -> None:
        """Show or hide, keep to the corner, refit to the graph and redraw the outline."""
        main = self.main_view
        self.move(
            main.width() - WIDTH - MARGIN,
            main.height() - HEIGHT - MARGIN,
        )
        show = self.should_show() and main.width() > 3 * WIDTH and main.height() > 2 * HEIGHT
        if show != self.isVisible():
            self.setVisible(show)
        if not show:
            return
        graph = self.graph_rect()
        if graph != self._fitted_to:
            self._fitted_to = graph
            self.fitInView(graph, Qt.AspectRatioMode.KeepAspectRatio)
        self.viewport().update()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # Any repaint or resize of the canvas (zoom, pan, an edit) may move the outline.
        if event.type() in (QEvent.Type.Paint, QEvent.Type.Resize) and not self._syncing:
            self._syncing = True
            try:
                self.sync()
            finally:
                self._syncing = False
        return False

    _syncing = False

    def drawForeground(self, painter: QPainter, rect: QRectF | QRect) -> None:
        visible = self.visible_rect()
        painter.setBrush(QColor(90, 169, 255, 40))
        pen = QPen(style.NODE_BORDER_SELECTED, 1.5)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.drawRect(visible)

    # ---------------------------------------------------------------- mouse
    def _move_to(self, pos: QPoint) -> None:
        main = self.main_view
        main.fitted = False
        main.centerOn(self.mapToScene(pos))

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._move_to(event.position().toPoint())
            event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._move_to(event.position().toPoint())
            event.accept()

    def wheelEvent(self, event) -> None:
        event.ignore()  # the minimap does not zoom; the canvas under it does not either


def install_minimap(window: MainWindow) -> MiniMap:
    """A minimap on ``window.view`` and a checkable View > Minimap action (on by default)."""
    minimap = MiniMap(window.view)
    action = QAction("&Minimap", window)
    action.setObjectName("action_minimap")
    action.setCheckable(True)
    action.setChecked(True)
    action.setToolTip("Show an overview of a graph larger than the canvas")
    action.toggled.connect(minimap.set_enabled_by_user)
    view_menu = getattr(window.action_registry, "menus", {}).get("view")
    if view_menu is not None:
        view_menu.addAction(action)
    window.action_registry.by_name["minimap"] = action
    return minimap

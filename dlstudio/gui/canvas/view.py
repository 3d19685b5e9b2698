"""``GraphView``: the widget showing a :class:`GraphScene`, with zoom, pan, shortcuts and the
inline rename editor."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, Qt
from PySide6.QtGui import (
    QAction,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPixmapCache,
    QTransform,
    QWheelEvent,
)
from PySide6.QtWidgets import QFrame, QGraphicsView, QLineEdit, QWidget

from dlstudio.gui.canvas import style
from dlstudio.gui.canvas.scene import GraphScene

MIN_ZOOM = 0.05
MAX_ZOOM = 4.0
_HALF_EXTENT = 100_000.0  # the canvas is practically endless: pan anywhere


class GraphView(QGraphicsView):
    """The canvas widget. ``edit_actions`` holds its editing actions (standard shortcuts, active
    while the canvas has focus) so the main window can list them in its Edit menu."""

    def __init__(self, scene: GraphScene, parent: QWidget | None = None) -> None:
        super().__init__(scene, parent)
        self.graph_scene = scene
        self.setRenderHints(
            QPainter.RenderHint.Antialiasing
            | QPainter.RenderHint.TextAntialiasing
            | QPainter.RenderHint.SmoothPixmapTransform
        )
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.ItemSelectionMode.IntersectsItemShape)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        # Item caches of a large graph outgrow Qt's default 10 MB pixmap cache and would thrash.
        QPixmapCache.setCacheLimit(max(QPixmapCache.cacheLimit(), 128 * 1024))
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSceneRect(QRectF(-_HALF_EXTENT, -_HALF_EXTENT, 2 * _HALF_EXTENT, 2 * _HALF_EXTENT))
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._pan_from: QPoint | None = None
        self.fitted = False
        """True after Fit to View until the user zooms or pans: resizing then re-fits."""
        self._space_down = False
        self._editor: QLineEdit | None = None
        self._editing_id: str | None = None
        self.edit_actions: dict[str, QAction] = {}
        """Editing actions by name: copy, cut, paste, duplicate, delete, select_all, rename,
        fit, auto_layout, zoom_in, zoom_out, zoom_reset, snap (checkable)."""
        self._make_actions()
        scene.rename_requested.connect(self._on_scene_rename_requested)
        self._was_empty = not len(scene.document.graph)
        scene.document.graph_event.connect(self._on_document_graph_event)
        scene.document.reset.connect(lambda: self._on_document_graph_event(None))

    # --------------------------------------------------------------- actions
    def _make_actions(self) -> None:
        s = self.graph_scene
        K = QKeySequence.StandardKey
        specs: list[tuple[str, str, QKeySequence | QKeySequence.StandardKey, Callable[[], object]]]
        specs = [
            ("copy", "&Copy", K.Copy, s.copy_selection),
            ("cut", "Cu&t", K.Cut, s.cut_selection),
            ("paste", "&Paste", K.Paste, lambda: s.paste()),
            ("duplicate", "D&uplicate", QKeySequence("Ctrl+D"), s.duplicate_selection),
            ("delete", "&Delete", K.Delete, s.delete_selection),
            ("select_all", "Select &All", K.SelectAll, s.select_all),
            ("rename", "&Rename…", QKeySequence(Qt.Key.Key_F2), self.rename_selected),
            ("fit", "&Fit to View", QKeySequence("Ctrl+0"), self.fit_all),
            ("auto_layout", "Auto &Layout", QKeySequence("Ctrl+L"), s.auto_layout),
            ("zoom_in", "Zoom &In", K.ZoomIn, lambda: self.zoom_by(1.25)),
            ("zoom_out", "Zoom &Out", K.ZoomOut, lambda: self.zoom_by(0.8)),
            ("zoom_reset", "Actual &Size", QKeySequence("Ctrl+1"), lambda: self.set_zoom(1.0)),
        ]
        for name, text, keys, slot in specs:
            action = QAction(text, self)
            action.setObjectName(name)
            if isinstance(keys, QKeySequence.StandardKey):
                action.setShortcuts(keys)
            else:
                action.setShortcuts([keys])
            if name == "delete":  # Backspace deletes too on laptops without a Delete key
                action.setShortcuts([*action.shortcuts(), QKeySequence(Qt.Key.Key_Backspace)])
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(lambda _=False, f=slot: f())
            self.addAction(action)
            self.edit_actions[name] = action
        snap = QAction("&Snap to Grid", self)
        snap.setObjectName("snap")
        snap.setCheckable(True)
        snap.setChecked(s.snap_to_grid)
        snap.toggled.connect(self._on_snap_toggled)
        self.edit_actions["snap"] = snap

    def _on_snap_toggled(self, checked: bool) -> None:
        self.graph_scene.snap_to_grid = checked

    # ------------------------------------------------------------------ zoom
    def zoom(self) -> float:
        """The current zoom (1.0 = 100 %)."""
        return self.transform().m11()

    def set_zoom(self, level: float) -> None:
        """Zoom to ``level`` around the centre of the view."""
        self.zoom_by(level / self.zoom(), anchor=None)

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        """Scale by ``factor`` (clamped to 5 %–400 %), keeping ``anchor`` (a viewport point;
        default: the centre) fixed on screen."""
        self.fitted = False
        current = self.zoom()
        factor = max(MIN_ZOOM / current, min(MAX_ZOOM / current, factor))
        if abs(factor - 1.0) < 1e-9:
            return
        centre = QPointF(self.viewport().rect().center())
        point = anchor if anchor is not None else centre
        before = self.mapToScene(point.toPoint())
        old_anchor = self.transformationAnchor()
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.scale(factor, factor)
        target = current * factor
        target = next((b for b in (MIN_ZOOM, MAX_ZOOM) if abs(target - b) < 1e-6), target)
        t = self.transform()
        if t.m11() != target and abs(t.m11() - target) < 1e-6:  # 400 %, not 399.99...
            self.setTransform(QTransform(target, t.m12(), t.m21(), target, t.dx(), t.dy()))
        after = self.mapToScene(point.toPoint())
        self.translate(after.x() - before.x(), after.y() - before.y())
        self.setTransformationAnchor(old_anchor)

    def wheelEvent(self, event: QWheelEvent) -> None:
        delta = event.angleDelta().y() or event.angleDelta().x()
        if not delta:
            event.ignore()
            return
        self.zoom_by(1.0015**delta, anchor=event.position())
        event.accept()

    def fit_all(self) -> None:
        """Show the whole graph (never magnified above 100 %)."""
        rect = self.graph_scene.nodes_rect()
        if rect.isEmpty():
            self.resetTransform()
            self.centerOn(0, 0)
            self.fitted = True
            return
        self.fitInView(rect.adjusted(-40, -40, 40, 40), Qt.AspectRatioMode.KeepAspectRatio)
        if self.zoom() > 1.0:
            self.set_zoom(1.0)
        self.centerOn(rect.center())
        self.fitted = True

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.fitted:  # fitted stays fitted as the window changes size, until a zoom or pan
            self.fit_all()

    def center_on_node(self, node_id: str) -> None:
        """Scroll so the node is in the middle of the view."""
        item = self.graph_scene.node_item(node_id)
        if item is not None:
            self.fitted = False
            self.centerOn(item)

    # ------------------------------------------------------------------- pan
    def _start_pan(self, pos: QPoint) -> None:
        self._pan_from = pos
        self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        middle = event.button() == Qt.MouseButton.MiddleButton
        if middle or (self._space_down and event.button() == Qt.MouseButton.LeftButton):
            self._start_pan(event.position().toPoint())
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            pos = event.position().toPoint()
            delta = pos - self._pan_from
            self._pan_from = pos
            self.fitted = False
            h, v = self.horizontalScrollBar(), self.verticalScrollBar()
            h.setValue(h.value() - delta.x())
            v.setValue(v.value() - delta.y())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            self._pan_from = None
            self.viewport().unsetCursor()
            if self._space_down:
                self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_down = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_down = False
            self.viewport().unsetCursor()
            event.accept()
            return
        super().keyReleaseEvent(event)

    # ---------------------------------------------------------------- rename
    def rename_selected(self) -> None:
        """Open the inline name editor on the (first) selected node."""
        ids = self.graph_scene.selected_node_ids()
        if ids:
            self.start_rename(ids[0])

    def _on_scene_rename_requested(self, node_id: str) -> None:
        self.start_rename(node_id)

    def start_rename(self, node_id: str) -> QLineEdit | None:
        """Show an editor over the node's title; Enter renames, Escape cancels."""
        item = self.graph_scene.node_item(node_id)
        if item is None:
            return None
        self.finish_rename(commit=False)
        rect = self.mapFromScene(item.mapRectToScene(item.title_rect())).boundingRect()
        editor = QLineEdit(item.node.name, self.viewport())
        editor.setObjectName("rename_editor")
        editor.setFrame(False)
        editor.setStyleSheet(
            f"QLineEdit {{ background: {style.NODE_FILL.darker(130).name()}; "
            f"color: {style.TEXT.name()}; border: 1px solid {style.NODE_BORDER_SELECTED.name()}; "
            "border-radius: 3px; padding: 0 2px; }"
        )
        editor.setGeometry(rect.adjusted(-3, -2, 3, 2).normalized())
        editor.selectAll()
        editor.returnPressed.connect(lambda: self.finish_rename(commit=True))
        editor.editingFinished.connect(lambda: self.finish_rename(commit=True))
        editor.installEventFilter(self)
        self._editor, self._editing_id = editor, node_id
        editor.show()
        editor.setFocus()
        return editor

    def finish_rename(self, commit: bool) -> None:
        """Close the inline editor, renaming the node when ``commit``."""
        editor, node_id = self._editor, self._editing_id
        if editor is None or node_id is None:
            return
        self._editor = self._editing_id = None
        text = editor.text().strip()
        editor.hide()
        editor.deleteLater()
        self.setFocus()
        if commit and text:
            self.graph_scene.rename_node(node_id, text)

    def eventFilter(self, watched, event) -> bool:
        if (
            watched is self._editor
            and isinstance(event, QKeyEvent)
            and event.type() == QKeyEvent.Type.KeyPress
            and event.key() == Qt.Key.Key_Escape
        ):
            self.finish_rename(commit=False)
            return True
        return super().eventFilter(watched, event)

    # ------------------------------------------------------------ background
    def drawBackground(self, painter: QPainter, rect: QRectF | QRect) -> None:
        rect = QRectF(rect)  # Qt passes a QRectF; its signature also allows a QRect
        super().drawBackground(painter, rect)
        if len(self.graph_scene.document.graph):
            return
        # An empty canvas says how to start instead of looking broken. Drawn under the items
        # (background, not foreground), so it can never cover a node that arrives.
        painter.save()
        painter.resetTransform()
        painter.setPen(style.TEXT_MUTED)
        painter.setFont(style.font("title"))
        painter.drawText(
            QRectF(self.viewport().rect()),
            Qt.AlignmentFlag.AlignCenter,
            "Drag layers here from the palette, or right-click to add one",
        )
        painter.restore()

    def _on_document_graph_event(self, _event) -> None:
        empty = not len(self.graph_scene.document.graph)
        if empty != self._was_empty:  # the hint appears or goes: repaint all of it
            self._was_empty = empty
            self.viewport().update()

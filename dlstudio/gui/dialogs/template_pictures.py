"""Pictures of the templates for the gallery: each graph drawn small, as the canvas draws it."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QPainter, QPixmap

from dlstudio.core import DLStudioError, load_project
from dlstudio.gui.canvas import GraphScene, style
from dlstudio.gui.document import Document
from dlstudio.layers.validation import check_node

_CACHE: dict[tuple[str, float, int, int], QPixmap] = {}
"""Pictures drawn this session, by file, its modification time and the size."""


def template_picture(path: Path, size: QSize) -> QPixmap:
    """The graph of the template at ``path`` drawn into ``size`` (an empty picture when the
    file cannot be read: the gallery still lists it, and opening it says what is wrong)."""
    try:
        stamp = path.stat().st_mtime
    except OSError:
        stamp = 0.0
    key = (str(path), stamp, size.width(), size.height())
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    picture = QPixmap(size)
    picture.fill(style.BACKGROUND)
    try:
        graph = load_project(path, node_checker=check_node)
    except (DLStudioError, OSError, ValueError):
        _CACHE[key] = picture
        return picture
    scene = GraphScene(Document(graph))
    painter = QPainter(picture)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    target = QRectF(0, 0, size.width(), size.height()).adjusted(2, 2, -2, -2)
    source = scene.nodes_rect().adjusted(-30, -30, 30, 30)
    scene.render(painter, target, source, Qt.AspectRatioMode.KeepAspectRatio)
    painter.end()
    scene.deleteLater()
    _CACHE[key] = picture
    return picture

"""The Embeddings tab: the first Embedding's vectors on a 2-D map, neighbours and analogies."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import (
    QFormLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from dlstudio.core.errors import DLStudioError
from dlstudio.gui.lens.pixmaps import to_pixmap
from dlstudio.lens import render
from dlstudio.lens.embeddings import analogy, neighbours

MAP_SIZE = 520
"""Pixels of the map's side."""


class MapLabel(QLabel):
    """The map picture; a click reports where, in picture pixels."""

    clicked = Signal(float, float)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.clicked.emit(event.position().x(), event.position().y())
        super().mousePressEvent(event)


class EmbeddingPage(QWidget):
    """Shows an :class:`~dlstudio.lens.session.EmbeddingMap`; questions answered at once."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.map = None
        self.map_size = MAP_SIZE
        """The side of the drawn map, in pixels (it fits the page: the dock is narrow)."""
        self._highlight: tuple[int, ...] = ()
        self.title = QLabel("The model has no Embedding layer")
        self.title.setWordWrap(True)
        self.picture = MapLabel()
        self.picture.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.picture.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.picture.setMinimumSize(1, 1)
        self.picture.setToolTip("Click a word to see its nearest neighbours")
        self.word = QLineEdit()
        self.word.setPlaceholderText("a word, then Enter")
        self.analogy = QLineEdit()
        self.analogy.setPlaceholderText("king, man, woman  (king - man + woman)")
        self.answer = QLabel("")
        self.answer.setWordWrap(True)
        self.answer.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form = QFormLayout()
        form.addRow("Neighbours of", self.word)
        form.addRow("Analogy", self.analogy)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addLayout(form)
        layout.addWidget(self.answer)
        layout.addWidget(self.picture, 1)
        self.word.returnPressed.connect(lambda: self.show_neighbours(self.word.text().strip()))
        self.analogy.returnPressed.connect(self._on_analogy_return_pressed)
        self.picture.clicked.connect(self._on_picture_clicked)

    def set_map(self, embedding_map, highlight: tuple[int, ...] = ()) -> None:
        """Draw ``embedding_map`` (None: say there is none)."""
        self.map = embedding_map
        self._highlight = highlight
        if embedding_map is None:
            self.title.setText("The model has no Embedding layer")
            self.picture.clear()
            return
        table = embedding_map.table
        count = len(embedding_map.coords)
        self.title.setText(
            f"{table.layer}: {len(table.words)} vectors of {table.vectors.shape[1]} numbers, "
            f"the first {count} on their two main axes (PCA)"
        )
        self.map_size = self._fitting_size()
        picture = render.scatter(
            embedding_map.coords, table.words[:count], self.map_size, highlight=highlight
        )
        self.picture.setPixmap(to_pixmap(picture))

    def _fitting_size(self) -> int:
        """The largest square the picture's place holds (MAP_SIZE at most, 160 at least)."""
        width, height = self.picture.width(), self.picture.height()
        if width < 50 or height < 50:  # not laid out yet
            return MAP_SIZE
        return max(160, min(MAP_SIZE, width, height))

    def resizeEvent(self, event) -> None:
        """Redraw the map to fit the new size (the points stay clickable)."""
        super().resizeEvent(event)
        if self.map is not None and abs(self._fitting_size() - self.map_size) > 8:
            self.set_map(self.map, self._highlight)

    def show_neighbours(self, word: str) -> list[tuple[str, float]]:
        """List and highlight the nearest words to ``word`` (cosine similarity)."""
        if self.map is None or not word:
            return []
        try:
            found = neighbours(self.map.table, word, 8)
        except DLStudioError as exc:
            self.answer.setText(str(exc))
            return []
        self.answer.setText(f"nearest to {word}: " + ", ".join(f"{w} ({s:.2f})" for w, s in found))
        words = self.map.table.words
        marked = (words.index(word), *(words.index(w) for w, _ in found))
        self.set_map(self.map, marked)
        return found

    def _on_analogy_return_pressed(self) -> None:
        if self.map is None:
            return
        parts = [p.strip() for p in self.analogy.text().replace(" - ", ",").split(",")]
        parts = [p for p in parts if p]
        if len(parts) != 3:
            self.answer.setText("An analogy takes three words: a, b, c (for a - b + c)")
            return
        try:
            found = analogy(self.map.table, *parts, k=5)
        except DLStudioError as exc:
            self.answer.setText(str(exc))
            return
        self.answer.setText(
            f"{parts[0]} - {parts[1]} + {parts[2]}: "
            + ", ".join(f"{w} ({s:.2f})" for w, s in found)
        )

    def _on_picture_clicked(self, x: float, y: float) -> None:
        if self.map is None or not len(self.map.coords):
            return
        points = render.scatter_positions(self.map.coords, self.map_size)
        nearest = int(np.argmin(((points - np.array([x, y])) ** 2).sum(axis=1)))
        word = self.map.table.words[nearest]
        self.word.setText(word)
        self.show_neighbours(word)

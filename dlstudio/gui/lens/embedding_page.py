"""The Embeddings tab: the first Embedding's vectors on a 2-D map, neighbours and analogies."""

from __future__ import annotations

import numpy as np
import shiboken6
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from dlstudio.core.errors import DLStudioError
from dlstudio.gui.lens.pixmaps import to_pixmap
from dlstudio.gui.workers import TaskHandle, run_in_thread
from dlstudio.lens import render
from dlstudio.lens.embeddings import (
    PROJECTION_NAMES,
    analogy,
    available_projections,
    neighbours,
    project,
)
from dlstudio.lens.session import EmbeddingMap

MAP_SIZE = 520
"""Pixels of the map's side."""

MAP_SEED = 0
"""t-SNE and UMAP start from this seed: the same table gives the same map every time."""


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
        self.map: EmbeddingMap | None = None
        self.map_size = MAP_SIZE
        """The side of the drawn map, in pixels (it fits the page: the dock is narrow)."""
        self._highlight: tuple[int, ...] = ()
        self._projections: dict[str, np.ndarray] = {}
        """Coordinates computed for the current table, by method ("pca" comes with it)."""
        self._asked = 0
        """Counts projection requests: a worker's answer for an older one is dropped."""
        self.task: TaskHandle | None = None
        """The projection being computed on a worker, if one is."""
        self.maps: tuple[EmbeddingMap, ...] = ()
        """Every Embedding layer's map; :attr:`map` is the one the Layer box picks."""
        self.layer = QComboBox()
        self.layer.setToolTip("Which Embedding layer's table is mapped")
        self.method = QComboBox()
        for method in available_projections():
            self.method.addItem(PROJECTION_NAMES[method], method)
        self.method.setToolTip(
            "How the vectors are laid out in 2-D: PCA at once; t-SNE (and UMAP where "
            "umap-learn is installed) computed in the background, seeded"
        )
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
        form.addRow("Layer", self.layer)
        form.addRow("Map", self.method)
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
        self.method.currentIndexChanged.connect(self._on_method_current_index_changed)
        self.layer.currentIndexChanged.connect(self._on_layer_current_index_changed)
        self.layer.setEnabled(False)

    @property
    def coords(self) -> np.ndarray | None:
        """The coordinates drawn now: the chosen projection's once it is computed, PCA's
        until then."""
        if self.map is None:
            return None
        return self._projections.get(self.chosen_method(), self.map.coords)

    def chosen_method(self) -> str:
        """``pca``, ``tsne`` or ``umap``: the projection the Map box asks for."""
        return str(self.method.currentData() or "pca")

    def set_maps(self, maps: tuple[EmbeddingMap, ...]) -> None:
        """Offer every Embedding layer's map in the Layer box, keeping the layer chosen
        before where the model still has it (the first otherwise)."""
        chosen = self.layer.currentText()
        self.maps = tuple(maps)
        layers = [m.table.layer for m in self.maps]
        self.layer.blockSignals(True)
        self.layer.clear()
        self.layer.addItems(layers)
        index = layers.index(chosen) if chosen in layers else 0
        self.layer.setCurrentIndex(index)
        self.layer.blockSignals(False)
        self.layer.setEnabled(len(layers) > 1)
        self.set_map(self.maps[index] if self.maps else None)

    def _on_layer_current_index_changed(self, index: int) -> None:
        if 0 <= index < len(self.maps):
            self.set_map(self.maps[index])

    def set_map(self, embedding_map, highlight: tuple[int, ...] = ()) -> None:
        """Show ``embedding_map`` (None: say there is none); a projection other than PCA is
        computed on a worker, PCA shown meanwhile."""
        if embedding_map is not self.map:
            self._asked += 1  # a projection still running is for the table before
            self._projections = {"pca": embedding_map.coords} if embedding_map else {}
            self.task = None
        self.map = embedding_map
        self._highlight = highlight
        if embedding_map is not None and self.chosen_method() not in self._projections:
            self._compute(self.chosen_method())
        self._draw()

    def _compute(self, method: str) -> None:
        if self.task is not None and self.task.property("method") == method:
            return  # already on its way
        self._asked += 1
        asked = self._asked
        assert self.map is not None
        vectors = self.map.table.vectors[: len(self.map.coords)]

        def work() -> np.ndarray:
            return project(vectors, method, seed=MAP_SEED)

        def done(coords: np.ndarray) -> None:
            if asked != self._asked or not shiboken6.isValid(self):
                return  # another table or method was asked for meanwhile
            self.task = None
            self._projections[method] = coords
            self._draw()

        def failed(error: BaseException, _trace: str) -> None:
            if asked != self._asked or not shiboken6.isValid(self):
                return
            self.task = None
            self.answer.setText(f"{PROJECTION_NAMES[method]} could not map this table: {error}")
            self._draw()

        self.task = run_in_thread(work, done, failed)
        self.task.setProperty("method", method)

    def _draw(self) -> None:
        embedding_map = self.map
        if embedding_map is None:
            self.title.setText("The model has no Embedding layer")
            self.picture.clear()
            return
        table = embedding_map.table
        count = len(embedding_map.coords)
        method = self.chosen_method()
        shown = method if method in self._projections else "pca"
        layout = "on their two main axes (PCA)" if shown == "pca" else "by t-SNE"
        if shown == "umap":
            layout = "by UMAP"
        waiting = f"; {PROJECTION_NAMES[method]} is being computed…" if shown != method else ""
        self.title.setText(
            f"{table.layer}: {len(table.words)} vectors of {table.vectors.shape[1]} numbers, "
            f"the first {count} {layout}{waiting}"
        )
        self.map_size = self._fitting_size()
        picture = render.scatter(
            self._projections[shown], table.words[:count], self.map_size, highlight=self._highlight
        )
        self.picture.setPixmap(to_pixmap(picture))

    def _on_method_current_index_changed(self, _index: int) -> None:
        if self.map is not None and self.chosen_method() not in self._projections:
            self._compute(self.chosen_method())
        self._draw()

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
            self._draw()

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
        self._highlight = (words.index(word), *(words.index(w) for w, _ in found))
        self._draw()
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
            found = analogy(self.map.table, parts[0], parts[1], parts[2], k=5)
        except DLStudioError as exc:
            self.answer.setText(str(exc))
            return
        self.answer.setText(
            f"{parts[0]} - {parts[1]} + {parts[2]}: "
            + ", ".join(f"{w} ({s:.2f})" for w, s in found)
        )

    def _on_picture_clicked(self, x: float, y: float) -> None:
        coords = self.coords
        if coords is None or not len(coords):
            return
        points = render.scatter_positions(coords, self.map_size)
        nearest = int(np.argmin(((points - np.array([x, y])) ** 2).sum(axis=1)))
        assert self.map is not None  # coords come from it
        word = self.map.table.words[nearest]
        self.word.setText(word)
        self.show_neighbours(word)

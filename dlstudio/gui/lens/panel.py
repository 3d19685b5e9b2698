"""The Lens dock: which example, which weights, and the chosen node's output drawn large."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from dlstudio.gui.folders import ask_open_file
from dlstudio.gui.lens.embedding_page import EmbeddingPage
from dlstudio.gui.lens.pixmaps import to_pixmap
from dlstudio.lens.pinning import PinRequest

PICTURE_MARGIN = 40
"""Pixels of the dock's width that the tab's frame and margins take beside a picture."""

PICK_MODES = ("Sample", "By class", "Image file", "Text")
WEIGHT_LABELS = {
    "current": "Current weights",
    "random": "Random weights",
    "both": "Random and trained, side by side",
}


class LensPanel(QWidget):
    """Controls and the large view; the controller fills it."""

    request_changed = Signal()
    """The example or the weights choice changed: refresh."""
    thumbnails_toggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("lens_panel")
        self.mode = QComboBox()
        self.mode.addItems(PICK_MODES)
        self.mode.setToolTip("Which example the lens runs through the model")
        self.sample = QSpinBox()
        self.sample.setRange(0, 10_000_000)
        self.sample.setToolTip("Index of a sample of the project's data set")
        self.class_index = QSpinBox()
        self.class_index.setRange(0, 100_000)
        self.class_index.setToolTip("The first sample of this class")
        self.image_button = QPushButton("Choose image…")
        self.image_path = ""
        self.text = QLineEdit()
        self.text.setPlaceholderText("Type a sentence and press Enter")
        self.inputs = QStackedWidget()
        for widget in (self.sample, self.class_index, self.image_button, self.text):
            self.inputs.addWidget(widget)
        self.weights = QComboBox()
        for key, label in WEIGHT_LABELS.items():
            self.weights.addItem(label, key)
        self.weights.setToolTip(
            "Current: the last run's weights where they fit the drawing, random before "
            "training. Side by side shows what training changed."
        )
        self.copy = QSpinBox()
        self.copy.setRange(1, 1)
        self.copy.setPrefix("Copy ")
        self.copy.setToolTip(
            "Inside a repeated block: which copy the lens reads (the canvas shows the first "
            "copy's shapes; each copy has its own weights)"
        )
        self.copy.setVisible(False)
        self.thumbnails = QCheckBox("Thumbnails on the canvas")
        self.title = QLabel("Select a layer to see its output")
        self.title.setObjectName("lens_title")
        self.title.setWordWrap(True)
        self.stats = QLabel("")
        self.stats.setWordWrap(True)
        self.stats.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.pictures = QHBoxLayout()
        self._picture_widgets: list[tuple[QLabel, QLabel]] = []
        self._shown: tuple[str, str, list[tuple[str, np.ndarray]], int] | None = None
        """The views shown last and the width they were scaled for."""
        pick = QHBoxLayout()
        pick.addWidget(self.mode)
        pick.addWidget(self.inputs, 1)
        layer_page = QWidget()
        layer = QVBoxLayout(layer_page)
        layer.addWidget(self.title)
        layer.addWidget(self.stats)
        layer.addLayout(self.pictures, 1)
        self.filters_title = QLabel("The model has no 2-D convolution")
        self.filters_title.setWordWrap(True)
        self.filters_picture = QLabel()
        self.filters_picture.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.filters_picture.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        filters_page = QWidget()
        filters = QVBoxLayout(filters_page)
        filters.addWidget(self.filters_title)
        filters.addWidget(self.filters_picture, 1)
        self.embeddings = EmbeddingPage()
        self.tabs = QTabWidget()
        self.tabs.addTab(layer_page, "Layer")
        self.tabs.addTab(filters_page, "Filters")
        self.tabs.addTab(self.embeddings, "Embeddings")
        layout = QVBoxLayout(self)
        layout.addLayout(pick)
        layout.addWidget(self.weights)
        layout.addWidget(self.copy)
        layout.addWidget(self.thumbnails)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.status)
        self.mode.currentIndexChanged.connect(self._on_mode_changed)
        self.sample.valueChanged.connect(self.request_changed)
        self.class_index.valueChanged.connect(self.request_changed)
        self.text.returnPressed.connect(self.request_changed)
        self.image_button.clicked.connect(self._on_image_button_clicked)
        self.weights.currentIndexChanged.connect(self.request_changed)
        self.copy.valueChanged.connect(self.request_changed)
        self.thumbnails.toggled.connect(self.thumbnails_toggled)

    def request(self) -> PinRequest:
        """The example the controls name."""
        mode = self.mode.currentIndex()
        if mode == 1:
            return PinRequest(class_index=self.class_index.value())
        if mode == 2 and self.image_path:
            from pathlib import Path

            return PinRequest(image=Path(self.image_path))
        if mode == 3 and self.text.text().strip():
            return PinRequest(text=self.text.text().strip())
        return PinRequest(sample=self.sample.value())

    def copy_index(self) -> int:
        """The copy of a repeated block to read, 0-based."""
        return self.copy.value() - 1

    def show_copies(self, count: int) -> None:
        """Offer the copies of the opened block (hidden when it is not repeated)."""
        self.copy.setVisible(count > 1)
        if self.copy.maximum() != max(1, count):
            self.copy.blockSignals(True)  # a new range is no request for another refresh
            self.copy.setRange(1, max(1, count))
            self.copy.setSuffix(f" of {count}")
            self.copy.blockSignals(False)

    def weight_mode(self) -> str:
        """``current``, ``random`` or ``both``."""
        return str(self.weights.currentData())

    def show_views(self, title: str, stats: str, pictures: list[tuple[str, np.ndarray]]) -> None:
        """The node's name and statistics, and one picture per weights variant."""
        self._shown = (title, stats, pictures, self.width())
        self.title.setText(title)
        self.stats.setText(stats)
        while len(self._picture_widgets) < len(pictures):
            caption, label = QLabel(), QLabel()
            label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignHCenter)
            # The picture follows the dock's width; it never widens the dock itself.
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
            label.setMinimumSize(1, 1)
            column = QVBoxLayout()
            column.addWidget(caption)
            column.addWidget(label, 1)
            self.pictures.addLayout(column)
            self._picture_widgets.append((caption, label))
        for index, (caption, label) in enumerate(self._picture_widgets):
            if index < len(pictures):
                text, picture = pictures[index]
                caption.setText(text)
                pixmap = to_pixmap(picture)
                width = max(120, (self.width() - PICTURE_MARGIN) // max(len(pictures), 1))
                if pixmap.width() > width:
                    pixmap = pixmap.scaledToWidth(width, Qt.TransformationMode.SmoothTransformation)
                label.setPixmap(pixmap)
                caption.show()
                label.show()
            else:
                caption.hide()
                label.hide()

    def resizeEvent(self, event) -> None:
        """Scale the pictures again to the dock's new width (a narrower window cut them)."""
        super().resizeEvent(event)
        shown = self._shown
        if shown is not None and shown[2] and abs(shown[3] - self.width()) > 8:
            self.show_views(*shown[:3])

    def show_filters(self, filters: tuple[str, np.ndarray] | None) -> None:
        """The first convolution's kernels, or why there are none."""
        if filters is None:
            self.filters_title.setText("The model has no 2-D convolution")
            self.filters_picture.clear()
            return
        path, picture = filters
        self.filters_title.setText(
            f"{path}: the first convolution's kernels, each scaled on its own (in colour when "
            "they read an RGB image)"
        )
        pixmap = to_pixmap(picture)
        width = max(120, self.width() - PICTURE_MARGIN)
        if pixmap.width() > width:
            pixmap = pixmap.scaledToWidth(width, Qt.TransformationMode.SmoothTransformation)
        self.filters_picture.setPixmap(pixmap)

    def clear_views(self, message: str) -> None:
        """No picture; say why."""
        self.show_views(message, "", [])

    def _on_mode_changed(self, index: int) -> None:
        self.inputs.setCurrentIndex(index)
        self.request_changed.emit()

    def _on_image_button_clicked(self) -> None:
        path = ask_open_file(self, "Pin an image", "Images (*.png *.jpg *.jpeg *.bmp *.gif *.webp)")
        if path:
            self.image_path = path
            self.image_button.setText(path.rsplit("/", 1)[-1])
            self.request_changed.emit()

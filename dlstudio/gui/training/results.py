"""Result views: a confusion-matrix heatmap with counts, and a grid of sample predictions."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QGridLayout,
    QHeaderView,
    QLabel,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dlstudio.gui.training.evaluation import Predictions, SamplePrediction

IMAGE_CARD_WIDTH = 84
TEXT_CARD_WIDTH = 220
_GOOD = "#63d297"
_BAD = "#f07b74"


def _heat(fraction: float, diagonal: bool) -> QColor:
    """Blue for right answers, red for confusions; stronger with a larger share of the row."""
    base = QColor("#3d7bd9") if diagonal else QColor("#d9534f")
    back = QColor("#1d1f22")
    t = 0.15 + 0.85 * fraction if fraction > 0 else 0.0
    return QColor(
        int(back.red() + (base.red() - back.red()) * t),
        int(back.green() + (base.green() - back.green()) * t),
        int(back.blue() + (base.blue() - back.blue()) * t),
    )


class AxisTitle(QLabel):
    """A matrix axis title: ``predicted class`` across the top, ``true class`` up the left
    side (drawn turned a quarter, reading bottom to top)."""

    def __init__(self, text: str, vertical: bool, parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.vertical = vertical
        self.setProperty("role", "dim")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        return hint.transposed() if self.vertical else hint

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        return hint.transposed() if self.vertical else hint

    def paintEvent(self, event: QPaintEvent) -> None:
        if not self.vertical:
            super().paintEvent(event)
            return
        painter = QPainter(self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.translate(0, self.height())
        painter.rotate(-90)
        painter.drawText(
            0, 0, self.height(), self.width(), Qt.AlignmentFlag.AlignCenter, self.text()
        )
        painter.end()


class ConfusionMatrixView(QWidget):
    """Rows are true classes, columns predicted ones; each cell shows its count. Double-click a
    cell to explain its first sample."""

    explain_requested = Signal(object)
    """A :class:`SamplePrediction` the user asked to explain."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._cells: dict[tuple[int, int], SamplePrediction] = {}
        self.names: list[str] = []
        """The class names of the matrix shown."""
        self.title = QLabel("Train a classifier to see its confusion matrix.", self)
        self.title.setProperty("role", "dim")
        self.title.setWordWrap(True)
        self.table = QTableWidget(self)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setShowGrid(False)
        # Counts must stay readable in narrow cells: a smaller font, and never "…".
        self.table.setTextElideMode(Qt.TextElideMode.ElideNone)
        font = self.table.font()
        font.setPointSizeF(max(7.0, font.pointSizeF() - 1.5))
        self.table.setFont(font)
        self.table.setStyleSheet("QTableWidget { background: #1d1f22; gridline-color: #1d1f22; }")
        for header in (self.table.horizontalHeader(), self.table.verticalHeader()):
            header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
            header.setMinimumSectionSize(14)
            header.setDefaultSectionSize(22)
        self.predicted_title = AxisTitle("predicted class →", vertical=False, parent=self)
        self.true_title = AxisTitle("← true class", vertical=True, parent=self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.title)
        grid = QGridLayout()
        grid.setSpacing(2)
        grid.addWidget(self.predicted_title, 0, 1)
        grid.addWidget(self.true_title, 1, 0)
        grid.addWidget(self.table, 1, 1)
        layout.addLayout(grid, 1)
        self._show_axis_titles(False)
        self.counts: np.ndarray | None = None
        self.table.cellDoubleClicked.connect(self._on_table_cell_double_clicked)

    def _on_table_cell_double_clicked(self, row: int, column: int) -> None:
        sample = self._cells.get((row, column))
        if sample is not None and sample.inputs is not None:
            self.explain_requested.emit(sample)

    def _show_axis_titles(self, shown: bool) -> None:
        self.predicted_title.setVisible(shown)
        self.true_title.setVisible(shown)

    @property
    def total(self) -> int:
        """Samples counted in the matrix."""
        return int(self.counts.sum()) if self.counts is not None else 0

    def set_predictions(self, predictions: Predictions | None) -> None:
        """Show the matrix of ``predictions`` (or a hint when there is none)."""
        if predictions is None or predictions.confusion is None:
            self.counts = None
            self.table.clear()
            self.table.setRowCount(0)
            self.table.setColumnCount(0)
            self.title.setText("A confusion matrix appears after training a classifier.")
            self._show_axis_titles(False)
            return
        self._show_axis_titles(True)
        self._cells = dict(predictions.cell_samples)
        self.names = list(predictions.class_names)
        counts = np.asarray(predictions.confusion, dtype=np.int64)
        self.counts = counts
        names = predictions.class_names
        accuracy = float(np.trace(counts)) / max(1, int(counts.sum()))
        self.title.setText(
            f"<b>Confusion matrix</b> · {predictions.split} split"
            + (f" · weights of {predictions.weights}" if predictions.weights else "")
            + f" · {int(counts.sum())} samples · {accuracy:.1%} correct"
        )
        self.title.setToolTip("Rows: true class; columns: predicted class. Blue: right answers.")
        self.table.clear()
        self.table.setRowCount(len(names))
        self.table.setColumnCount(len(names))
        self.table.setHorizontalHeaderLabels(names)
        self.table.setVerticalHeaderLabels(names)
        rows = counts.sum(axis=1)
        for i in range(len(names)):
            for j in range(len(names)):
                value = int(counts[i, j])
                item = QTableWidgetItem(str(value) if value else "")
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                item.setBackground(_heat(value / rows[i] if rows[i] else 0.0, i == j))
                item.setForeground(QColor("#f2f4f7"))
                tip = f"true {names[i]}, predicted {names[j]}: {value}"
                if (i, j) in self._cells:
                    tip += " (double-click to explain one)"
                item.setToolTip(tip)
                self.table.setItem(i, j, item)


def _pixmap(image: np.ndarray, size: int) -> QPixmap:
    data = np.ascontiguousarray((np.clip(image, 0, 1) * 255).astype(np.uint8))
    if data.ndim == 2:
        h, w = data.shape
        qimage = QImage(data.data, w, h, w, QImage.Format.Format_Grayscale8)
    else:
        h, w, _c = data.shape
        qimage = QImage(data.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    # copy(): the QImage must not outlive the numpy buffer it points into.
    return QPixmap.fromImage(qimage.copy()).scaled(
        QSize(size, size),
        Qt.AspectRatioMode.KeepAspectRatio,
        Qt.TransformationMode.FastTransformation,
    )


class _SampleCard(QFrame):
    """One prediction: the picture or input text, then true and predicted labels."""

    double_clicked = Signal(object)

    def __init__(self, sample: SamplePrediction, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.sample = sample
        if sample.inputs is not None:
            self.setToolTip("Double-click to explain this prediction")
        colour = _GOOD if sample.correct else _BAD
        self.setStyleSheet(
            f"_SampleCard {{ background: #222428; border: 1px solid {colour}55; border-radius: 4px; }}"
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(2)
        if sample.image is not None:
            picture = QLabel(self)
            picture.setPixmap(_pixmap(sample.image, 64))
            picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
            layout.addWidget(picture)
        if sample.text:
            layout.addWidget(self._label(f"<span style='color:#8b9099'>in</span> {sample.text}"))
        layout.addWidget(self._label(f"<span style='color:#8b9099'>true</span> {sample.truth}"))
        mark = "✓" if sample.correct else "✗"
        layout.addWidget(
            self._label(f"<span style='color:{colour}'>{mark} {sample.predicted}</span>")
        )

    def mouseDoubleClickEvent(self, event) -> None:
        if self.sample.inputs is not None:
            self.double_clicked.emit(self.sample)
        super().mouseDoubleClickEvent(event)

    def _label(self, html: str) -> QLabel:
        label = QLabel(html, self)
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setWordWrap(True)
        return label


class SamplePredictions(QScrollArea):
    """A grid of sample predictions: images with labels, or decoded token sequences.
    Double-click a card to explain it."""

    explain_requested = Signal(object)
    """A :class:`SamplePrediction` the user asked to explain."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self._inner = QWidget(self)
        self._grid = QGridLayout(self._inner)
        self._grid.setSpacing(6)
        self._grid.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.setWidget(self._inner)
        self.cards: list[_SampleCard] = []
        self.set_predictions(None)

    def set_predictions(self, predictions: Predictions | None) -> None:
        """Show up to the first samples of ``predictions``."""
        while self._grid.count():
            item = self._grid.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.cards = []
        if predictions is None or not predictions.samples:
            hint = QLabel("Sample predictions appear after a run.", self._inner)
            hint.setProperty("role", "dim")
            self._grid.addWidget(hint, 0, 0)
            return
        for sample in predictions.samples:
            card = _SampleCard(sample, self._inner)
            card.double_clicked.connect(self.explain_requested)
            card.setFixedWidth(IMAGE_CARD_WIDTH if sample.image is not None else TEXT_CARD_WIDTH)
            self.cards.append(card)
        self._reflow()

    def _reflow(self) -> None:
        """Place the cards in as many columns as the width allows."""
        if not self.cards:
            return
        spacing = self._grid.spacing()
        width = self.cards[0].width() + spacing
        columns = max(1, (self.viewport().width() - spacing) // width)
        for index, card in enumerate(self.cards):
            self._grid.removeWidget(card)
            self._grid.addWidget(card, index // columns, index % columns)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._reflow()

"""The Attention tab: a heatmap of one attention's weights for one sample, query steps down
the side and key steps along the top, labelled with tokens where the data set knows them.

Choose the sample, the attention (every MultiheadAttention and Transformer layer of the model,
also inside blocks, a decoder layer's self- and cross-attention apart) and a head or the mean
of the heads. The maps of a sample are computed on a pool thread; pyqtgraph draws them here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QFontMetricsF, QResizeEvent
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from dlstudio.gui.plot_menus import disable_plot_menus
from dlstudio.gui.workers import TaskHandle, run_in_thread

if TYPE_CHECKING:
    from dlstudio.compile.attention_maps import AttentionMap
    from dlstudio.gui.training.attention_source import AttentionSource

_BG = "#1d1f22"
_FG = "#a9aeb6"
SIDE_WIDTH = 230
"""Width of the selector column beside the heatmap."""
MAX_TICKS = 48
"""Token labels drawn per axis; longer sequences get every k-th one."""
EMPTY_TEXT = (
    "Train a model with attention (MultiheadAttention or a Transformer layer), then open this "
    "tab, or right-click an attention node ▸ Show Attention Map."
)


def _ticks(
    tokens: tuple[str, ...] | None, length: int, fits: int = MAX_TICKS
) -> list[tuple[float, str]]:
    """Tick positions at the centre of each cell, labelled ``3 s5`` (step and token): every
    k-th one, so that at most ``fits`` (and MAX_TICKS) labels are drawn."""
    step = max(1, -(-length // max(1, min(fits, MAX_TICKS))))
    return [(i + 0.5, f"{i} {tokens[i]}" if tokens else str(i)) for i in range(0, length, step)]


def labels_that_fit(labels: list[str], room: float, metrics: QFontMetricsF, across: bool) -> int:
    """How many of ``labels`` an axis ``room`` pixels long shows without overlapping them:
    side by side (``across``, the key axis on top) by their widest, else by the line height."""
    if across:
        size = max((metrics.horizontalAdvance(text) for text in labels), default=0.0) + 10
    else:
        size = metrics.height() + 2
    return max(1, int(room // max(1.0, size)))


class AttentionView(QWidget):
    """Sample, attention and head selectors over an ``ImageItem`` heatmap (rows sum to 1)."""

    maps_shown = Signal()
    """A sample's maps arrived and the heatmap shows one of them."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source: AttentionSource | None = None
        self.maps: list[AttentionMap] = []
        self.task: TaskHandle | None = None
        self._sample = -1
        self._focus: tuple[str, ...] | None = None
        self.hint = QLabel(EMPTY_TEXT, self)
        self.hint.setProperty("role", "dim")
        self.hint.setWordWrap(True)
        self.sample_box = QComboBox(self)
        self.sample_box.setObjectName("attention_sample")
        self.sample_box.setToolTip("The example whose attention is shown (test split first)")
        self.site_box = QComboBox(self)
        self.site_box.setObjectName("attention_site")
        self.site_box.setToolTip("Which attention: the layer's path in the model")
        self.head_box = QComboBox(self)
        self.head_box.setObjectName("attention_head")
        self.head_box.setToolTip("One head, or the mean over the heads")
        # The selectors sit beside the heatmap (which keeps square cells) at a fixed width:
        # long names are elided in the box and shown whole in its list and tooltip.
        adjust = QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        for box in (self.sample_box, self.site_box, self.head_box):
            box.setSizeAdjustPolicy(adjust)
            box.setMinimumContentsLength(12)
            box.view().setMinimumWidth(SIDE_WIDTH + 80)
        self.readout = QLabel("Point at a cell to read its weight.", self)
        self.readout.setProperty("role", "dim")
        self.readout.setWordWrap(True)
        side = QWidget(self)
        side.setFixedWidth(SIDE_WIDTH)
        form = QVBoxLayout(side)
        form.setContentsMargins(0, 0, 0, 0)
        for text, box in (
            ("Sample", self.sample_box),
            ("Attention", self.site_box),
            ("Head", self.head_box),
        ):
            form.addWidget(QLabel(text, side))
            form.addWidget(box)
        form.addSpacing(8)
        form.addWidget(self.readout)
        form.addStretch(1)
        self.graphics = pg.GraphicsLayoutWidget(self)
        self.graphics.setBackground(_BG)
        self.plot = self.graphics.addPlot()
        self.plot.invertY(True)  # query step 0 at the top, as a matrix is written
        self.plot.setAspectLocked(True)  # square cells
        disable_plot_menus(self.plot, self)
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.plot.showAxis("top")
        self.plot.hideAxis("bottom")
        self.plot.setLabel("top", "key step (attended to)", color=_FG)
        self.plot.setLabel("left", "query step (looking)", color=_FG)
        for name in ("top", "left"):
            axis = self.plot.getAxis(name)
            axis.setTextPen(_FG)
            axis.setPen(_FG)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(pg.colormap.get("viridis"))
        self.plot.addItem(self.image)
        self.colorbar = pg.ColorBarItem(
            values=(0.0, 1.0), colorMap=pg.colormap.get("viridis"), interactive=False, width=12
        )
        self.colorbar.setImageItem(self.image, insert_in=self.plot)
        disable_plot_menus(self.colorbar, self)  # a PlotItem too
        body = QHBoxLayout()
        body.addWidget(self.graphics, 1)
        body.addWidget(side)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.hint)
        layout.addLayout(body, 1)
        self.sample_box.currentIndexChanged.connect(self._on_sample_box_changed)
        self.site_box.currentIndexChanged.connect(self._on_site_box_changed)
        self.head_box.currentIndexChanged.connect(self._on_head_box_changed)
        self.graphics.scene().sigMouseMoved.connect(self._on_graphics_mouse_moved)
        self.set_source(None)

    # ----------------------------------------------------------------- public
    @property
    def current(self) -> AttentionMap | None:
        """The map the heatmap shows."""
        index = self.site_box.currentIndex()
        return self.maps[index] if 0 <= index < len(self.maps) else None

    @property
    def matrix(self) -> np.ndarray | None:
        """The drawn weights, (L_query, L_key): one head, or the mean over the heads."""
        current = self.current
        if current is None:
            return None
        head = self.head_box.currentIndex() - 1
        return current.weights[head] if 0 <= head < len(current.weights) else current.mean()

    def show_message(self, text: str) -> None:
        """A line above the selectors (what is being computed, or why nothing shows)."""
        self.hint.setText(text)

    def set_source(
        self, source: AttentionSource | None, focus: tuple[str, ...] | None = None
    ) -> None:
        """Show ``source``'s samples (None: the empty state); ``focus`` is the location of the
        node whose attention to select first (see :meth:`focus_location`)."""
        self.source = source
        self.maps = []
        self._sample = -1
        self._focus = focus
        self.image.clear()
        for box in (self.sample_box, self.site_box, self.head_box):
            box.blockSignals(True)
            box.clear()
            box.blockSignals(False)
        enabled = source is not None
        for box in (self.sample_box, self.site_box, self.head_box):
            box.setEnabled(enabled)
        if source is None:
            self.hint.setText(EMPTY_TEXT)
            return
        split, _, note = source.split_name.partition(" (")
        self.hint.setText(
            f"Run {source.run_id} · samples of the {split} split"
            + (f" ({note}" if note else "")
            + " · each row, a query step, sums to 1 over the key steps it attends to"
        )
        self.sample_box.blockSignals(True)  # one request for the first sample, below
        self.sample_box.addItems(source.labels)
        self.sample_box.blockSignals(False)
        if source.labels:
            self.show_sample(0)

    def show_sample(self, index: int) -> TaskHandle | None:
        """Compute and draw the maps of sample ``index`` (on a pool thread)."""
        source = self.source
        if source is None or not 0 <= index < len(source.labels):
            return None
        if self.sample_box.currentIndex() != index:
            self.sample_box.setCurrentIndex(index)  # comes back here through the signal
            return self.task
        self._sample = index
        self.task = run_in_thread(
            lambda: (index, source.maps(index)),
            lambda result: self._on_maps_ready(source, *result),
            lambda exc, _trace: self.show_message(f"Cannot compute the attention maps: {exc}"),
        )
        return self.task

    def focus_location(self, location: tuple[str, ...] | None) -> bool:
        """Select the first attention at (or inside) the node at ``location`` (node ids from
        the top graph down); False when the model has none there."""
        self._focus = location
        if not location:
            return False
        for i, amap in enumerate(self.maps):
            if amap.site.location[: len(location)] == tuple(location):
                self.site_box.setCurrentIndex(i)
                return True
        return False

    # ------------------------------------------------------------------ slots
    def _on_maps_ready(self, source: AttentionSource, index: int, maps: list) -> None:
        if source is not self.source or index != self._sample:
            return  # an older request: the user has moved on
        previous = self.site_box.currentText()
        self.maps = maps
        self.site_box.blockSignals(True)
        self.site_box.clear()
        self.site_box.addItems([m.label for m in maps])
        self.site_box.blockSignals(False)
        for i, amap in enumerate(maps):
            self.site_box.setItemData(i, amap.label, Qt.ItemDataRole.ToolTipRole)
        if not maps:
            self.show_message("This model's attention layers returned no weights.")
            return
        labels = [m.label for m in maps]
        if self._focus and self.focus_location(self._focus):
            self._focus = None
        else:
            self.site_box.setCurrentIndex(labels.index(previous) if previous in labels else 0)
        self._fill_heads()
        self._draw()
        self.maps_shown.emit()

    def _on_sample_box_changed(self, index: int) -> None:
        self.show_sample(index)

    def _on_site_box_changed(self, _index: int) -> None:
        self.site_box.setToolTip(self.site_box.currentText())
        self._fill_heads()
        self._draw()

    def _on_head_box_changed(self, _index: int) -> None:
        self._draw()

    def _on_graphics_mouse_moved(self, pos: QPointF) -> None:
        matrix, current = self.matrix, self.current
        if matrix is None or current is None:
            return
        point = self.plot.vb.mapSceneToView(pos)
        row, col = int(np.floor(point.y())), int(np.floor(point.x()))
        if not (0 <= row < matrix.shape[0] and 0 <= col < matrix.shape[1]):
            self.readout.setText("")
            return
        self.readout.setText(
            f"query {_name(current.query_tokens, row)} looks at key "
            f"{_name(current.key_tokens, col)} with weight {matrix[row, col]:.3f}"
        )

    # ---------------------------------------------------------------- drawing
    def _fill_heads(self) -> None:
        current = self.current
        wanted = ["mean of the heads"]
        if current is not None and current.per_head:
            wanted += [f"head {h + 1}" for h in range(len(current.weights))]
        if [self.head_box.itemText(i) for i in range(self.head_box.count())] == wanted:
            return
        keep = self.head_box.currentIndex()
        self.head_box.blockSignals(True)
        self.head_box.clear()
        self.head_box.addItems(wanted)
        self.head_box.setCurrentIndex(keep if 0 <= keep < len(wanted) else 0)
        self.head_box.blockSignals(False)

    def _draw(self) -> None:
        matrix, current = self.matrix, self.current
        if matrix is None or current is None:
            self.image.clear()
            return
        rows, cols = matrix.shape
        top = float(matrix.max()) if matrix.size else 1.0
        self.image.setImage(matrix, levels=(0.0, max(top, 1e-6)))
        self.colorbar.setLevels((0.0, max(top, 1e-6)))
        self.image.setRect(0, 0, cols, rows)
        self.plot.setRange(xRange=(0, cols), yRange=(0, rows), padding=0)
        self.plot.setTitle(current.label, color=_FG, size="9pt")
        self._set_ticks()

    def _set_ticks(self) -> None:
        """Label as many steps as the axes have room for (again at every resize): token
        labels never print on top of each other."""
        matrix, current = self.matrix, self.current
        if matrix is None or current is None:
            return
        rows, cols = matrix.shape
        box = self.plot.vb.sceneBoundingRect()
        # The cells are square: the drawn heatmap is as wide as the box allows at its height.
        cell = min(box.width() / max(1, cols), box.height() / max(1, rows))
        metrics = QFontMetricsF(self.plot.getAxis("top").style.get("tickFont") or self.font())
        top = _ticks(current.key_tokens, cols, cols)
        left = _ticks(current.query_tokens, rows, rows)
        fits_top = labels_that_fit([t for _, t in top], cell * cols, metrics, across=True)
        fits_left = labels_that_fit([t for _, t in left], cell * rows, metrics, across=False)
        self.plot.getAxis("top").setTicks([_ticks(current.key_tokens, cols, fits_top)])
        self.plot.getAxis("left").setTicks([_ticks(current.query_tokens, rows, fits_left)])

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        # Queued: the plot lays itself out after this widget has its new size.
        QTimer.singleShot(0, self, self._set_ticks)


def _name(tokens: tuple[str, ...] | None, index: int) -> str:
    return f"{index} ({tokens[index]})" if tokens else str(index)

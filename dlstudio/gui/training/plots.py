"""Live training curves with pyqtgraph: loss per step (raw and smoothed), validation loss and
metric per epoch, learning rate; past runs can be overlaid.

Events only append to numpy buffers; a timer (10 Hz, slower where a redraw costs more, see
``DRAW_SHARE``), running only while there is something new to draw and the plots are shown,
redraws what changed, and every curve uses peak downsampling with clip-to-view, so a run with a
million steps stays smooth. pyqtgraph is touched only here, on the GUI thread.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget

from dlstudio.gui.plot_menus import disable_plot_menus
from dlstudio.gui.training.history import RunRecord
from dlstudio.train import EpochEvent, StepEvent

REDRAW_MS = 100
"""Shortest redraw period while points arrive: 10 Hz reads as live."""
SLOWEST_REDRAW_MS = 1000
DRAW_SHARE = 0.03
"""The share of the time the curves may take to draw: the redraw period grows with what a
redraw costs (updating the curves and painting them), so drawing leaves the training thread the
interpreter (30 Hz redraws cost a run about a tenth of its speed, benchmarks/bench_training_ui.py)."""
EPOCH_CURVES = "train: over the epoch's steps; val: on the validation split after the epoch"
"""What the per-epoch curves mean (their plots' tooltip)."""
SMOOTHING = 0.9
"""Weight of the past in the exponential moving average of the training loss."""
OVERLAY_COLORS = ("#c678dd", "#56b6c2", "#e5c07b", "#98c379", "#e06c75", "#61afef")
_BG = "#1d1f22"
_FG = "#a9aeb6"


def short_title(title: str) -> str:
    """A plot title for a narrow monitor: "Training loss per step" -> "Loss/step"."""
    title = title.replace("Training loss", "Loss").replace("Learning rate", "LR")
    return title.replace(" per ", "/")


class _EpochAxis(pg.AxisItem):
    """An axis of whole epochs: never a tick at 1.5."""

    def tickSpacing(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, float]]:
        levels = [(s, o) for s, o in super().tickSpacing(minVal, maxVal, size) if s >= 1]
        return levels or [(1.0, 0.0)]


class _Series:
    """A growing (x, y) buffer with amortised O(1) appends."""

    def __init__(self) -> None:
        self._x = np.empty(256)
        self._y = np.empty(256)
        self.size = 0
        self.version = 0
        """Bumped on every change, so a redraw skips the curves that did not change."""

    def append(self, x: float, y: float) -> None:
        if self.size == len(self._x):
            self._x = np.concatenate([self._x, np.empty(self.size)])
            self._y = np.concatenate([self._y, np.empty(self.size)])
        self._x[self.size], self._y[self.size] = x, y
        self.size += 1
        self.version += 1

    def clear(self) -> None:
        self.version += 1
        self.size = 0

    @property
    def x(self) -> np.ndarray:
        return self._x[: self.size]

    @property
    def y(self) -> np.ndarray:
        return self._y[: self.size]


def smooth(values: Sequence[float], weight: float = SMOOTHING) -> np.ndarray:
    """Debiased exponential moving average (what TensorBoard's smoothing slider shows)."""
    out = np.empty(len(values))
    average, correction = 0.0, 1.0
    for i, value in enumerate(values):
        average = weight * average + (1 - weight) * value
        correction *= weight
        out[i] = average / (1 - correction)
    return out


def redraw_period_ms(cost_s: float) -> int:
    """The redraw period for a redraw costing ``cost_s``: within :data:`DRAW_SHARE`."""
    return int(min(SLOWEST_REDRAW_MS, max(REDRAW_MS, 1000 * cost_s / DRAW_SHARE)))


class _TimedGraphics(pg.GraphicsLayoutWidget):
    """A plot canvas that times its own painting."""

    resized = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.paint_seconds = 0.0
        """How long the last paint took."""

    def paintEvent(self, event) -> None:
        start = time.perf_counter()
        super().paintEvent(event)
        self.paint_seconds = time.perf_counter() - start

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.resized.emit()

    def fit_layout(self) -> None:
        """Lay the plots out in the view again (after their minimum sizes changed)."""
        self.setRange(self.range, padding=0, disableAutoPixel=False)


class LossPlot(QWidget):
    """Four linked-by-meaning plots: training loss, validation loss, metric, learning rate."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.graphics = _TimedGraphics(self)
        self.graphics.setBackground(_BG)
        self.graphics.ci.layout.setSpacing(6)
        self.graphics.resized.connect(self.fit_titles)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.graphics)
        self._titles: dict[int, str] = {}
        """Each plot's full title, by ``id(plot)``."""
        self.short_titles = False
        """Whether the plots show their short titles (a narrow monitor, see :meth:`fit_titles`)."""
        self._long_minimum = 0.0
        self.loss_plot = self._plot(0, 0, "Training loss per step", "step")
        self.val_plot = self._plot(0, 1, "Loss per epoch", "epoch")
        self.metric_plot = self._plot(1, 0, "Metric per epoch", "epoch")
        self.lr_plot = self._plot(1, 1, "Learning rate", "step")
        # Short titles: a title is as wide as its text and would squeeze the other column.
        for plot in (self.val_plot, self.metric_plot):
            plot.setToolTip(EPOCH_CURVES)
        # Schedules (warm-up, cosine, step) read best on a log scale.
        self.lr_plot.setLogMode(y=True)
        for plot in (self.loss_plot, self.val_plot, self.metric_plot):
            self._legend(plot)
        self.graphics.ci.layout.setColumnStretchFactor(0, 3)
        self.graphics.ci.layout.setColumnStretchFactor(1, 2)
        self._raw = _Series()
        self._smooth = _Series()
        self._lr = _Series()
        self._val = _Series()
        self._train_epoch_loss = _Series()
        self._metrics: dict[str, _Series] = {}
        self._average, self._correction = 0.0, 1.0
        self.raw_curve = self.loss_plot.plot(pen=pg.mkPen("#6fa8ff60", width=1), name="raw")
        self.smooth_curve = self.loss_plot.plot(pen=pg.mkPen("#6fa8ff", width=2), name="smoothed")
        self.lr_curve = self.lr_plot.plot(pen=pg.mkPen("#e0a526", width=2))
        symbol = {"symbol": "o", "symbolSize": 6}
        self.val_curve = self.val_plot.plot(
            pen=pg.mkPen("#63d297", width=2), symbolBrush="#63d297", name="validation", **symbol
        )
        self.train_epoch_curve = self.val_plot.plot(
            pen=pg.mkPen("#6fa8ff", width=1, style=Qt.PenStyle.DashLine), name="training"
        )
        self._metric_curves: dict[str, pg.PlotDataItem] = {}
        self._overlay_items: list[tuple[pg.PlotItem, pg.PlotDataItem]] = []
        self._dirty = False
        self._drawn: dict[int, int] = {}
        self._ranged = False
        self._empty_ranges()
        self.timer = QTimer(self)
        self.timer.setInterval(REDRAW_MS)
        self.timer.timeout.connect(self._on_timer_timeout)

    def _plot(self, row: int, col: int, title: str, x_label: str) -> pg.PlotItem:
        axis = {"bottom": _EpochAxis(orientation="bottom")} if x_label == "epoch" else {}
        plot = self.graphics.addPlot(row=row, col=col, axisItems=axis)
        self._set_title(plot, title)
        plot.showGrid(x=True, y=True, alpha=0.12)
        for name in ("left", "bottom"):
            plot.getAxis(name).setTextPen(_FG)
            plot.getAxis(name).setPen("#3a3d43")
        plot.getAxis("left").setWidth(44)
        # Fewer labels on a narrow axis: at pyqtgraph's default fill, "100", "200" and "300"
        # run into each other on a plot 140 px wide.
        plot.getAxis("bottom").setStyle(textFillLimits=[(0, 0.5), (2, 0.35), (4, 0.2), (6, 0.0)])
        plot.setLimits(xMin=0)  # epochs and steps start at 0: no negative x after one point
        plot.setDownsampling(auto=True, mode="peak")
        plot.setClipToView(True)
        disable_plot_menus(plot, self)
        return plot

    def _set_title(self, plot: pg.PlotItem, title: str) -> None:
        self._titles[id(plot)] = title
        shown = short_title(title) if self.short_titles else title
        plot.setTitle(f"<span style='color:#c2c6cc;font-size:9pt'>{shown}</span>", size="9pt")

    def title_of(self, plot: pg.PlotItem) -> str:
        """The title ``plot`` shows now (short in a narrow monitor)."""
        title = self._titles[id(plot)]
        return short_title(title) if self.short_titles else title

    def fit_titles(self) -> None:
        """Short titles when the full ones would make the two columns wider than the monitor
        (a title is as wide as its text, and pyqtgraph cuts off what does not fit at the
        right); the full ones again once they fit."""
        width = self.graphics.viewport().width()
        if not self.short_titles and self._minimum_width() > width:
            self._long_minimum = self._minimum_width()
            self._show_short_titles(True)
        elif self.short_titles and self._long_minimum <= width:
            self._show_short_titles(False)

    def _minimum_width(self) -> float:
        layout = self.graphics.ci.layout
        layout.invalidate()
        return layout.effectiveSizeHint(Qt.SizeHint.MinimumSize).width()

    def _show_short_titles(self, short: bool) -> None:
        self.short_titles = short
        for plot in (self.loss_plot, self.val_plot, self.metric_plot, self.lr_plot):
            self._set_title(plot, self._titles[id(plot)])
        # The layout kept the width the long titles needed; fit it to the view once the new
        # titles' sizes have reached it (on the next turn of the event loop).
        QTimer.singleShot(0, self.graphics, self.graphics.fit_layout)

    def _legend(self, plot: pg.PlotItem) -> None:
        if plot.legend is None:
            legend = plot.addLegend(
                offset=(-4, 4), labelTextColor=_FG, labelTextSize="8pt", brush="#1d1f22c0"
            )
            # "raw" and "smoothed" fit side by side; longer names ("train accuracy") are
            # stacked, or a narrow plot would cut the first one off.
            legend.setColumnCount(2 if plot is self.loss_plot else 1)

    # ---------------------------------------------------------------- data
    @property
    def step_points(self) -> int:
        """Training-loss points received in the current run."""
        return self._raw.size

    @property
    def epoch_points(self) -> int:
        """Validation points received in the current run."""
        return max(self._val.size, self._train_epoch_loss.size)

    def reset(self) -> None:
        """Forget the current run's curves (a new run starts)."""
        for series in (self._raw, self._smooth, self._lr, self._val, self._train_epoch_loss):
            series.clear()
        for series in self._metrics.values():
            series.clear()
        self._average, self._correction = 0.0, 1.0
        self._mark_dirty()
        self._empty_ranges()

    def _empty_ranges(self) -> None:
        """Plain ranges while there is no data: a log axis with nothing to show would pack
        its labels on top of each other."""
        self.lr_plot.setYRange(-4, -1, padding=0)  # 1e-4 .. 1e-1 (log10 units)
        for plot in (self.loss_plot, self.val_plot, self.metric_plot, self.lr_plot):
            plot.setXRange(0, 1, padding=0)
        self._ranged = False

    def add_step(self, event: StepEvent) -> None:
        """Buffer a step report; drawn on the next timer tick."""
        self._raw.append(event.step, event.loss)
        self._average = SMOOTHING * self._average + (1 - SMOOTHING) * event.loss
        self._correction *= SMOOTHING
        self._smooth.append(event.step, self._average / (1 - self._correction))
        self._lr.append(event.step, event.lr)
        self._mark_dirty()

    def add_epoch(self, event: EpochEvent) -> None:
        """Buffer an epoch's metrics."""
        if "loss" in event.val:
            self._val.append(event.epoch, event.val["loss"])
        if "loss" in event.train:
            self._train_epoch_loss.append(event.epoch, event.train["loss"])
        for split, metrics in (("val", event.val), ("train", event.train)):
            for name, value in metrics.items():
                if name != "loss":
                    self._metric_series(f"{split} {name}").append(event.epoch, value)
        self._mark_dirty()

    def _metric_series(self, key: str) -> _Series:
        if key not in self._metrics:
            self._metrics[key] = _Series()
            validation = key.startswith("val")
            pen = pg.mkPen(
                "#63d297" if validation else "#6fa8ff",
                width=2 if validation else 1,
                style=Qt.PenStyle.SolidLine if validation else Qt.PenStyle.DashLine,
            )
            extra = {"symbol": "o", "symbolSize": 6, "symbolBrush": "#63d297"} if validation else {}
            self._metric_curves[key] = self.metric_plot.plot(pen=pen, name=key, **extra)
            name = key.split(" ", 1)[1].replace("_", " ").capitalize()
            self._set_title(self.metric_plot, f"{name} per epoch")
        return self._metrics[key]

    # ------------------------------------------------------------- overlays
    def set_overlays(self, records: Sequence[RunRecord]) -> dict[str, str]:
        """Draw past runs as thin dashed curves behind the current one (empty: none).

        Returns each run's colour (run id -> colour) so the run list can show it; overlays stay
        out of the legends, which would otherwise cover the plots.
        """
        for plot, item in self._overlay_items:
            plot.removeItem(item)
        self._overlay_items.clear()
        if records and not self._ranged:  # past runs to show: let the axes follow them
            self._ranged = True
            for plot in (self.loss_plot, self.val_plot, self.metric_plot, self.lr_plot):
                plot.enableAutoRange()
        colours: dict[str, str] = {}
        for index, record in enumerate(records):
            colour = colours[record.run_id] = OVERLAY_COLORS[index % len(OVERLAY_COLORS)]
            pen = pg.mkPen(colour, width=1.5, style=Qt.PenStyle.DashLine)
            if record.steps:
                steps = np.array([s for s, _v in record.steps], dtype=float)
                self._overlay(self.loss_plot, steps, smooth([v for _s, v in record.steps]), pen)
            epochs = [e for e in record.epochs if e.get("val")]
            if epochs:
                x = np.array([e["epoch"] for e in epochs], dtype=float)
                self._overlay(self.val_plot, x, [e["val"].get("loss", np.nan) for e in epochs], pen)
                metric = next((k for k in epochs[0]["val"] if k != "loss"), None)
                if metric:
                    self._overlay(
                        self.metric_plot, x, [e["val"].get(metric, np.nan) for e in epochs], pen
                    )
            if record.lrs:
                lrs = np.array(record.lrs, dtype=float)
                self._overlay(self.lr_plot, lrs[:, 0], lrs[:, 1], pen)
        return colours

    @property
    def overlay_count(self) -> int:
        """Curves drawn for past runs."""
        return len(self._overlay_items)

    def _overlay(self, plot: pg.PlotItem, x, y, pen) -> None:
        item = plot.plot(np.asarray(x, dtype=float), np.asarray(y, dtype=float), pen=pen)
        item.setZValue(-10)
        self._overlay_items.append((plot, item))

    # -------------------------------------------------------------- drawing
    def _mark_dirty(self) -> None:
        self._dirty = True
        if not self.timer.isActive() and self.isVisible():
            self.timer.start()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._dirty and not self.timer.isActive():
            self.timer.start()

    def _on_timer_timeout(self) -> None:
        # A hidden tab keeps buffering and draws everything at once when shown; with nothing
        # new, the timer stops (an idle window should not wake up ten times a second).
        if self._dirty and self.isVisible():
            self.redraw_now()
        else:
            self.timer.stop()

    def redraw_now(self) -> None:
        """Draw the buffered points immediately (the timer calls this; so can tests)."""
        start = time.perf_counter()
        self._update_curves()
        cost = time.perf_counter() - start + self.graphics.paint_seconds
        self.timer.setInterval(redraw_period_ms(cost))

    def _update_curves(self) -> None:
        self._dirty = False
        if not self._ranged and (self._lr.size or self._raw.size):
            self._ranged = True
            for plot in (self.loss_plot, self.val_plot, self.metric_plot, self.lr_plot):
                plot.enableAutoRange()
        pairs = [
            (self.raw_curve, self._raw),
            (self.smooth_curve, self._smooth),
            (self.lr_curve, self._lr),
            (self.val_curve, self._val),
            (self.train_epoch_curve, self._train_epoch_loss),
            *((self._metric_curves[key], series) for key, series in self._metrics.items()),
        ]
        for curve, series in pairs:  # only what changed: epoch curves grow once an epoch
            if self._drawn.get(id(curve)) != series.version:
                self._drawn[id(curve)] = series.version
                curve.setData(series.x, series.y)

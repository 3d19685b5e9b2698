"""Live plots of a study with pyqtgraph: the metric of each trial (pruned and failed ones
marked, the best so far as a line) and every trial's validation curve per epoch.

Events only append to lists; a ~30 Hz timer redraws when something changed. pyqtgraph is
touched only here, on the GUI thread.
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QPen
from PySide6.QtWidgets import QVBoxLayout, QWidget

from dlstudio.gui.plot_menus import disable_plot_menus
from dlstudio.train.tune import TrialEpoch, TrialFinished, TrialStarted

REDRAW_MS = 33
_BG, _FG = "#1d1f22", "#a9aeb6"
COLOURS = {"complete": "#6fa8ff", "pruned": "#8a8f98", "fail": "#e5534b"}
SYMBOLS = {"complete": "o", "pruned": "x", "fail": "t"}
BEST_COLOUR = "#63d297"
RUNNING_COLOUR = "#e0a526"


class TrialPlot(QWidget):
    """Metric per trial (left) and per epoch of each trial (right)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.graphics = pg.GraphicsLayoutWidget(self)
        self.graphics.setBackground(_BG)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.graphics)
        self.trial_plot = self._plot(0, "Validation metric per trial", "trial")
        self.epoch_plot = self._plot(1, "Validation metric per epoch", "epoch")
        self.scatter: dict[str, pg.ScatterPlotItem] = {}
        for state in ("complete", "pruned", "fail"):
            item = pg.ScatterPlotItem(
                symbol=SYMBOLS[state],
                size=10,
                brush=COLOURS[state],
                pen=pg.mkPen(COLOURS[state], width=2 if state == "pruned" else 1),
            )
            self.trial_plot.addItem(item)
            self.scatter[state] = item
        self.best_curve = self.trial_plot.plot(pen=pg.mkPen(BEST_COLOUR, width=2))
        # A legend line under the plots: a legend inside would hide the points it explains.
        key = "&nbsp;&nbsp;&nbsp;".join(
            f"<span style='color:{colour}'>{glyph}</span> {text}"
            for colour, glyph, text in (
                (COLOURS["complete"], "●", "complete"),
                (COLOURS["pruned"], "✕", "pruned"),
                (COLOURS["fail"], "▲", "failed"),
                (BEST_COLOUR, "━", "best so far"),
                (RUNNING_COLOUR, "━", "running"),
            )
        )
        self.key = self.graphics.addLabel(
            f"<span style='color:{_FG};font-size:8pt'>{key}</span>", row=1, col=0, colspan=2
        )
        self.direction = "maximize"
        self.results: dict[int, tuple[str, float | None]] = {}
        """Trial number -> (state, value) of the trials that ended."""
        self.curves: dict[int, list[tuple[int, float]]] = {}
        """Trial number -> (epoch, value) reported so far."""
        self._curve_items: dict[int, pg.PlotDataItem] = {}
        self._dirty = False
        self.timer = QTimer(self)
        self.timer.setInterval(REDRAW_MS)
        self.timer.timeout.connect(self._on_timer_timeout)
        self.timer.start()

    def _plot(self, col: int, title: str, x_label: str) -> pg.PlotItem:
        plot = self.graphics.addPlot(row=0, col=col)
        plot.setTitle(f"<span style='color:#c2c6cc;font-size:9pt'>{title}</span>", size="9pt")
        plot.showGrid(x=True, y=True, alpha=0.12)
        for name in ("left", "bottom"):
            plot.getAxis(name).setTextPen(_FG)
            plot.getAxis(name).setPen("#3a3d43")
        plot.setLabel("bottom", f"<span style='color:{_FG}'>{x_label}</span>")
        plot.getAxis("left").setWidth(44)
        disable_plot_menus(plot, self)
        return plot

    # -------------------------------------------------------------- events
    def reset(self, direction: str = "maximize") -> None:
        """Forget every trial (a new study)."""
        self.direction = direction
        self.results.clear()
        self.curves.clear()
        for item in self._curve_items.values():
            self.epoch_plot.removeItem(item)
        self._curve_items.clear()
        self._dirty = True

    def add_event(self, event: object) -> None:
        """Take a tuner event; the plot redraws on the next timer tick."""
        if isinstance(event, TrialStarted):
            self.curves[event.number] = []
        elif isinstance(event, TrialEpoch):
            self.curves.setdefault(event.number, []).append((event.epoch, event.value))
        elif isinstance(event, TrialFinished):
            value = event.value
            if value is None and self.curves.get(event.number):
                value = self.curves[event.number][-1][1]
            self.results[event.number] = (event.state, value)
        else:
            return
        self._dirty = True

    def best_so_far(self) -> list[tuple[int, float]]:
        """(trial, best completed value up to it) for the trials that ended."""
        out: list[tuple[int, float]] = []
        best: float | None = None
        better = max if self.direction == "maximize" else min
        for number in sorted(self.results):
            state, value = self.results[number]
            if state == "complete" and value is not None and math.isfinite(value):
                best = value if best is None else better(best, value)
            if best is not None:
                out.append((number, best))
        return out

    def redraw_now(self) -> None:
        """Draw what changed at once (tests, and the end of a study)."""
        self._dirty = True
        self._on_timer_timeout()

    def _on_timer_timeout(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        failed_y = self._floor()
        for state, item in self.scatter.items():
            points = [
                (n, failed_y if v is None else v)
                for n, (s, v) in self.results.items()
                if s == state
            ]
            item.setData([p[0] for p in points], [p[1] for p in points])
        best = self.best_so_far()
        self.best_curve.setData([b[0] for b in best], [b[1] for b in best])
        for number, points in self.curves.items():
            item = self._curve_items.get(number)
            state = self.results.get(number, ("running", None))[0]
            pen = _curve_pen(state)
            if item is None:
                item = self.epoch_plot.plot(symbol="o", symbolSize=4)
                self._curve_items[number] = item
            item.setData([p[0] for p in points], [p[1] for p in points])
            item.setPen(pen)
            item.setSymbolBrush(pen.color())
            item.setSymbolPen(pen.color())

    def _floor(self) -> float:
        values = [v for _, v in self.results.values() if v is not None and math.isfinite(v)]
        return min(values) if values else 0.0


def _curve_pen(state: str) -> QPen:
    if state == "running":
        return pg.mkPen(RUNNING_COLOUR, width=2)
    if state == "pruned":
        return pg.mkPen("#8a8f98", width=1, style=Qt.PenStyle.DashLine)
    if state == "fail":
        return pg.mkPen("#e5534b", width=1, style=Qt.PenStyle.DotLine)
    return pg.mkPen("#6fa8ff", width=1)

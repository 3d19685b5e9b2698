"""The Training monitor: tabs for live curves, results, attention maps, run history, health and
the log."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QPlainTextEdit,
    QSplitter,
    QTabWidget,
    QWidget,
)

from dlstudio.gui.theme import monospace_font
from dlstudio.gui.training.attention_view import AttentionView
from dlstudio.gui.training.overlay import HealthTable
from dlstudio.gui.training.plots import LossPlot
from dlstudio.gui.training.results import ConfusionMatrixView, SamplePredictions
from dlstudio.gui.training.runs_view import RunHistoryPanel
from dlstudio.train.health import HealthEvent

MAX_LOG_LINES = 5000


class TrainingMonitor(QTabWidget):
    """Curves, Results, Attention, Runs, Health and Log tabs of the training dock."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDocumentMode(True)
        self.plot = LossPlot(self)
        self.confusion = ConfusionMatrixView(self)
        self.samples = SamplePredictions(self)
        results = QSplitter(Qt.Orientation.Horizontal, self)
        results.addWidget(self.confusion)
        results.addWidget(self.samples)
        results.setStretchFactor(0, 1)
        results.setStretchFactor(1, 1)
        self.results = results
        self.attention = AttentionView(self)
        self.history = RunHistoryPanel(self)
        self.health = HealthTable(self)
        self._warned: set[tuple[str, bool, bool]] = set()
        self.log = QPlainTextEdit(self)
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(MAX_LOG_LINES)
        self.log.setFont(monospace_font(9.5))
        self.addTab(self.plot, "Curves")
        self.addTab(self.results, "Results")
        self.addTab(self.attention, "Attention")
        self.addTab(self.history, "Runs")
        self.addTab(self.health, "Health")
        self.addTab(self.log, "Log")
        for page in (self.plot, self.results, self.attention, self.history, self.health, self.log):
            # An explicit small minimum: a wide page must not force the bottom panels apart
            # in a small window (pages scroll or squeeze instead).
            page.setMinimumSize(160, 90)

    def show_health(self, event: HealthEvent) -> None:
        """A health report: the table, the tab's warning count, and each kind of problem of a
        node logged once per run (not at every sample)."""
        self.health.show_event(event)
        count = len(event.warnings)
        index = self.indexOf(self.health)
        text = f"Health ⚠ {count}" if count else "Health"
        if self.tabText(index) != text:  # a new title relays out and repaints the tabs
            self.setTabText(index, text)
        for warning in event.warnings:
            key = (warning.split(":", 1)[0], "dead" in warning, "vanished" in warning)
            if key not in self._warned:
                self._warned.add(key)
                self.append_log(f"Step {event.step}: {warning}", "warning")

    def reset_health(self) -> None:
        """A new run: its warnings are logged afresh."""
        self._warned.clear()

    def append_log(self, text: str, level: str = "info") -> None:
        """Add a time-stamped line to the log (warnings and errors coloured)."""
        colour = {"warning": "#ffa94d", "error": "#f07b74", "ok": "#63d297"}.get(level)
        stamp = datetime.now().strftime("%H:%M:%S")
        escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        body = f"<span style='color:{colour}'>{escaped}</span>" if colour else escaped
        self.log.appendHtml(f"<span style='color:#6b7078'>{stamp}</span> {body}")

"""The main window's dock arrangement: where panels go, how big they are, and keeping it sane.

Dock sizes are kept as fractions of the window (palette width, side width, bottom height, the
bottom split), applied again whenever the window changes size, so shrinking to 800 x 600 and
growing back gives the layout a fresh start gives; a separator the user drags updates the
fractions. Every panel has a minimum size and the canvas keeps a minimum share, so no widget is
ever squeezed to nothing, and a saved layout is restored as its arrangement (which docks, where,
tabbed how) plus its fractions, clamped to sane ranges, never as raw pixel sizes from another
window size. View > Reset Layout puts everything back where a fresh start has it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from PySide6.QtCore import QByteArray, QEvent, QObject, QSettings, QSize, Qt, QTimer
from PySide6.QtWidgets import QApplication, QDockWidget, QMainWindow, QWidget

_AREA = Qt.DockWidgetArea
DEFAULT_FRACTIONS = {"left": 0.14, "right": 0.23, "bottom": 0.2, "split": 0.6}
"""Palette width and side-panel width (of the window's width), bottom panels' height (of its
height), and the Summary's share of the bottom row."""
_LIMITS = {"left": (0.08, 0.3), "right": (0.14, 0.45), "bottom": (0.1, 0.45), "split": (0.2, 0.8)}
MIN_LEFT, MIN_RIGHT, MIN_BOTTOM = 160, 240, 140
"""Minimum panel sizes in pixels (the palette's names, a properties form, two table rows)."""
MIN_CANVAS = QSize(280, 160)
"""The canvas never gets less than this."""
_STATE_VERSION = 2
"""Bumped when the dock arrangement changes, so an old saved state is not applied."""


@dataclass
class _Placement:
    dock: QDockWidget
    area: Qt.DockWidgetArea
    tab_with: QDockWidget | None


class DockLayout(QObject):
    """Creates the window's docks and keeps their sizes proportional to the window."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.fractions = dict(DEFAULT_FRACTIONS)
        self.placements: list[_Placement] = []
        self.fronts: list[QDockWidget] = []
        """The docks in front of their tab groups in the default layout."""
        self.split: tuple[QDockWidget, QDockWidget] | None = None
        self.restored = False
        """True once a saved arrangement was restored (docks added later take their place)."""
        self._applied: QSize | None = None
        self._applying = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.apply)
        central = window.centralWidget()
        if central is not None:
            central.setMinimumSize(MIN_CANVAS)

    # ------------------------------------------------------------- building
    def add(
        self,
        title: str,
        name: str,
        widget: QWidget,
        area: Qt.DockWidgetArea,
        tab_with: QDockWidget | None = None,
    ) -> QDockWidget:
        """A new dock for ``widget`` in ``area`` (tabbed onto ``tab_with``)."""
        dock = QDockWidget(title, self.window)
        dock.setObjectName(f"dock_{name}")
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.place(dock, area, tab_with)
        return dock

    def place(
        self, dock: QDockWidget, area: Qt.DockWidgetArea, tab_with: QDockWidget | None = None
    ) -> None:
        """Put an existing dock into the layout (and into Reset Layout's defaults)."""
        minimum = {
            _AREA.LeftDockWidgetArea: QSize(MIN_LEFT, 0),
            _AREA.RightDockWidgetArea: QSize(MIN_RIGHT, 0),
            _AREA.BottomDockWidgetArea: QSize(0, MIN_BOTTOM),
        }.get(area, QSize(0, 0))
        dock.setMinimumSize(minimum)
        dock.installEventFilter(self)
        self.window.addDockWidget(area, dock)
        self.placements.append(_Placement(dock, area, tab_with))

    # ---------------------------------------------------------------- sizes
    def schedule(self) -> None:
        """Re-apply the fractions once the current events are handled (after a resize)."""
        self._timer.start()

    def apply(self) -> None:
        """Size the docks from the fractions for the window's current size."""
        window = self.window
        if not window.isVisible():
            return
        width, height = window.width(), window.height()
        f = self.fractions
        left_docks = self._visible(_AREA.LeftDockWidgetArea)
        right_docks = self._visible(_AREA.RightDockWidgetArea)
        bottom_docks = self._visible(_AREA.BottomDockWidgetArea)
        min_left = max([MIN_LEFT, *(d.minimumSizeHint().width() for d in left_docks)])
        min_right = max([MIN_RIGHT, *(d.minimumSizeHint().width() for d in right_docks)])
        left = max(min_left, int(width * f["left"])) if left_docks else 0
        right = max(min_right, int(width * f["right"])) if right_docks else 0
        spare = width - MIN_CANVAS.width() - 12
        if left + right > spare:  # a small window: the panels give back, never below minimum
            excess = left + right - spare
            total = max(1, left - min_left + right - min_right)
            left -= int(excess * (left - min_left) / total) if left_docks else 0
            right -= int(excess * (right - min_right) / total) if right_docks else 0
            left, right = (
                max(left, min_left if left_docks else 0),
                max(right, min_right if right_docks else 0),
            )
        chrome = window.menuBar().height() + window.statusBar().height() + 60
        bottom = max(MIN_BOTTOM, int(height * f["bottom"]))
        bottom = min(bottom, max(MIN_BOTTOM, height - chrome - MIN_CANVAS.height()))
        self._applying = True
        try:
            across, down = Qt.Orientation.Horizontal, Qt.Orientation.Vertical
            docks, sizes = [], []
            if left_docks:
                docks.append(left_docks[0])
                sizes.append(left)
            if right_docks:
                docks.append(right_docks[0])
                sizes.append(right)
            if docks:
                window.resizeDocks(docks, sizes, across)
            if bottom_docks:
                window.resizeDocks([bottom_docks[0]], [bottom], down)
            pair = self._bottom_pair()
            if pair is not None:
                row = max(2, width - left - right - 12)
                first = int(row * f["split"])
                window.resizeDocks(list(pair), [first, row - first], across)
        finally:
            self._applying = False
        self._applied = window.size()

    def _visible(self, area: Qt.DockWidgetArea) -> list[QDockWidget]:
        window = self.window
        return [
            p.dock
            for p in self.placements
            if window.dockWidgetArea(p.dock) == area
            and p.dock.isVisible()
            and not p.dock.isFloating()
            and not p.dock.visibleRegion().isEmpty()
        ] or [
            p.dock
            for p in self.placements
            if window.dockWidgetArea(p.dock) == area
            and not p.dock.isHidden()
            and not p.dock.isFloating()
        ]

    def _bottom_pair(self) -> tuple[QDockWidget, QDockWidget] | None:
        """The two side-by-side bottom docks (Summary | Problems) when both are showing."""
        if self.split is None:
            return None
        a, b = self.split
        window = self.window
        bottom = _AREA.BottomDockWidgetArea
        if any(
            window.dockWidgetArea(d) != bottom or d.isHidden() or d.isFloating() for d in (a, b)
        ):
            return None
        if b in window.tabifiedDockWidgets(a):
            return None
        front_a = next(
            (d for d in (a, *window.tabifiedDockWidgets(a)) if not d.visibleRegion().isEmpty()), a
        )
        return front_a, b

    def _learn(self) -> None:
        """The user dragged a separator: remember the new proportions."""
        window = self.window
        width, height = max(1, window.width()), max(1, window.height())
        left = self._visible(_AREA.LeftDockWidgetArea)
        right = self._visible(_AREA.RightDockWidgetArea)
        bottom = self._visible(_AREA.BottomDockWidgetArea)
        if left:
            self.fractions["left"] = left[0].width() / width
        if right:
            self.fractions["right"] = right[0].width() / width
        if bottom:
            self.fractions["bottom"] = bottom[0].height() / height
        pair = self._bottom_pair()
        if pair is not None:
            total = pair[0].width() + pair[1].width()
            if total > 0:
                self.fractions["split"] = pair[0].width() / total
        self.fractions = _clamped(self.fractions)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # Only a separator the user drags (mouse held) teaches new proportions; resizes Qt
        # makes itself (a window squeezed below the panels' minimums) must not.
        if (
            event.type() == QEvent.Type.Resize
            and QApplication.mouseButtons() & Qt.MouseButton.LeftButton
            and not self._applying
            and self._applied is not None
            and self.window.size() == self._applied
            and not self._timer.isActive()
        ):
            self._learn()
        return False

    # --------------------------------------------------------------- reset
    def reset(self) -> None:
        """View > Reset Layout: every panel docked where a fresh start puts it, default sizes."""
        window = self.window
        for p in self.placements:
            p.dock.setFloating(False)
            window.addDockWidget(p.area, p.dock)
            p.dock.show()
        if self.split is not None:
            window.splitDockWidget(self.split[0], self.split[1], Qt.Orientation.Horizontal)
        for p in self.placements:
            if p.tab_with is not None:
                window.tabifyDockWidget(p.tab_with, p.dock)
        for dock in self.fronts:
            dock.raise_()
        self.fractions = dict(DEFAULT_FRACTIONS)
        self.apply()
        QTimer.singleShot(0, self, self.apply)  # again once the re-docked panels have geometry

    # ------------------------------------------------------------- settings
    def save(self, settings: QSettings) -> None:
        """Store the window's geometry, dock arrangement and proportions."""
        settings.setValue("window/geometry", self.window.saveGeometry())
        settings.setValue("window/state", self.window.saveState(_STATE_VERSION))
        settings.setValue("window/fractions", json.dumps(self.fractions))

    def restore(self, settings: QSettings) -> bool:
        """Restore what :meth:`save` stored; the sizes come from the proportions (clamped), so
        a squeezed layout saved in a small window never comes back squeezed."""
        geometry = settings.value("window/geometry")
        state = settings.value("window/state")
        if isinstance(geometry, QByteArray):
            self.window.restoreGeometry(geometry)
        restored = isinstance(state, QByteArray) and self.window.restoreState(state, _STATE_VERSION)
        try:
            saved = json.loads(str(settings.value("window/fractions", "")))
        except ValueError:
            saved = None
        if isinstance(saved, dict):
            merged = {k: saved.get(k, v) for k, v in DEFAULT_FRACTIONS.items()}
            if all(isinstance(v, (int, float)) for v in merged.values()):
                self.fractions = _clamped(merged)
        self.restored = bool(restored)
        self.schedule()
        return self.restored


def _clamped(fractions: dict[str, float]) -> dict[str, float]:
    return {k: min(max(float(v), _LIMITS[k][0]), _LIMITS[k][1]) for k, v in fractions.items()}

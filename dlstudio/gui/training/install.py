"""Adding the training UI to a main window: docks, Run-menu actions, a toolbar button, and a
clean stop when the window closes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QAction, QColor, QIcon, QKeySequence, QPainter, QPixmap
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QMainWindow,
    QMenu,
    QToolBar,
    QToolButton,
)

from dlstudio.gui.canvas import GraphScene
from dlstudio.gui.document import Document
from dlstudio.gui.exports import ExportActions
from dlstudio.gui.panels import ProblemsPanel
from dlstudio.gui.theme import icon
from dlstudio.gui.training.close_guard import WindowCloseGuard
from dlstudio.gui.training.controller import TrainingController
from dlstudio.gui.training.start_weights import load_weights_into_model
from dlstudio.gui.training.trained_export import trained_weights_for
from dlstudio.gui.tune import TuneLauncher, install_tune_ui
from dlstudio.gui.window_actions import WindowActions

_AREA = Qt.DockWidgetArea
MONITOR_HEIGHT = 380
"""Height the monitor dock grows to when training starts (the curves need room)..."""
MONITOR_HEIGHT_SHARE = 0.45
"""...but never more than this share of the window's height, so the canvas stays usable."""
MONITOR_SHARE = 0.65
"""The share of the bottom row the monitor takes when training starts beside other panels
(Problems): its four plots need the width more than a panel that says "No problems"..."""
MIN_BESIDE_WIDTH = 240
"""...but a panel beside it keeps at least this width, enough to read its messages..."""
MONITOR_MIN_WIDTH = 340
"""...unless the monitor would then be narrower than this (its two columns of plots)."""


@runtime_checkable
class TrainingHost(Protocol):
    """What the training UI needs of a main window besides QMainWindow's own: the document it
    trains and the canvas it draws health badges on. The main window's Problems panel, action
    registry, toolbar and exports are used where the window has them."""

    document: Document
    scene: GraphScene


@dataclass(frozen=True)
class TrainingUI:
    """What :func:`install_training_ui` adds to a window; the window keeps it."""

    controller: TrainingController
    panel_dock: QDockWidget
    """The Training dock (settings and controls)."""
    monitor_dock: QDockWidget
    """The Training Monitor dock (curves, results, runs, health, log)."""
    actions: dict[str, QAction]
    """The Run actions by name: train, pause, resume, stop, evaluate, export, health,
    attention, load_weights."""
    tune: TuneLauncher
    """Run > Tune… and its dialog."""


def glyph_icon(kind: str) -> QIcon:
    """A drawn icon for actions the shared icon set lacks: ``stop`` and ``pause``."""
    pixmap = QPixmap(64, 64)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    if kind == "stop":
        painter.setBrush(QColor("#e5534b"))
        painter.drawRoundedRect(QRectF(14, 14, 36, 36), 6, 6)
    else:
        painter.setBrush(QColor("#d8dbe0"))
        painter.drawRoundedRect(QRectF(16, 12, 11, 40), 3, 3)
        painter.drawRoundedRect(QRectF(37, 12, 11, 40), 3, 3)
    painter.end()
    return QIcon(pixmap)


def _action(
    window: QMainWindow, name: str, text: str, tip: str, shortcut: str = "", icon_name: str = ""
) -> QAction:
    action = QAction(text, window)
    action.setObjectName(f"action_{name}")
    if icon_name in ("stop", "pause"):
        action.setIcon(glyph_icon(icon_name))
    elif icon_name:
        action.setIcon(icon(icon_name))
    if shortcut:
        action.setShortcut(QKeySequence(shortcut))
        tip += f" ({action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})"
    action.setToolTip(tip)
    action.setStatusTip(tip)
    return action


def _run_menu(window: QMainWindow) -> QMenu:
    menu = getattr(window, "run_menu", None)
    if isinstance(menu, QMenu):
        return menu
    return window.menuBar().addMenu("&Run")


def _list_data_problems(
    problems: ProblemsPanel, document: Document, controller: TrainingController
) -> None:
    """The Problems panel lists the data set's problems while the check that found them is
    current (a later edit takes them away until the next check)."""
    check = controller.data_check

    def sync(*_args: object) -> None:
        report = check.current()
        problems.set_data_problems(report.problems if report is not None else ())

    check.report_ready.connect(sync)
    document.analysis_ready.connect(sync)


def install_training_ui(window: QMainWindow) -> TrainingUI:
    """Give ``window`` (a :class:`TrainingHost`: it has a ``document`` and a ``scene``) the
    training UI; the caller keeps what it returns.

    Adds the Training dock (settings and controls) on the right, the Training Monitor dock
    (curves, results, runs, health, log) at the bottom, Run-menu actions (Train, Pause, Resume,
    Stop, Evaluate, Export Trained Model, Show Attention Map, Show Training Health) and a Train toolbar button.
    """
    if not isinstance(window, TrainingHost):
        raise TypeError("the training UI needs a window with a document and a scene")
    controller = TrainingController(window.document, window.scene, window)

    panel_dock = QDockWidget("Training", window)
    panel_dock.setObjectName("dock_training")
    # Its settings scroll in a short window instead of forcing the window taller.
    panel_dock.setWidget(controller.panel)
    monitor_dock = QDockWidget("Training Monitor", window)
    monitor_dock.setObjectName("dock_training_monitor")
    monitor_dock.setWidget(controller.monitor)
    if hasattr(window, "add_side_dock"):
        window.add_side_dock(panel_dock)
        window.add_side_dock(monitor_dock, _AREA.BottomDockWidgetArea)
    else:
        window.addDockWidget(_AREA.RightDockWidgetArea, panel_dock)
        window.addDockWidget(_AREA.BottomDockWidgetArea, monitor_dock)
    problems = getattr(window, "problems", None)
    if isinstance(problems, ProblemsPanel):
        _list_data_problems(problems, window.document, controller)

    actions = {
        "train": _action(
            window,
            "train",
            "&Train",
            "Train the model with the Training panel's settings",
            "F5",
            "run",
        ),
        "pause": _action(
            window,
            "pause_training",
            "&Pause Training",
            "Pause after the current batch",
            "",
            "pause",
        ),
        "resume": _action(window, "resume_training", "Res&ume Training", "Continue a paused run"),
        "stop": _action(
            window,
            "stop_training",
            "&Stop Training",
            "Stop after the current batch",
            "Shift+F5",
            "stop",
        ),
        "evaluate": _action(
            window, "evaluate", "&Evaluate on Test Split", "Evaluate the last trained model"
        ),
        "export": _action(
            window, "export_trained", "E&xport Trained Model…", "ONNX or Python + weights"
        ),
        "health": _action(
            window, "show_health", "Show Training &Health", "Badges on the canvas nodes"
        ),
        "attention": _action(
            window,
            "show_attention",
            "Show &Attention Map",
            "Heatmap of the last run's attention weights for a chosen sample",
        ),
        "load_weights": _action(
            window,
            "load_weights",
            "Load &Weights into Model…",
            "Start training from saved weights, matched by layer name and shape",
        ),
    }
    # The one toolbar button with its name beside the icon: "press Train" must find a Train.
    actions["train"].setProperty("toolbar_label", True)
    actions["health"].setCheckable(True)
    actions["health"].setChecked(True)
    actions["train"].triggered.connect(
        lambda: _on_train(window, controller, panel_dock, monitor_dock)
    )
    actions["pause"].triggered.connect(controller.pause)
    actions["resume"].triggered.connect(controller.resume)
    actions["stop"].triggered.connect(controller.stop)
    actions["evaluate"].triggered.connect(lambda: controller.evaluate())
    actions["export"].triggered.connect(lambda: controller.export_trained())
    actions["health"].toggled.connect(controller.overlay.set_visible)
    actions["load_weights"].triggered.connect(lambda: load_weights_into_model(controller))
    actions["attention"].triggered.connect(lambda: controller.show_attention())
    window.scene.attention_requested.connect(
        lambda location: controller.show_attention(tuple(location))
    )
    controller.monitor_wanted.connect(monitor_dock.show)
    controller.monitor_wanted.connect(monitor_dock.raise_)
    # A data check that F5 waited for trains through Run > Train, so the curves come forward.
    controller.train_requested.connect(actions["train"].trigger)
    exports = getattr(window, "exports", None)
    if isinstance(exports, ExportActions):  # Export > ONNX, Python and Weights offer them
        exports.offer_trained_weights(lambda graph: trained_weights_for(controller, graph))

    registry = getattr(window, "action_registry", None)
    if not isinstance(registry, WindowActions):
        registry = None  # a bare window: its own Run menu and toolbar
    file_menu = registry.menus.get("file") if registry is not None else None
    quit_action = registry.by_name.get("quit") if registry is not None else None
    if isinstance(file_menu, QMenu) and quit_action is not None:
        file_menu.insertAction(quit_action, actions["load_weights"])
        file_menu.insertSeparator(quit_action)
    menu = _run_menu(window)
    if not isinstance(file_menu, QMenu) or quit_action is None:
        menu.addAction(actions["load_weights"])
    menu.addActions([actions["train"], actions["pause"], actions["resume"], actions["stop"]])
    tune = install_tune_ui(window, controller, menu)
    menu.addSeparator()
    menu.addActions(
        [actions["evaluate"], actions["export"], actions["attention"], actions["health"]]
    )
    toolbar = getattr(window, "main_toolbar", None)
    run_actions = [actions["train"], actions["pause"], actions["stop"]]
    if isinstance(toolbar, QToolBar) and registry is not None:
        registry.add_toolbar_group(toolbar, 10, run_actions)  # the last to go
    else:
        if not isinstance(toolbar, QToolBar):
            toolbar = window.addToolBar("Training")
            toolbar.setObjectName("training_toolbar")
        toolbar.addSeparator()
        toolbar.addActions(run_actions)
        button = toolbar.widgetForAction(actions["train"])
        if isinstance(button, QToolButton):
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)

    def on_state(state: str) -> None:
        actions["train"].setEnabled(state == "idle")
        actions["pause"].setEnabled(state == "running")
        actions["resume"].setEnabled(state == "paused")
        actions["stop"].setEnabled(state in ("running", "paused"))

    controller.state_changed.connect(on_state)
    # Opening a tab of the monitor (Attention, Runs, Log...) makes it tall enough to read.
    controller.monitor.currentChanged.connect(lambda _index: grow_monitor(window, monitor_dock))
    on_state(controller.state)
    window.installEventFilter(WindowCloseGuard(window, controller))
    app = QApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(controller.shutdown)
    return TrainingUI(controller, panel_dock, monitor_dock, actions, tune)


def _on_train(
    window: QMainWindow,
    controller: TrainingController,
    panel_dock: QDockWidget,
    monitor_dock: QDockWidget,
) -> None:
    """Run > Train: bring the settings into view and start; once started, the curves too (a
    refused start, such as a data set that does not fit, leaves the docks as they were)."""
    panel_dock.show()
    panel_dock.raise_()
    if controller.start() is None:
        return
    monitor_dock.show()
    monitor_dock.raise_()
    controller.monitor.setCurrentWidget(controller.monitor.plot)
    grow_monitor(window, monitor_dock)


def grow_monitor(window: QMainWindow, monitor: QDockWidget) -> None:
    """Give the monitor dock room to be read (curves, the attention map, runs, the log):
    MONITOR_HEIGHT at most MONITOR_HEIGHT_SHARE of the window, and MONITOR_SHARE of the row."""
    if monitor.isFloating() or not monitor.isVisible():
        return
    height = min(MONITOR_HEIGHT, int(window.height() * MONITOR_HEIGHT_SHARE))
    if monitor.height() < height:
        window.resizeDocks([monitor], [height], Qt.Orientation.Vertical)
    _widen_monitor(window, monitor)


def _widen_monitor(window: QMainWindow, monitor: QDockWidget) -> None:
    """Give the monitor MONITOR_SHARE of the bottom row when it shares it with other docks,
    leaving each of them at least MIN_BESIDE_WIDTH."""
    area = window.dockWidgetArea(monitor)
    if area != Qt.DockWidgetArea.BottomDockWidgetArea:
        return
    tabbed = set(window.tabifiedDockWidgets(monitor))
    beside = [
        dock
        for dock in window.findChildren(QDockWidget)
        if dock is not monitor
        and dock not in tabbed
        and dock.isVisible()
        and not dock.isFloating()
        and window.dockWidgetArea(dock) == area
        and not dock.visibleRegion().isEmpty()
    ]
    if not beside:
        return
    total = monitor.width() + sum(dock.width() for dock in beside)
    share = int(total * MONITOR_SHARE)
    # MONITOR_SHARE, less what the others need to keep MIN_BESIDE_WIDTH, but never less than
    # the two columns of plots need (a narrow window: the others give way first).
    wanted = min(share, max(total - MIN_BESIDE_WIDTH * len(beside), MONITOR_MIN_WIDTH))
    if monitor.width() >= wanted:
        return
    rest = (total - wanted) // len(beside)
    window.resizeDocks(
        [monitor, *beside], [wanted, *[rest] * len(beside)], Qt.Orientation.Horizontal
    )

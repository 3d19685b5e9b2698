"""The window's layout at every size: minimum sizes, proportions kept through a shrink and
grow, Reset Layout, and a saved squeezed layout never coming back squeezed."""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QApplication

from dlstudio.gui.dock_layout import MIN_BOTTOM, MIN_CANVAS, MIN_LEFT, MIN_RIGHT
from dlstudio.gui.main_window import MainWindow
from dlstudio.gui.recovery import app_settings
from tests.gui import fixtures_window
from tests.gui.fixtures_window import REPO_ROOT

window = fixtures_window.window
data_dir = fixtures_window.data_dir
RESNET = REPO_ROOT / "templates" / "resnet18.json"


def _settle(qtbot, win: MainWindow, size: QSize) -> None:
    win.resize(size)
    qtbot.waitUntil(lambda: win.size() == size, timeout=5000)
    for _ in range(5):
        QApplication.processEvents()
        qtbot.wait(20)


def _geometry(win: MainWindow) -> dict[str, tuple[int, int, int, int]]:
    docks = (win.palette_dock, win.properties_dock, win.summary_dock, win.problems_dock)
    out = {d.objectName(): d.geometry().getRect() for d in docks}
    out["canvas"] = win.view.geometry().getRect()
    return out


def test_shrinking_and_growing_back_gives_the_fresh_layout(window, qtbot):
    window.files.load_template(RESNET, ask=False)
    big = QSize(1600, 1000)
    _settle(qtbot, window, big)
    fresh = _geometry(window)
    fresh_zoom = window.view.zoom()
    _settle(qtbot, window, QSize(800, 600))
    small = _geometry(window)
    assert window.palette_dock.width() >= MIN_LEFT and window.properties_dock.width() >= MIN_RIGHT
    assert window.summary_dock.height() >= MIN_BOTTOM
    assert window.view.width() >= MIN_CANVAS.width() and window.view.height() >= MIN_CANVAS.height()
    assert window.training_ui.actions["train"] in window.main_toolbar.actions()  # never falls off
    assert small != fresh
    _settle(qtbot, window, big)
    assert _geometry(window) == fresh
    assert abs(window.view.zoom() - fresh_zoom) < 1e-6  # still fitted


def test_reset_layout_and_a_squeezed_saved_layout(window, qtbot):
    _settle(qtbot, window, QSize(1400, 900))
    fresh = _geometry(window)
    window.palette_dock.setFloating(True)
    window.problems_dock.hide()
    window.dock_layout.fractions.update(left=0.3, right=0.45, bottom=0.45)
    window.dock_layout.apply()
    assert _geometry(window) != fresh
    window.action_registry.reset_layout.trigger()
    qtbot.wait(50)
    assert not window.palette_dock.isFloating() and window.problems_dock.isVisible()
    assert _geometry(window) == fresh
    # A layout saved from a squeezed window: its panels come back at sane sizes.
    settings = app_settings()
    settings.setValue("window/fractions", '{"left": 0.9, "right": 0.01, "bottom": 0.99}')
    window.restore_layout()
    assert window.dock_layout.fractions["left"] <= 0.3
    assert window.dock_layout.fractions["right"] >= 0.14
    assert window.dock_layout.fractions["bottom"] <= 0.45


def test_train_at_1024x700_clips_no_panel_and_gives_the_curves_room(window, qtbot):
    window.files.load_template(REPO_ROOT / "templates" / "lenet5.json", ask=False)
    _settle(qtbot, window, QSize(1024, 700))
    controller = window.training
    with qtbot.waitSignal(controller.run_started, timeout=60_000):
        window.training_ui.actions["train"].trigger()
    try:
        for _ in range(5):
            QApplication.processEvents()
            qtbot.wait(20)
        panel = controller.panel
        scroll = panel.settings_scroll
        assert scroll.widget().width() <= scroll.viewport().width()  # nothing cut off at the right
        assert panel.width() >= panel.minimumSizeHint().width()
        # Stop and the progress stay in view above the settings, which show several rows.
        for widget in (panel.stop_button, panel.progress, panel.progress_label):
            assert widget.isVisible() and not widget.visibleRegion().isEmpty()
            bottom = widget.mapTo(panel, widget.rect().bottomLeft()).y()
            assert bottom <= panel.height()
        assert scroll.viewport().height() >= 5 * panel.epochs_spin.height()
        monitor, problems = window.training_ui.monitor_dock, window.problems_dock
        # The curves get the larger share; Problems and the canvas stay usable.
        assert monitor.width() >= 0.5 * (monitor.width() + problems.width())
        assert problems.width() >= 175
        assert window.view.height() >= 0.4 * window.height()
        plots = controller.monitor.plot
        # Short titles: the right-hand column (epoch loss, learning rate) keeps its share.
        for right in (plots.val_plot, plots.lr_plot):
            assert right.geometry().width() >= 0.3 * plots.graphics.width()
        # Every plot whole inside the view: none cut at the right.
        qtbot.wait(20)
        for plot in (plots.loss_plot, plots.val_plot, plots.metric_plot, plots.lr_plot):
            right_edge = plot.mapRectToScene(plot.boundingRect()).right()
            assert right_edge <= plots.graphics.viewport().width()
    finally:
        controller.stop()
        qtbot.waitUntil(lambda: not controller.is_running, timeout=60_000)


def test_opening_a_monitor_tab_gives_it_a_readable_height(window, qtbot):
    window.files.load_template(REPO_ROOT / "templates" / "lenet5.json", ask=False)
    window.install_training()
    _settle(qtbot, window, QSize(1366, 768))
    controller = window.training
    dock, monitor = window.training_ui.monitor_dock, controller.monitor
    dock.show()
    dock.raise_()
    _settle(qtbot, window, QSize(1366, 768))
    short = dock.height()
    assert short < 200  # the default bottom row: a strip for a plot or a log
    monitor.setCurrentWidget(monitor.history)  # the user clicks the Runs tab
    _settle(qtbot, window, QSize(1366, 768))
    assert dock.height() >= 0.4 * window.height()
    assert window.view.height() >= 0.3 * window.height()  # the canvas keeps its share

"""Window-level behaviour: menus and shortcuts, undo texts, title, view actions, the place the
training panel plugs into, and starting the program (``--screenshot``)."""

from __future__ import annotations

import os
import subprocess
import sys

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDockWidget, QLabel

from tests.gui import fixtures_window
from tests.gui.fixtures_window import REPO_ROOT, TEMPLATES

window = fixtures_window.window
data_dir = fixtures_window.data_dir
LENET = next(p for p in TEMPLATES if p.stem == "lenet5")


def _menu(window, title: str):
    for action in window.menuBar().actions():
        if action.text().replace("&", "") == title:
            return action.menu()
    raise AssertionError(f"no {title} menu")


def test_menus_hold_the_standard_commands(window):
    edit = [a.text().replace("&", "") for a in _menu(window, "Edit").actions() if a.text()]
    for name in ("Undo", "Redo", "Cut", "Copy", "Paste", "Duplicate", "Delete", "Select All"):
        assert any(t.startswith(name) for t in edit), (name, edit)
    assert window.action_registry.undo.shortcut() == QKeySequence(QKeySequence.StandardKey.Undo)
    assert window.action_registry.copy.shortcut() == QKeySequence(QKeySequence.StandardKey.Copy)
    assert window.action_registry.save.shortcut() == QKeySequence(QKeySequence.StandardKey.Save)
    assert isinstance(window.actions(), list)  # QWidget.actions() is Qt's, not shadowed
    export = [a.text().replace("&", "") for a in _menu(window, "Export").actions() if a.text()]
    assert export[:4] == ["ONNX…", "Python Code…", "Weights…", "Picture (PNG/SVG)…"]
    assert export[4:6] == ["Training Script…", "Training Notebook…"]
    assert _menu(window, "Run") is window.run_menu
    toolbar_icons = [a for a in window.main_toolbar.actions() if not a.isSeparator()]
    assert toolbar_icons and all(not a.icon().isNull() for a in toolbar_icons)


def test_undo_redo_texts_and_title_follow_the_stack(window):
    assert not window.action_registry.undo.isEnabled()
    assert window.windowTitle() == "untitled[*] — DL Studio"
    node_id = window.add_layer_at_center("dense")
    name = window.document.graph.node(node_id).name
    assert window.action_registry.undo.isEnabled()
    assert window.action_registry.undo.text() == f"&Undo add {name}"
    assert window.isWindowModified()
    window.action_registry.undo.trigger()
    assert window.action_registry.redo.text() == f"&Redo add {name}"
    assert not window.isWindowModified()
    window.action_registry.redo.trigger()
    assert node_id in window.document.graph


def test_view_and_layout_actions(window):
    window.files.load_template(LENET, ask=False)
    window.action_registry.layout_lr.trigger()
    assert window.scene.flow == "LR"
    graph = window.document.graph
    assert graph.metadata["layout_direction"] == "LR"
    forward = [
        e
        for e in graph.edges
        if graph.node(e.dst.node).position[0] > graph.node(e.src.node).position[0]
    ]
    assert len(forward) >= len(graph.edges) - 3  # left to right (a long model folds in rows)
    window.action_registry.undo.trigger()
    assert window.scene.flow == "TB" and "layout_direction" not in graph.metadata
    window.action_registry.layout_tb.trigger()
    assert window.scene.flow == "TB"
    before = window.view.zoom()
    window.action_registry.zoom_in.trigger()
    assert window.view.zoom() > before
    window.action_registry.snap.setChecked(False)
    assert window.scene.snap_to_grid is False
    window.action_registry.select_all.trigger()
    assert len(window.scene.selected_node_ids()) == len(window.document.graph)
    window.action_registry.check.trigger()
    assert window.problems_dock.isVisible()


def test_status_bar_shows_parameters_and_state(window):
    window.files.load_template(LENET, ask=False)
    assert window.params_label.text() == "61,706 parameters"
    assert "ready" in window.problems_label.text()


def test_training_panel_plugs_in_as_a_side_dock(window, qtbot):
    dock = QDockWidget("Training", window)
    dock.setObjectName("dock_training")
    dock.setWidget(QLabel("training"))
    window.add_side_dock(dock)
    qtbot.waitUntil(lambda: dock in window.tabifiedDockWidgets(window.code_dock))
    assert dock.toggleViewAction() in window.action_registry.menus["panels"].actions()
    window.run_menu.addAction("Train")
    assert "Train" in [a.text() for a in window.run_menu.actions()]


def test_main_py_opens_a_file_and_saves_a_screenshot(data_dir, tmp_path):
    # A separate process: the program runs its own event loop and quits it.
    shot = tmp_path / "shot.png"
    env = {**os.environ, "DLSTUDIO_DATA_DIR": str(data_dir), "QT_QPA_PLATFORM": "offscreen"}
    command = [sys.executable, "main.py", "templates/lenet5.json", "--screenshot", str(shot)]
    result = subprocess.run(
        [*command, "--size", "1200x800"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert shot.read_bytes()[:4] == b"\x89PNG"


def test_the_toolbar_has_a_labelled_train_button(window, qtbot):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QToolButton

    window.install_training()
    window.resize(1024, 700)
    qtbot.wait(50)
    train = window.training_ui.actions["train"]
    button = window.main_toolbar.widgetForAction(train)
    assert isinstance(button, QToolButton) and button.isVisible()
    assert button.toolButtonStyle() == Qt.ToolButtonStyle.ToolButtonTextBesideIcon
    assert button.text().replace("&", "") == "Train"
    # Wide enough for its word: the label is not cut.
    assert button.width() >= button.fontMetrics().horizontalAdvance("Train") + 20

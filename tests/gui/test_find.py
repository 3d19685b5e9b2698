"""Edit > Find (Ctrl+F): by name, layer type or output shape, across blocks, next/previous."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from dlstudio.analysis.tree import summary_rows
from tests.gui import fixtures_window

window = fixtures_window.shared_window
module_window = fixtures_window.module_window
data_dir = fixtures_window.data_dir
RESNET = fixtures_window.REPO_ROOT / "templates" / "resnet18.json"


def _type(window, text: str) -> None:
    edit = window.find_bar.edit
    edit.selectAll()
    QTest.keyClicks(edit, text)


def test_ctrl_f_finds_by_shape_inside_blocks_with_next_and_previous(window, qtbot):
    window.files.load_template(RESNET, ask=False)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    bar = window.find_bar
    assert bar.isVisible() and bar.edit.hasFocus()

    # "N, 512" as a student types it: every layer whose output has 512 channels (or features).
    _type(window, "N, 512")
    rows = summary_rows(window.document.graph, window.document.analysis)
    expected = []
    for row in rows:  # the Summary's own rows, each layer once
        shape = " ".join(str(s) for s in row.outputs)
        if row.node is not None and "(N, 512" in shape and row.location not in expected:
            expected.append(row.location)
    assert [m.location for m in bar.matches] == expected
    assert any(len(loc) > 1 for loc in expected)  # some are inside layer4's blocks
    assert bar.count_label.text() == f"{len(expected)} found"

    QTest.keyClick(bar.edit, Qt.Key.Key_Return)  # the first match
    first = bar.matches[0]
    assert window.level.path == first.location[:-1]
    assert window.scene.selected_node_ids() == [first.location[-1]]
    assert bar.count_label.text() == f"1 of {len(expected)}"
    QTest.keyClick(bar.edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)  # wraps
    last = bar.matches[-1]
    assert window.level.path == last.location[:-1]
    assert window.scene.selected_node_ids() == [last.location[-1]]

    # By layer type and by name; a miss says so.
    _type(window, "batchnorm")
    assert bar.matches and all(m.type_label == "BatchNorm2d" for m in bar.matches)
    _type(window, "fc")
    assert [m.path for m in bar.matches] == ["fc"]
    _type(window, "no such layer")
    assert bar.matches == [] and bar.count_label.text() == "no match"
    QTest.keyClick(bar.edit, Qt.Key.Key_Escape)
    assert not bar.isVisible()


def test_the_minimap_shows_when_the_graph_does_not_fit_and_moves_the_canvas(window, qtbot):
    window.files.load_template(RESNET, ask=False)
    window.resize(1366, 768)
    qtbot.wait(50)
    window.fit_view()
    qtbot.wait(50)
    minimap, view = window.minimap, window.view
    assert not minimap.isVisible()  # everything in view: no overview needed
    view.set_zoom(2.0)
    view.center_on_node(window.document.graph.node_by_name("image").id)
    qtbot.waitUntil(minimap.isVisible, timeout=1000)
    # Click on fc in the overview: the canvas moves there.
    fc = window.scene.node_item(window.document.graph.node_by_name("fc").id)
    target = fc.sceneBoundingRect().center()
    QTest.mouseClick(
        minimap.viewport(),
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
        minimap.mapFromScene(target),
    )
    centre = view.mapToScene(view.viewport().rect().center())
    assert (centre - target).manhattanLength() < 40
    assert minimap.visible_rect().contains(target) and view.zoom() == 2.0
    window.action_registry.by_name["minimap"].setChecked(False)  # View > Minimap off
    assert not minimap.isVisible()

"""Blocks in the editor: group a residual branch, edit inside (every copy follows), undo it all;
the breadcrumb, Back and Esc; ungroup; the instance node's drawing."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLineEdit

from dlstudio.core import dumps_project
from dlstudio.gui.canvas.block_item import BlockNodeItem
from tests.gui import fixtures_window
from tests.gui.fixtures_window import type_into
from tests.gui.gui_block_models import block_model, nested_model, residual_model

window = fixtures_window.shared_window
module_window = fixtures_window.module_window
data_dir = fixtures_window.data_dir


def _open(window, graph):
    window.document.replace_graph(graph)
    window.document.reanalyze()


def _double_click(window, node_id):
    item = window.scene.node_item(node_id)
    window.view.centerOn(item)
    pos = window.view.mapFromScene(item.sceneBoundingRect().center())
    QTest.mouseDClick(
        window.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos
    )


def _ids(graph, *names):
    return [graph.node_by_name(n).id for n in names]


def test_group_residual_branch_edit_inside_then_undo_everything(window, qtbot):
    graph = residual_model()
    original = dumps_project(graph)
    _open(window, graph)
    doc, scene = window.document, window.scene
    total = doc.analysis.total_params
    branch = _ids(graph, "conv_a", "relu_a", "conv_b", "add")
    scene.select_nodes(branch)
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)  # Ctrl+G
    assert list(doc.blocks) == ["Block"]
    instance = next(n for n in graph if n.type_id == "block")
    assert scene.selected_node_ids() == [instance.id]
    assert all(n not in graph for n in branch)
    assert doc.analysis.total_params == total  # the same layers, now in a block
    assert not doc.analysis.diagnostics
    item = scene.node_item(instance.id)
    assert isinstance(item, BlockNodeItem) and "Block" in item.toolTip()
    assert item.count_text == "1,168 params" and item.badge_text == ""

    # Repeat it twice and rename the definition in the properties panel (each one undo step).
    properties = window.properties
    assert properties.node_id == instance.id
    type_into(properties.editors["repeat"].editor, "2")
    assert instance.params["repeat"] == 2 and item.badge_text == "×2"
    type_into(properties.definition_edit, "ResBlock")
    assert list(doc.blocks) == ["ResBlock"] and instance.params["block"] == "ResBlock"
    assert doc.analysis.total_params == total + 1168

    # Double-click opens the definition; the breadcrumb names where we are.
    _double_click(window, instance.id)
    level = window.level
    assert level.path == (instance.id,) and level.definition == "ResBlock"
    bar = window.blocks_ui.breadcrumb
    assert bar.crumbs() == ["residual", instance.name, "ResBlock"] and not bar.isHidden()
    inner = doc.blocks["ResBlock"].graph
    assert {i.node.id for i in scene.node_items()} == set(inner.nodes)
    conv_a = inner.node_by_name("conv_a")
    wire = scene.edge_item(inner.edges_into(conv_a.id)[0])
    assert "8, 8, 8" in wire.label  # shapes inside come from the instance's analysis

    # A parameter changed inside applies to both copies (and every other instance).
    scene.select_nodes([conv_a.id])
    assert properties.node_id == conv_a.id
    properties.editors["bias"].editor.setChecked(False)
    assert doc.blocks["ResBlock"].graph.node(conv_a.id).params["bias"] is False
    info = doc.analysis.nodes[instance.id]
    assert [c.total_params for c in info.children] == [1160, 1160]
    assert doc.analysis.total_params == total + 1168 - 16
    assert scene.node_item(conv_a.id).count_text == "576 params"

    # Esc returns to the model; undo everything returns the original file, byte for byte.
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key.Key_Escape)
    assert level.path == () and bar.isHidden()
    assert {i.node.id for i in scene.node_items()} == set(graph.nodes)
    while doc.undo_stack.can_undo:
        doc.undo()
    assert dumps_project(doc.graph) == original
    assert {i.node.id for i in scene.node_items()} == set(graph.nodes)
    assert doc.analysis.total_params == total


def test_breadcrumb_back_and_crumbs_through_nested_blocks(window, qtbot):
    graph = nested_model()
    _open(window, graph)
    level, scene, bar = window.level, window.scene, window.blocks_ui.breadcrumb
    stage1 = graph.node_by_name("stage1").id
    assert bar.isHidden()
    assert scene.open_block(stage1)
    unit = graph.blocks["Stage"].graph.node_by_name("unit").id
    assert scene.node_item(unit) is not None
    _double_click(window, unit)
    assert level.path == (stage1, unit)
    assert bar.crumbs() == ["deep", "stage1", "Stage", "unit", "BasicBlock"]
    # crumbs replaced on the way down wait for deletion: none of them may still show
    from PySide6.QtWidgets import QApplication, QToolButton

    QApplication.processEvents()  # shows the new crumbs (it runs no deferred deletes)
    shown = [b.text() for b in bar.findChildren(QToolButton) if b.isVisible()]
    assert shown == ["◀ Back", *bar.crumbs()]
    assert scene.node_item(graph.blocks["BasicBlock"].graph.node_by_name("conv1").id)
    bar.crumb_button(2).click()  # "Stage": one level up
    assert level.path == (stage1,)
    assert scene.node_item(unit) is not None
    _double_click(window, unit)
    bar.back_button.click()
    assert level.path == (stage1,)
    bar.crumb_button(1).click()  # the instance's name: its graph, with it selected
    assert level.path == () and scene.selected_node_ids() == [stage1]
    scene.open_block(stage1)
    window.action_registry.back.trigger()
    assert level.path == ()
    scene.open_block(stage1)
    bar.crumb_button(0).click()  # the model
    assert level.path == ()


def test_undo_that_removes_the_open_block_returns_to_the_model(window, qtbot):
    graph = residual_model()
    _open(window, graph)
    scene = window.scene
    scene.select_nodes(_ids(graph, "conv_a", "relu_a", "conv_b", "add"))
    instance = scene.group_selection("Residual")
    assert scene.open_block(instance)
    window.document.undo()  # the group: its definition and instance go
    assert window.level.path == () and "Residual" not in window.document.blocks
    assert {i.node.id for i in scene.node_items()} == set(graph.nodes)
    window.document.redo()
    assert window.level.path == ()
    assert scene.open_block(instance)


def test_edit_inside_that_breaks_an_instance_is_refused(window, qtbot):
    graph = block_model(repeat=1)
    _open(window, graph)
    scene = window.scene
    scene.open_block(graph.node_by_name("layer1").id)
    inner = window.document.blocks["BasicBlock"].graph
    before = dumps_project(window.document.graph)
    scene.select_nodes([inner.node_by_name("x").id])  # the input port is wired outside
    with qtbot.waitSignal(scene.status_message):
        scene.delete_selection()
    assert dumps_project(window.document.graph) == before
    assert not window.document.undo_stack.can_undo


def test_ungroup_replaces_instances_by_their_layers(window, qtbot):
    graph = block_model(repeat=2)
    _open(window, graph)
    doc, scene = window.document, window.scene
    total = doc.analysis.total_params
    layer1 = graph.node_by_name("layer1").id
    scene.select_nodes([layer1])
    window.view.setFocus()
    QTest.keyClick(
        window.view,
        Qt.Key.Key_G,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert layer1 not in graph
    names = {n.name for n in graph}
    assert {"conv1_0", "conv1_1", "bn2_1", "relu2_1"} <= names
    assert doc.analysis.total_params == total and not doc.analysis.diagnostics
    assert len(scene.selected_node_ids()) == 14
    doc.undo()
    assert layer1 in graph and scene.node_item(layer1) is not None


def test_context_menu_offers_open_group_and_ungroup(window, qtbot):
    from dlstudio.gui.canvas.menus import context_menu

    graph = block_model()
    _open(window, graph)
    scene = window.scene
    layer1 = scene.node_item(graph.node_by_name("layer1").id)
    menu = context_menu(scene, layer1.sceneBoundingRect().center())
    actions = {a.objectName(): a for a in menu.actions()}
    assert actions["open_block"].text() == "Open BasicBlock"
    assert actions["ungroup"].isEnabled() and actions["group"].isEnabled()
    actions["open_block"].trigger()
    assert window.level.path == (layer1.node.id,)
    window.level.go_top()
    stem = scene.node_item(graph.node_by_name("stem").id)
    menu = context_menu(scene, stem.sceneBoundingRect().center())
    actions = {a.objectName(): a for a in menu.actions()}
    assert not actions["ungroup"].isEnabled() and "open_block" not in actions
    actions["group"].trigger()
    assert "Block" in window.document.blocks


def test_instance_node_shows_definition_key_params_count_and_badge(window, qtbot):
    graph = block_model(repeat=3)
    _open(window, graph)
    item = window.scene.node_item(graph.node_by_name("layer1").id)
    assert isinstance(item, BlockNodeItem)
    assert item.definition_name == "BasicBlock" and item.badge_text == "×3"
    assert item.key_text == "8ch"  # compact: in_channels (said by the wire) left out
    assert item.count_text == f"{3 * 1200:,} params"
    assert set(item.ports) == {("in", False), ("out", True)}
    assert item.boundingRect().width() > 190  # the stacked copies behind it


def test_copy_and_paste_block_instances(window, qtbot):
    import pytest

    from dlstudio.core import GraphEditError
    from dlstudio.gui.canvas import editing

    graph = block_model()
    _open(window, graph)
    scene = window.scene
    layer1 = graph.node_by_name("layer1").id
    scene.select_nodes([layer1])
    (copy_id,) = scene.duplicate_selection()
    copy = graph.node(copy_id)
    assert copy.type_id == "block" and copy.params == graph.node(layer1).params
    assert isinstance(scene.node_item(copy_id), BlockNodeItem)
    payload = editing.copy_payload(graph, [layer1], graph.blocks)
    with pytest.raises(GraphEditError, match="block 'BasicBlock'"):
        editing.paste_command(residual_model(), payload, blocks={})


def test_group_and_ungroup_inside_a_block_nest_blocks(window, qtbot):
    graph = block_model(repeat=2)
    _open(window, graph)
    doc, scene = window.document, window.scene
    total = doc.analysis.total_params
    before = dumps_project(graph)
    scene.open_block(graph.node_by_name("layer1").id)
    inner = doc.blocks["BasicBlock"].graph
    scene.select_nodes(_ids(inner, "bn1", "relu"))
    nested = scene.group_selection("BnRelu")
    assert nested in inner and inner.node(nested).params == {"block": "BnRelu"}
    assert scene.selected_node_ids() == [nested]
    assert doc.analysis.total_params == total and not doc.analysis.diagnostics
    assert scene.open_block(nested)
    assert window.blocks_ui.breadcrumb.crumbs()[-2:] == [inner.node(nested).name, "BnRelu"]
    window.blocks_ui.go_back()
    scene.select_nodes([nested])
    assert scene.ungroup_selection()
    assert {"bn1", "relu"} <= {n.name for n in inner}
    while doc.undo_stack.can_undo:
        doc.undo()
    assert dumps_project(doc.graph) == before


def test_escape_in_the_rename_editor_inside_a_block_cancels_only_the_rename(window, qtbot):
    graph = block_model()
    _open(window, graph)
    window.scene.open_block(graph.node_by_name("layer1").id)
    conv1 = window.document.blocks["BasicBlock"].graph.node_by_name("conv1")
    window.view.start_rename(conv1.id)
    editor = next(e for e in window.view.findChildren(QLineEdit) if e.isVisible())
    QTest.keyClicks(editor, "x")
    QTest.keyClick(editor, Qt.Key.Key_Escape)
    assert conv1.name == "conv1"
    assert window.level.path == (graph.node_by_name("layer1").id,)  # still inside
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key.Key_Escape)
    assert window.level.path == ()


def test_an_optional_layer_is_chosen_in_the_properties_and_undone(window, qtbot) -> None:
    """Inside BasicBlock the downsample is "only when downsample"; making it always there
    changes every instance that had it off, and undo brings the document back."""
    from dlstudio.core import loads_project
    from dlstudio.layers.validation import check_node

    path = Path(__file__).resolve().parents[2] / "templates" / "resnet-cifar.json"
    graph = loads_project(path.read_text(encoding="utf-8"), node_checker=check_node)
    window.document.replace_graph(graph)
    window.document.reanalyze()
    doc, scene, properties = window.document, window.scene, window.properties
    original, total = dumps_project(doc.graph), doc.analysis.total_params
    layer1 = doc.graph.node_by_name("layer1")
    _double_click(window, layer1.id)
    inner = doc.blocks["BasicBlock"].graph
    downsample = inner.node_by_name("downsample")
    scene.select_nodes([downsample.id])
    box = properties.condition_box
    assert box is not None and box.currentText() == "downsample"
    assert [box.itemText(i) for i in range(box.count())] == [
        "always",
        "downsample",
        "not downsample",
    ]
    box.setCurrentIndex(0)  # always: layer1's shortcut gets its 1x1 convolution too
    assert inner.node(downsample.id).when is None
    assert doc.analysis.total_params == total + 16 * 16 + 2 * 16
    while doc.undo_stack.can_undo:
        doc.undo()
    assert dumps_project(doc.graph) == original


def test_an_optional_layer_says_so_on_the_canvas(window) -> None:
    from dlstudio.core import loads_project
    from dlstudio.layers.validation import check_node

    path = Path(__file__).resolve().parents[2] / "templates" / "resnet18.json"
    graph = loads_project(path.read_text(encoding="utf-8"), node_checker=check_node)
    window.document.replace_graph(graph)
    window.document.reanalyze()
    _double_click(window, graph.node_by_name("layer1").id)
    inner = window.document.blocks["BasicBlock"].graph
    item = window.scene.node_item(inner.node_by_name("downsample").id)
    assert item.label_text.endswith("if downsample")
    assert "Only when downsample" in item.toolTip()
    assert window.scene.node_item(inner.node_by_name("conv1").id).label_text == "Conv2d"


def _view_state(window) -> tuple[float, float, float]:
    view = window.view
    centre = view.mapToScene(view.viewport().rect().center())
    return round(view.zoom(), 3), centre.x(), centre.y()


def test_leaving_a_block_restores_the_outer_zoom_and_position(window, qtbot):
    window.files.load_template(fixtures_window.REPO_ROOT / "templates" / "resnet18.json", ask=False)
    window.resize(1366, 768)
    qtbot.wait(100)
    layer2 = window.document.graph.node_by_name("layer2").id

    def round_trip() -> tuple[float, float, float]:
        inside_before = _view_state(window)
        assert window.scene.open_block(layer2)
        qtbot.waitUntil(lambda: window.level.path == (layer2,))
        qtbot.wait(50)
        assert _view_state(window)[0] != inside_before[0]  # the block fits at its own zoom
        assert window.blocks_ui.go_back()
        qtbot.wait(300)
        return _view_state(window)

    # Left fitted: comes back fitted to the whole model.
    window.fit_view()
    after = round_trip()
    assert window.view.fitted
    window.fit_view()
    assert after == _view_state(window)
    # Left zoomed in on layer2: comes back at that zoom, there.
    window.view.set_zoom(1.3)
    window.view.centerOn(window.scene.node_item(layer2))
    before = _view_state(window)
    after = round_trip()
    assert not window.view.fitted and after[0] == before[0] == 1.3
    assert abs(after[1] - before[1]) < 3 and abs(after[2] - before[2]) < 3

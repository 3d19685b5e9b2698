"""Blocks in the panels: the palette's Blocks section (project and library), the Problems jump
into a block, the summary tree, inserting a project as a block."""

from __future__ import annotations

from PySide6.QtCore import QPointF

from dlstudio.core import dumps_project, save_project
from dlstudio.gui.blocks import library
from tests.gui import fixtures_window
from tests.gui.fixtures_window import drop_from_palette
from tests.gui.gui_block_models import basic_block, block_model, residual_model

window = fixtures_window.shared_window
module_window = fixtures_window.module_window
data_dir = fixtures_window.data_dir


def _open(window, graph):
    window.document.replace_graph(graph)
    window.document.reanalyze()


def _drop_block(window, source, name, monkeypatch):
    """Drop the palette's real payload for a block on the canvas (via the layer helper)."""
    palette = window.palette_panel
    monkeypatch.setattr(palette, "mime_data_for", lambda _t: palette.block_mime_data(source, name))
    return drop_from_palette(window, name, QPointF(600, 400))


def test_palette_blocks_section_lists_project_and_library_and_drops_add_them(
    window, qtbot, monkeypatch
):
    vgg = basic_block("VGGBlock")
    monkeypatch.setattr(library, "library_blocks", lambda: {"VGGBlock": vgg})
    graph = block_model()
    _open(window, graph)
    palette = window.palette_panel
    assert palette.visible_blocks() == [("project", "BasicBlock"), ("library", "VGGBlock")]
    assert "library" in palette.block_item_for("library", "VGGBlock").text(0)
    palette.search.setText("vgg")
    assert palette.visible_blocks() == [("library", "VGGBlock")]
    palette.search.clear()

    before = dumps_project(window.document.graph)
    node_id = _drop_block(window, "library", "VGGBlock", monkeypatch)
    doc = window.document
    assert "VGGBlock" in doc.blocks and doc.graph.node(node_id).params["block"] == "VGGBlock"
    assert doc.blocks["VGGBlock"] is not vgg  # the project holds its own copy
    assert ("project", "VGGBlock") in palette.visible_blocks()
    doc.undo()  # definition and instance: one step
    assert dumps_project(doc.graph) == before
    assert palette.visible_blocks() == [("project", "BasicBlock"), ("library", "VGGBlock")]

    node_id = _drop_block(window, "project", "BasicBlock", monkeypatch)
    instances = [n for n in doc.graph if n.params.get("block") == "BasicBlock"]
    assert len(instances) == 2 and list(doc.blocks) == ["BasicBlock"]
    assert window.scene.selected_node_ids() == [node_id]


def test_palette_blocks_section_works_without_a_library(window, monkeypatch):
    monkeypatch.setattr(library, "library_blocks", lambda: {})
    _open(window, residual_model())
    assert window.palette_panel.visible_blocks() == []
    assert library.decode_block(library.encode_block("library", "X")) == ("library", "X")
    assert library.decode_block(b"nonsense") is None


def test_problem_inside_a_block_opens_it_and_selects_the_inner_node(window, qtbot):
    graph = block_model(repeat=2)
    graph.blocks["BasicBlock"].graph.node_by_name("conv2").params["out_channels"] = 4
    _open(window, graph)
    problems = window.problems
    errors = [d for d in problems.diagnostics if d.is_error]
    assert errors and errors[0].path.startswith("layer1.0.")
    row = next(i for i in range(problems.topLevelItemCount()) if problems.topLevelItem(i).text(1))
    item = problems.topLevelItem(row)
    diagnostic = problems.diagnostics[row]
    assert item.text(1) == diagnostic.path
    layer1 = graph.node_by_name("layer1").id
    assert window.scene.node_item(layer1).severity == "error"  # red from outside too
    problems.itemClicked.emit(item, 0)
    inner_id = diagnostic.location[-1]
    assert window.level.path == (layer1,)
    assert window.scene.selected_node_ids() == [inner_id]
    assert window.scene.node_item(inner_id).severity == "error"
    assert window.properties.node_id == inner_id
    # A problem of the top graph leaves the block again.
    graph.node_by_name("fc").params["units"] = 0
    window.document.reanalyze()
    top = next(d for d in problems.diagnostics if len(d.location) <= 1 and d.node_id)
    index = problems.diagnostics.index(top)
    problems.itemClicked.emit(problems.topLevelItem(index), 0)
    assert window.level.path == () and window.scene.selected_node_ids() == [top.node_id]


def test_summary_tree_expands_instances_into_copies_and_layers(window, qtbot):
    graph = block_model(repeat=2)
    _open(window, graph)
    summary = window.summary
    rows = summary.top_level_items()
    assert [r.text(0) for r in rows] == [
        "image",
        "stem",
        "layer1",
        "flat",
        "fc",
        "output",
        "Total",
    ]
    assert rows[-1].text(1) == "6 layers"
    assert rows[-1].text(3) == f"{window.document.analysis.total_params:,}"
    layer1 = rows[2]
    assert layer1.text(1) == "BasicBlock ×2" and layer1.text(3) == "2,400"
    copies = [layer1.child(i) for i in range(layer1.childCount())]
    assert [c.text(0) for c in copies] == ["layer1.0", "layer1.1"]
    assert [c.text(3) for c in copies] == ["1,200", "1,200"]
    inner = [copies[1].child(i).text(0) for i in range(copies[1].childCount())]
    assert inner == ["conv1", "bn1", "relu", "conv2", "bn2", "add", "relu2"]
    conv1 = copies[0].child(0)
    assert conv1.text(3) == "584" and conv1.text(2) == "(N, 8, 8, 8)"
    assert conv1.toolTip(0) == "layer1.0.conv1"
    # Clicking an inner row opens the block with that layer selected; selecting on the
    # canvas selects the row.
    summary.tree.itemClicked.emit(conv1, 0)
    inner_conv1 = graph.blocks["BasicBlock"].graph.node_by_name("conv1").id
    assert window.level.path == (graph.node_by_name("layer1").id,)
    assert window.scene.selected_node_ids() == [inner_conv1]
    assert summary.tree.currentItem() is conv1
    # Expanded rows stay expanded when the analysis is redone.
    layer1.setExpanded(True)
    window.document.reanalyze()
    assert summary.top_level_items()[2].isExpanded()


def test_summary_highlights_every_selected_layer(window, qtbot):
    graph = block_model(repeat=2)
    _open(window, graph)
    summary = window.summary
    names = ("stem", "flat", "fc")
    window.scene.select_nodes(graph.node_by_name(n).id for n in names)
    selected = {item.text(0) for item in summary.tree.selectedItems()}
    assert selected == set(names)
    window.scene.select_nodes([graph.node_by_name("fc").id])
    assert [item.text(0) for item in summary.tree.selectedItems()] == ["fc"]
    window.scene.select_nodes([])
    assert summary.tree.selectedItems() == []


def test_insert_project_as_block_with_weights_is_one_undo_step(window, qtbot, tmp_path):
    project = residual_model()
    path = tmp_path / "residual.json"
    save_project(project, path)
    _open(window, block_model())
    doc = window.document
    before = dumps_project(doc.graph)
    total = doc.analysis.total_params
    node_id = window.blocks_ui.insert_project(path, tmp_path / "residual.safetensors")
    assert node_id is not None
    node = doc.graph.node(node_id)
    assert node.params == {"block": "Residual", "weights": str(tmp_path / "residual.safetensors")}
    assert "Residual" in doc.blocks and ("project", "Residual") in (
        window.palette_panel.visible_blocks()
    )
    assert window.scene.selected_node_ids() == [node_id]
    doc.undo()
    assert dumps_project(doc.graph) == before and doc.analysis.total_params == total
    assert window.blocks_ui.insert_project(tmp_path / "missing.json") is None
    assert "Cannot insert missing.json" in window.statusBar().currentMessage()


def test_properties_edit_block_parameters_and_inner_expressions(window, qtbot):
    from dlstudio.gui.blocks.properties_rows import ExpressionEditor
    from tests.gui.fixtures_window import type_into

    graph = block_model(repeat=1)
    _open(window, graph)
    properties, scene = window.properties, window.scene
    layer1 = graph.node_by_name("layer1")
    scene.select_nodes([layer1.id])
    assert set(properties.editors) == {"repeat", "channels"}  # generated from the definition
    assert properties.definition_edit.text() == "BasicBlock"
    type_into(properties.editors["channels"].editor, "16")
    assert layer1.params["channels"] == 16
    window.document.undo()
    type_into(properties.definition_edit, "not a name")  # refused: the real name comes back
    assert properties.definition_edit.text() == "BasicBlock"
    assert list(window.document.blocks) == ["BasicBlock"]

    scene.open_block(layer1.id)
    conv1 = window.document.blocks["BasicBlock"].graph.node_by_name("conv1")
    scene.select_nodes([conv1.id])
    editor = properties.editors["out_channels"]
    assert isinstance(editor, ExpressionEditor) and editor.editor.text() == "=channels"
    type_into(editor.editor, "=channels +")
    assert editor.error and conv1.params["out_channels"] == "=channels"
    type_into(editor.editor, "=channels * 1")
    assert conv1.params["out_channels"] == "=channels * 1"
    type_into(properties.editors["out_channels"].editor, "8")  # a plain value replaces it
    assert conv1.params["out_channels"] == 8
    assert not isinstance(properties.editors["out_channels"], ExpressionEditor)
    window.document.undo()
    assert isinstance(properties.editors["out_channels"], ExpressionEditor)


def test_fix_of_a_problem_inside_a_block_repairs_the_definition(window, qtbot):
    from dlstudio.core.blocks import BlockDefinition
    from tests.gui.gui_block_models import Builder

    head = Builder("Head")
    x = head.layer("input", "x", shape=(8, 8, 8))
    y = head.layer("dense", "fc", x, units=10)  # needs a Flatten first
    head.layer("output", "out", y)
    b = Builder("model")
    x = b.layer("input", "image", shape=(8, 8, 8))
    y = b.layer("block", "head", x, block="Head")
    b.layer("output", "output", y)
    b.graph.blocks["Head"] = BlockDefinition("Head", head.laid_out())
    graph = b.laid_out()
    _open(window, graph)
    before = dumps_project(graph)
    problems = window.problems
    row = next(i for i, d in enumerate(problems.diagnostics) if d.fixes)
    assert problems.diagnostics[row].path == "head.fc"
    problems.fix_button_for(row).click()
    inner = window.document.blocks["Head"].graph
    assert [n.type_id for n in inner].count("flatten") == 1
    assert not window.document.analysis.has_errors
    assert window.level.path == (graph.node_by_name("head").id,)
    window.document.undo()
    assert dumps_project(window.document.graph) == before

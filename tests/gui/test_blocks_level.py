"""``DocumentLevel``: the graph of the tree the canvas shows, kept valid through edits and undo."""

from __future__ import annotations

from dlstudio.core import Disconnect, RenameNode, SetParam
from dlstudio.core.block_commands import RenameDefinition
from dlstudio.gui.blocks import DocumentLevel
from dlstudio.gui.canvas import GraphScene
from dlstudio.gui.document import Document
from tests.gui.gui_block_models import block_model, nested_model


def _level(qtbot, graph):
    document = Document(graph)
    level = DocumentLevel(document)
    scene = GraphScene(level)
    return document, level, scene


def test_edits_through_the_level_go_inside_and_undo_as_one_stack(qtbot):
    graph = block_model(repeat=2)
    document, level, scene = _level(qtbot, graph)
    layer1 = graph.node_by_name("layer1").id
    assert not level.enter(graph.node_by_name("stem").id)  # not a block
    assert level.enter(layer1)
    inner = graph.blocks["BasicBlock"].graph
    assert level.graph is inner and level.definition == "BasicBlock"
    conv1 = inner.node_by_name("conv1").id
    assert level.push(SetParam(conv1, "bias", False))
    assert document.undo_stack.undo_text == "set bias in BasicBlock"
    assert document.analysis.nodes[layer1].param_count == 2 * 1192
    assert level.analysis is document.analysis.nodes[layer1].children[0]
    assert scene.node_item(conv1).count_text == "576 params"
    with qtbot.waitSignal(level.analysis_ready):
        document.undo()  # analysed on the event loop, once per batch of edits
    assert inner.node(conv1).params.get("bias", True) is True
    assert scene.node_item(conv1).count_text == "584 params"


def test_names_on_the_path_follow_renames(qtbot):
    graph = block_model()
    document, level, _scene = _level(qtbot, graph)
    layer1 = graph.node_by_name("layer1").id
    level.enter(layer1)
    changes = []
    level.level_changed.connect(lambda: changes.append(level.levels))
    document.push(RenameNode(layer1, "stage1"))
    document.push(RenameDefinition("BasicBlock", "Residual"))
    assert level.levels[0].instance_name == "stage1" and level.definition == "Residual"
    assert len(changes) == 2 and level.graph is graph.blocks["Residual"].graph


def test_an_instance_without_input_shows_its_definition_alone(qtbot):
    graph = block_model()
    document, level, scene = _level(qtbot, graph)
    layer1 = graph.node_by_name("layer1").id
    document.push(Disconnect(graph.edges_into(layer1)[0]))
    assert not document.analysis.nodes[layer1].children
    level.enter(layer1)
    result = level.analysis
    inner = graph.blocks["BasicBlock"].graph
    conv1 = inner.node_by_name("conv1").id
    assert str(result.nodes[conv1].output) == "(N, 8, 8, 8)"  # from the declared Input shape
    assert scene.node_item(conv1).count_text == "584 params"


def test_open_path_stops_at_what_no_longer_exists(qtbot):
    graph = nested_model()
    _document, level, _scene = _level(qtbot, graph)
    stage1 = graph.node_by_name("stage1").id
    unit = graph.blocks["Stage"].graph.node_by_name("unit").id
    assert level.open_path((stage1, unit)) and level.path == (stage1, unit)
    assert not level.open_path((stage1, "nope")) and level.path == (stage1,)
    assert level.go_top() and level.path == () and level.graph is graph
    assert not level.go_up()

"""The canvas scene mirrors the document and turns every edit into one undoable command."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLineEdit

from dlstudio.core import Edge, LayerGraph, LayerNode, PortRef, SetParam, dumps_project
from dlstudio.gui.canvas import LAYER_MIME, NODES_MIME, EdgeItem, GraphScene, NodeItem
from dlstudio.gui.canvas.labels import count_text, key_params_text
from dlstudio.gui.document import Document
from dlstudio.layers import get_layer_type


def _ids(graph, *names):
    return [graph.node_by_name(n).id for n in names]


def test_scene_mirrors_graph_with_shapes_and_counts(canvas):
    document, scene, _ = canvas
    graph = document.graph
    assert len(scene.node_items()) == len(graph)
    assert len(scene.edge_items()) == len(graph.edges)
    conv1 = scene.node_item(graph.node_by_name("conv1").id)
    assert conv1.key_text == "6@5x5 p2"
    assert conv1.count_text == "156 params"
    labels = {item.label for item in scene.edge_items()}
    assert "(N, 6, 28, 28)" in labels and "(N, 400)" in labels
    assert all(item.severity is None for item in scene.node_items())


def test_key_parameter_texts():
    conv = get_layer_type("conv2d")
    params = {**conv.defaults(), "out_channels": 6, "kernel_size": (5, 5), "padding": (2, 2)}
    params["stride"] = (1, 1)
    assert key_params_text(conv, params) == "6@5x5 p2"
    params["stride"] = (2, 2)
    assert key_params_text(conv, params) == "6@5x5 s2 p2"
    pool = get_layer_type("maxpool2d")
    assert key_params_text(pool, {"kernel_size": (2, 2), "stride": None, "padding": (0, 0)}) == (
        "2x2 s2"
    )
    assert key_params_text(get_layer_type("dense"), {"units": 120}) == "120 units"
    assert count_text(156) == "156 params"
    assert count_text(0) == ""
    assert count_text(11_200_000) == "11.20M params"


def test_add_layer_uses_defaults_and_unique_name(canvas, qtbot):
    document, scene, _ = canvas
    with qtbot.waitSignal(scene.selection_changed_ids) as blocker:
        node_id = scene.add_layer("conv2d", QPointF(500, 100))
    node = document.graph.node(node_id)
    assert node.name == "conv3" and node.params == {}
    assert blocker.args == [[node_id]]
    assert isinstance(scene.node_item(node_id), NodeItem)
    # Centred on the point, on the grid.
    assert node.position[0] % 20 == 0 and node.position[1] % 20 == 0
    document.undo()
    assert node_id not in document.graph and scene.node_item(node_id) is None


def test_add_unknown_layer_is_refused_with_message(canvas, qtbot):
    _, scene, _ = canvas
    with qtbot.waitSignal(scene.status_message) as blocker:
        assert scene.add_layer("convv2d", (0, 0)) is None
    assert "conv2d" in blocker.args[0]


def test_connect_and_refusals_with_reason(canvas, qtbot):
    document, scene, _ = canvas
    graph = document.graph
    conv1, relu1, conv2 = _ids(graph, "conv1", "relu1", "conv2")
    new = scene.add_layer("relu", (800, 0))
    assert scene.connect_ports((conv2, "out"), (new, "in"))
    assert Edge(PortRef(conv2, "out"), PortRef(new, "in")) in graph.edges
    cases = [
        ((new, "out"), (new, "in"), "itself"),
        ((conv1, "out"), (relu1, "in"), "already fed by conv1"),
        ((new, "out"), (conv1, "in"), "cycle"),
    ]
    for src, dst, reason in cases:
        before = dumps_project(graph)
        with qtbot.waitSignal(scene.status_message) as blocker:
            assert not scene.connect_ports(src, dst)
        assert reason in blocker.args[0]
        assert dumps_project(graph) == before


def test_delete_selection_is_one_undo_step(canvas):
    document, scene, _ = canvas
    graph = document.graph
    original = dumps_project(graph)
    scene.select_nodes(_ids(graph, "conv2", "relu2"))
    wire = graph.edges[-1]
    scene.edge_item(wire).setSelected(True)
    assert scene.delete_selection()
    assert graph.node_by_name("conv2") is None and wire not in graph.edges
    assert len(scene.node_items()) == len(graph) and len(scene.edge_items()) == len(graph.edges)
    document.undo()
    assert dumps_project(graph) == original
    assert len(scene.edge_items()) == len(graph.edges)


def test_copy_paste_brings_inner_wires_with_fresh_ids_and_names(canvas):
    document, scene, _ = canvas
    graph = document.graph
    scene.select_nodes(_ids(graph, "conv1", "relu1", "pool1"))
    assert scene.copy_selection()
    mime = QGuiApplication.clipboard().mimeData()
    payload = json.loads(bytes(mime.data(NODES_MIME).data()))
    assert len(payload["nodes"]) == 3 and len(payload["edges"]) == 2
    before_nodes, before_edges = len(graph), len(graph.edges)
    new_ids = scene.paste()
    assert len(new_ids) == 3 and len(graph) == before_nodes + 3
    assert len(graph.edges) == before_edges + 2
    names = {graph.node(i).name for i in new_ids}
    assert names == {"conv3", "relu5", "pool3"}
    assert scene.selected_node_ids() == new_ids
    old = graph.node_by_name("conv1").position
    assert graph.node_by_name("conv3").position == (old[0] + 40, old[1] + 40)
    document.undo()
    assert len(graph) == before_nodes and len(graph.edges) == before_edges


def test_paste_garbage_is_refused(canvas, qtbot):
    _, scene, _ = canvas
    data = QMimeData()
    data.setData(NODES_MIME, b'{"format": "nope"}')
    QGuiApplication.clipboard().setMimeData(data)
    with qtbot.waitSignal(scene.status_message) as blocker:
        assert scene.paste() == []
    assert blocker.args[0].startswith("Cannot paste")


def test_cut_and_duplicate(canvas):
    document, scene, _ = canvas
    graph = document.graph
    scene.select_nodes(_ids(graph, "fc3"))
    dup = scene.duplicate_selection()
    assert graph.node(dup[0]).name == "fc4"
    scene.select_nodes(dup)
    assert scene.cut_selection()
    assert dup[0] not in graph
    pasted = scene.paste(at=QPointF(1000, 1000))
    assert graph.node(pasted[0]).position == (1000, 1000)


def test_rename_freeze_and_refusals(canvas, qtbot):
    document, scene, _ = canvas
    graph = document.graph
    (conv1,) = _ids(graph, "conv1")
    assert scene.rename_node(conv1, "stem")
    assert graph.node(conv1).name == "stem"
    with qtbot.waitSignal(scene.status_message) as blocker:
        assert not scene.rename_node(conv1, "conv2")
    assert "already named" in blocker.args[0]
    assert scene.set_frozen([conv1], True)
    assert not graph.node(conv1).trainable
    assert "Frozen" in scene.node_item(conv1).toolTip()
    document.undo()
    document.undo()
    assert graph.node(conv1).name == "conv1" and graph.node(conv1).trainable


def test_inline_rename_with_f2(canvas, qtbot):
    document, scene, view = canvas
    (fc1,) = _ids(document.graph, "fc1")
    scene.select_nodes([fc1])
    view.activateWindow()
    view.setFocus()
    qtbot.waitUntil(view.hasFocus)
    qtbot.keyClick(view, Qt.Key.Key_F2)
    editors = [e for e in view.findChildren(QLineEdit, "rename_editor") if e.isVisible()]
    assert len(editors) == 1 and editors[0].text() == "fc1"
    editors[0].setText("hidden")
    qtbot.keyClick(editors[0], Qt.Key.Key_Return)
    assert document.graph.node(fc1).name == "hidden"
    # Escape cancels.
    editor = view.start_rename(fc1)
    editor.setText("other")
    qtbot.keyClick(editor, Qt.Key.Key_Escape)
    assert document.graph.node(fc1).name == "hidden" and not editor.isVisible()


def test_auto_layout_is_one_undo_step(canvas):
    document, scene, view = canvas
    graph = document.graph
    original = dumps_project(graph)
    for i, node in enumerate(list(graph)):
        graph.update_node(node.id, position=(i * 37.0, (i % 3) * 55.0))
    scrambled = dumps_project(graph)
    document.undo_stack.clear()
    assert scene.auto_layout()
    assert dumps_project(graph) != scrambled
    # The 14-node chain is too long for the 1000 x 700 view at a readable zoom: it folds into
    # a few columns, each a straight run of consecutive layers, and the view fits it.
    columns: dict[float, list[float]] = {}
    for node in graph:
        columns.setdefault(node.position[0], []).append(node.position[1])
    assert 1 < len(columns) <= 4
    tops = [min(ys) for ys in columns.values()]
    assert max(tops) - min(tops) < 1.0  # every band starts at the top
    assert view.zoom() >= 0.62
    document.undo()
    assert dumps_project(graph) == scrambled
    assert not document.undo_stack.can_undo
    assert original  # the template itself was laid out already


def test_errors_turn_node_and_wire_red_and_fix_applies(canvas, qtbot):
    document, scene, _ = canvas
    graph = document.graph
    flatten, fc1 = _ids(graph, "flatten", "fc1")
    scene.select_nodes([flatten])
    with qtbot.waitSignal(document.analysis_ready):
        scene.delete_selection()
    pool2 = graph.node_by_name("pool2").id
    with qtbot.waitSignal(document.analysis_ready):
        assert scene.connect_ports((pool2, "out"), (fc1, "in"))
    item = scene.node_item(fc1)
    assert item.severity == "error"
    assert "fc1" in item.toolTip()
    wire = scene.edge_item(graph.incoming_edge(PortRef(fc1, "in")))
    assert wire.is_error
    diagnostic = next(d for d in document.analysis.diagnostics if d.node_id == fc1)
    assert diagnostic.fixes
    with qtbot.waitSignal(document.analysis_ready):
        assert scene.apply_fix(diagnostic)
    assert item.severity is None and not wire.scene()
    assert all(not e.is_error for e in scene.edge_items())


def test_edit_updates_shape_labels(canvas, qtbot):
    document, scene, _ = canvas
    graph = document.graph
    (conv1,) = _ids(graph, "conv1")
    out = scene.edge_item(graph.edges_out_of(conv1)[0])
    with qtbot.waitSignal(document.analysis_ready):
        document.push(SetParam(conv1, "out_channels", 8))
    assert out.label == "(N, 8, 28, 28)"
    assert scene.node_item(conv1).key_text == "8@5x5 p2"


def test_drop_of_palette_mime_adds_layer(canvas, qtbot):
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtGui import QDropEvent

    document, _, view = canvas
    data = QMimeData()
    data.setData(LAYER_MIME, b"dropout")
    target = QPoint(300, 300)
    for kind in (QDropEvent.Type.DragEnter, QDropEvent.Type.DragMove, QDropEvent.Type.Drop):
        if kind == QDropEvent.Type.DragEnter:
            from PySide6.QtGui import QDragEnterEvent

            event = QDragEnterEvent(
                target, Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton, Qt.NoModifier
            )
        elif kind == QDropEvent.Type.DragMove:
            from PySide6.QtGui import QDragMoveEvent

            event = QDragMoveEvent(
                target, Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton, Qt.NoModifier
            )
        else:
            event = QDropEvent(
                QPointF(target),
                Qt.DropAction.CopyAction,
                data,
                Qt.MouseButton.LeftButton,
                Qt.NoModifier,
            )
        QGuiApplication.sendEvent(view.viewport(), event)
    node = document.graph.node_by_name("dropout1")
    assert node is not None
    centre = view.mapToScene(target)
    x, y = node.position
    # Centred on the drop point, or the nearest free spot when a node is already there.
    from dlstudio.gui.canvas.placement import overlaps

    others = [n.position for n in document.graph if n.id != node.id]
    if not any(overlaps(p, (centre.x() - 90, centre.y() - 35)) for p in others):
        assert abs(x + 90 - centre.x()) <= 20 and abs(y + 35 - centre.y()) <= 20
    else:
        assert abs(x + 90 - centre.x()) <= 400 and abs(y + 35 - centre.y()) <= 400
    assert not any(overlaps(p, (x, y), gap=0) for p in others)


def test_reset_rebuilds(canvas):
    document, scene, _ = canvas
    graph = LayerGraph("other")
    graph.insert_node(LayerNode("a", "input", "x", {}, (0, 0)))
    document.replace_graph(graph)
    assert [i.node.id for i in scene.node_items()] == ["a"]
    assert scene.edge_items() == []


def test_variadic_ports_follow_params(qtbot):
    graph = LayerGraph()
    graph.insert_node(LayerNode("m", "add", "add1", {}, (0, 0)))
    document = Document(graph)
    scene = GraphScene(document)
    item = scene.node_item("m")
    assert {k for k in item.ports if not k[1]} == {("in1", False), ("in2", False)}
    document.push(SetParam("m", "inputs", 3))
    assert ("in3", False) in item.ports
    document.undo()
    assert ("in3", False) not in item.ports


@pytest.mark.parametrize("flow", ["TB", "LR"])
def test_both_flows_attach_wires_to_ports(lenet_graph, qtbot, flow):
    scene = GraphScene(Document(lenet_graph), flow=flow)
    for item in scene.edge_items():
        assert isinstance(item, EdgeItem)
        start = item.path().pointAtPercent(0)
        assert start == item.src_item.port_scene_pos(item.edge.src.port, True)


def test_wires_say_when_a_padding_mask_travels_with_the_tensor(qtbot):
    from graph_builders import ChainBuilder

    b = ChainBuilder("padded")
    ids = b.chain(
        ("input", "tokens", {"shape": ["T"], "dtype": "int64", "vocab_size": 20}),
        ("embedding", "emb", {"num_embeddings": 20, "embedding_dim": 8}),
        ("mean_over_time", "mean", {}),
        ("output", "out", {}),
    )
    document = Document(b.graph)
    scene = GraphScene(document)
    wires = [scene.edge_item(b.graph.edges_out_of(i)[0]) for i in ids[:3]]
    assert [w.label for w in wires] == ["(N, T) int64", "(N, T, 8)", "(N, 8)"]
    with qtbot.waitSignal(document.analysis_ready):
        document.push(SetParam(ids[0], "padding_id", 0))
    assert [w.label for w in wires] == ["(N, T) int64 padded", "(N, T, 8) padded", "(N, 8)"]

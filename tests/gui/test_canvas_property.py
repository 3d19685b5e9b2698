"""Property: any sequence of canvas edits undoes back to the original file and redoes forward to
the edited one, and the scene's items always mirror the graph."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PySide6.QtCore import QPointF

from dlstudio.core import dumps_project, load_project
from dlstudio.gui.canvas import GraphScene
from dlstudio.gui.canvas.drag import MoveDrag
from dlstudio.gui.document import Document
from dlstudio.layers.validation import check_node

TEMPLATE = Path(__file__).resolve().parents[2] / "templates" / "lenet5.json"
LAYERS = ["conv2d", "relu", "dense", "flatten", "maxpool2d", "add", "dropout", "batchnorm2d"]
OPS = ["add", "connect", "delete", "duplicate", "rename", "freeze", "move", "layout", "fix"]

edits = st.lists(
    st.tuples(st.sampled_from(OPS), st.integers(0, 10_000), st.integers(0, 10_000)),
    min_size=1,
    max_size=14,
)


def _pick(items: list, k: int):
    return items[k % len(items)] if items else None


def _apply(scene: GraphScene, op: str, a: int, b: int) -> None:
    graph = scene.document.graph
    ids = list(graph.nodes)
    if op == "add":
        scene.add_layer(LAYERS[a % len(LAYERS)], QPointF(a % 700, b % 900))
    elif op == "connect" and ids:
        src, dst = graph.node(_pick(ids, a)), graph.node(_pick(ids, b))
        outs = [p for (p, out) in scene.node_item(src.id).ports if out]
        ins = [p for (p, out) in scene.node_item(dst.id).ports if not out]
        if outs and ins:
            scene.connect_ports((src.id, outs[0]), (dst.id, _pick(ins, b)))
    elif op == "delete" and ids:
        scene.select_nodes({_pick(ids, a), _pick(ids, b)})
        edges = graph.edges
        if edges and a % 3 == 0:
            scene.select_nodes([])
            scene.edge_item(_pick(list(edges), b)).setSelected(True)
        scene.delete_selection()
    elif op == "duplicate" and ids:
        scene.select_nodes({_pick(ids, a), _pick(ids, b)})
        scene.duplicate_selection()
    elif op == "rename" and ids:
        scene.rename_node(_pick(ids, a), f"layer{b % 7}")
    elif op == "freeze" and ids:
        node_id = _pick(ids, a)
        scene.set_frozen([node_id], graph.node(node_id).trainable)
    elif op == "move" and ids:
        item = scene.node_item(_pick(ids, a))
        scene.select_nodes([item.node.id])
        start = item.sceneBoundingRect().center()
        drag = MoveDrag(scene, item, start)
        for step in range(1, 4):
            drag.move(start + QPointF(step * (a % 90), step * (b % 50) - 60), 2.0)
        drag.finish()
    elif op == "layout":
        scene.auto_layout("TB" if a % 2 else "LR")
    elif op == "fix":
        fixable = [d for d in scene.document.analysis.diagnostics if d.fixes]
        if fixable:
            diagnostic = _pick(fixable, a)
            scene.apply_fix(diagnostic, b % len(diagnostic.fixes))


def _assert_mirrors(scene: GraphScene) -> None:
    graph = scene.document.graph
    assert [i.node.id for i in scene.node_items()] == list(graph.nodes)
    assert {i.edge for i in scene.edge_items()} == set(graph.edges)
    for item in scene.node_items():
        assert item.node is graph.node(item.node.id)
        assert (item.pos().x(), item.pos().y()) == item.node.position


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=edits)
def test_random_edits_undo_and_redo_exactly(qapp, sequence):
    document = Document(load_project(TEMPLATE, node_checker=check_node))
    scene = GraphScene(document)
    original = dumps_project(document.graph)
    for op, a, b in sequence:
        _apply(scene, op, a, b)
        _assert_mirrors(scene)
    edited = dumps_project(document.graph)
    document.undo_stack.undo_all()
    assert dumps_project(document.graph) == original
    _assert_mirrors(scene)
    document.undo_stack.redo_all()
    assert dumps_project(document.graph) == edited
    _assert_mirrors(scene)
    scene.deleteLater()

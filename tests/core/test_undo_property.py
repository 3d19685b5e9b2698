"""Property test: any sequence of edits, composite ones included (a macro of several commands,
grouping layers into a block, ungrouping an instance), undone entirely and redone entirely,
round-trips; the graph's edge indexes agree with its edge list after every step."""

from __future__ import annotations

from graph_builders import lenet5
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlstudio.core import (
    AddNode,
    Connect,
    Disconnect,
    DLStudioError,
    Edge,
    LayerGraph,
    LayerNode,
    MacroCommand,
    MoveNodes,
    PortRef,
    RemoveNode,
    RenameNode,
    SetParam,
    SetTrainable,
    UndoStack,
    dumps_project,
)
from dlstudio.core.block_commands import GroupIntoBlock, UngroupBlock

EDIT_KINDS = [
    "add",
    "remove",
    "connect",
    "disconnect",
    "param",
    "rename",
    "move",
    "freeze",
    "insert",
    "group",
    "ungroup",
]


@st.composite
def edit_scripts(draw):
    return [
        (
            draw(st.sampled_from(EDIT_KINDS)),
            draw(st.integers(0, 10_000)),
            draw(st.integers(0, 10_000)),
        )
        for _ in range(draw(st.integers(1, 25)))
    ]


def _command(graph, kind, a, b):
    ids = list(graph.nodes)
    pick = ids[a % len(ids)] if ids else None
    other = ids[b % len(ids)] if ids else None
    if kind == "add" or pick is None:
        node_id = graph.new_node_id()
        type_id = ("relu", "add")[b % 2]  # an Add has two inputs: edges_into is not trivial
        return AddNode(LayerNode(node_id, type_id, graph.unique_name(type_id), {}, (a, b)))
    if kind == "remove":
        return RemoveNode(pick)
    if kind == "connect":
        port = ("in1", "in2")[b % 2] if graph.node(other).type_id == "add" else "in"
        return Connect(Edge(PortRef(pick, "out"), PortRef(other, port)))
    if kind == "disconnect" and graph.edges:
        return Disconnect(graph.edges[a % len(graph.edges)])
    if kind == "insert" and graph.edges:  # a layer dropped onto a wire: one undo step
        wire = graph.edges[a % len(graph.edges)]
        node_id = graph.new_node_id()
        return MacroCommand(
            "insert relu",
            [
                Disconnect(wire),
                AddNode(LayerNode(node_id, "relu", graph.unique_name("relu"), {}, (a, b))),
                Connect(Edge(wire.src, PortRef(node_id, "in"))),
                Connect(Edge(PortRef(node_id, "out"), wire.dst)),
            ],
        )
    if kind == "group":
        chosen = list(dict.fromkeys([pick, other]))
        specs = {
            e.src: ((4,), "float32") for n in chosen for e in graph.edges_into(n) if e.src.node
        }
        return GroupIntoBlock(chosen, f"Block{b % 5}", specs)
    if kind == "ungroup":
        instances = [n.id for n in graph if n.type_id == "block"]
        if instances:
            return UngroupBlock(instances[a % len(instances)], path_names=bool(b % 2))
    if kind == "param":
        return SetParam(pick, "units", b)
    if kind == "rename":
        return RenameNode(pick, f"name{b % 7}")
    if kind == "freeze":
        return SetTrainable(pick, bool(b % 2))
    return MoveNodes({pick: (float(a), float(b))})


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(edit_scripts())
def test_undo_all_then_redo_all_round_trips(script):
    graph = lenet5()
    original = dumps_project(graph)
    stack = UndoStack(graph)
    applied = 0
    for kind, a, b in script:
        try:
            stack.push(_command(graph, kind, a, b), mergeable=kind == "move")
            applied += 1
        except DLStudioError:
            pass  # refused edits leave no trace
        _assert_indexes_agree(graph)
    final = dumps_project(graph)
    stack.undo_all()
    assert dumps_project(graph) == original
    _assert_indexes_agree(graph)
    stack.redo_all()
    assert dumps_project(graph) == final
    _assert_indexes_agree(graph)


def _assert_indexes_agree(graph: LayerGraph) -> None:
    """The per-node edge indexes hold what a scan of the edge list finds, in its order."""
    edges = graph.edges
    for node_id in graph.nodes:
        assert graph.edges_into(node_id) == [e for e in edges if e.dst.node == node_id]
        assert graph.edges_out_of(node_id) == [e for e in edges if e.src.node == node_id]
        touching = [e for e in edges if node_id in (e.src.node, e.dst.node)]
        assert graph.edges_touching(node_id) == touching

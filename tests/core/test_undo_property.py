"""Property test: any sequence of edits, undone entirely and redone entirely, round-trips."""

from __future__ import annotations

from graph_builders import lenet5
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlstudio.core import (
    AddNode,
    Connect,
    Disconnect,
    Edge,
    GraphEditError,
    LayerNode,
    MoveNodes,
    PortRef,
    RemoveNode,
    RenameNode,
    SetParam,
    SetTrainable,
    UndoStack,
    dumps_project,
)

EDIT_KINDS = ["add", "remove", "connect", "disconnect", "param", "rename", "move", "freeze"]


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
        return AddNode(LayerNode(node_id, "relu", graph.unique_name("relu"), {}, (a, b)))
    if kind == "remove":
        return RemoveNode(pick)
    if kind == "connect":
        return Connect(Edge(PortRef(pick, "out"), PortRef(other, "in")))
    if kind == "disconnect" and graph.edges:
        return Disconnect(graph.edges[a % len(graph.edges)])
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
        except GraphEditError:
            pass  # refused edits leave no trace
    final = dumps_project(graph)
    stack.undo_all()
    assert dumps_project(graph) == original
    stack.redo_all()
    assert dumps_project(graph) == final

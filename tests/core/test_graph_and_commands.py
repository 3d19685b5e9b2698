"""The graph document and its undoable commands."""

from __future__ import annotations

import pytest
from graph_builders import lenet5

from dlstudio.core import (
    AddNode,
    Connect,
    Disconnect,
    Edge,
    GraphEditError,
    GraphEvent,
    LayerGraph,
    LayerNode,
    MacroCommand,
    MoveNodes,
    PortRef,
    RemoveNode,
    RenameNode,
    SetMetadata,
    SetParam,
    SetTrainable,
    UndoStack,
    dumps_project,
)


def _edge(a: str, b: str, dst_port: str = "in") -> Edge:
    return Edge(PortRef(a, "out"), PortRef(b, dst_port))


def test_undo_of_everything_restores_the_exact_document():
    graph = lenet5()
    original = dumps_project(graph)
    stack = UndoStack(graph)
    conv1 = graph.node_by_name("conv1").id
    stack.push(SetParam(conv1, "out_channels", 8))
    stack.push(RenameNode(conv1, "first_conv"))
    stack.push(SetTrainable(conv1, False))
    stack.push(MoveNodes({conv1: (5.0, 7.0)}))
    stack.push(RemoveNode(graph.node_by_name("pool1").id))
    stack.push(SetMetadata("training", {"epochs": 3}))
    assert dumps_project(graph) != original
    changed = dumps_project(graph)
    stack.undo_all()
    assert dumps_project(graph) == original
    stack.redo_all()
    assert dumps_project(graph) == changed


def test_remove_node_takes_its_wires_and_undo_puts_them_back_in_order():
    graph = lenet5()
    stack = UndoStack(graph)
    edges_before = graph.edges
    relu1 = graph.node_by_name("relu1").id
    stack.push(RemoveNode(relu1))
    assert relu1 not in graph
    assert all(relu1 not in (e.src.node, e.dst.node) for e in graph.edges)
    stack.undo()
    assert graph.edges == edges_before
    assert list(graph.nodes)[2] == relu1


def test_an_input_port_takes_one_wire_and_the_refusal_says_why():
    graph = lenet5()
    conv1 = graph.node_by_name("conv1").id
    relu2 = graph.node_by_name("relu2").id
    with pytest.raises(GraphEditError, match="already has a wire"):
        UndoStack(graph).push(Connect(_edge(relu2, conv1)))


def test_self_loops_and_unknown_nodes_are_refused():
    graph = lenet5()
    conv1 = graph.node_by_name("conv1").id
    with pytest.raises(GraphEditError, match="to itself"):
        graph.insert_edge(Edge(PortRef(conv1, "out"), PortRef(conv1, "x")))
    with pytest.raises(GraphEditError, match="no node 'ghost'"):
        graph.insert_edge(_edge("ghost", conv1, "y"))


def test_a_failing_macro_leaves_the_graph_unchanged():
    graph = lenet5()
    before = dumps_project(graph)
    conv1 = graph.node_by_name("conv1").id
    macro = MacroCommand("bad", [SetParam(conv1, "out_channels", 3), RemoveNode("nope")])
    with pytest.raises(GraphEditError):
        UndoStack(graph).push(macro)
    assert dumps_project(graph) == before


def test_moves_during_one_drag_merge_into_one_undo_step():
    graph = lenet5()
    stack = UndoStack(graph)
    conv1 = graph.node_by_name("conv1").id
    start = graph.node(conv1).position
    for x in range(5):
        stack.push(MoveNodes({conv1: (float(x), 1.0)}), mergeable=True)
    stack.end_merge()
    stack.push(MoveNodes({conv1: (100.0, 1.0)}), mergeable=True)
    assert graph.node(conv1).position == (100.0, 1.0)
    stack.undo()
    assert graph.node(conv1).position == (4.0, 1.0)
    stack.undo()
    assert graph.node(conv1).position == start


def test_rename_refuses_empty_and_duplicate_names():
    graph = lenet5()
    stack = UndoStack(graph)
    conv1 = graph.node_by_name("conv1").id
    with pytest.raises(GraphEditError, match="already named 'fc1'"):
        stack.push(RenameNode(conv1, "fc1"))
    with pytest.raises(GraphEditError, match="empty"):
        stack.push(RenameNode(conv1, "  "))
    assert not stack.can_undo


def test_clean_mark_follows_undo_and_redo():
    graph = LayerGraph()
    stack = UndoStack(graph)
    assert stack.is_clean
    stack.push(AddNode(LayerNode("a", "relu", "relu1")))
    assert not stack.is_clean
    stack.set_clean()
    stack.push(AddNode(LayerNode("b", "relu", "relu2")))
    stack.undo()
    assert stack.is_clean
    stack.undo()
    assert not stack.is_clean
    stack.push(AddNode(LayerNode("c", "relu", "relu3")))  # the saved state is now unreachable
    stack.undo()
    assert not stack.is_clean


def test_listeners_hear_every_primitive_change():
    graph = lenet5()
    events: list[GraphEvent] = []
    graph.subscribe(events.append)
    stack = UndoStack(graph)
    relu1 = graph.node_by_name("relu1").id
    stack.push(RemoveNode(relu1))
    kinds = [e.kind for e in events]
    assert kinds == [GraphEvent.EDGE_REMOVED, GraphEvent.EDGE_REMOVED, GraphEvent.NODE_REMOVED]
    revision = graph.revision
    stack.undo()
    assert graph.revision == revision + 3


def test_disconnect_and_undo_restore_edge_order():
    graph = lenet5()
    stack = UndoStack(graph)
    edges = graph.edges
    stack.push(Disconnect(edges[3]))
    assert edges[3] not in graph.edges
    stack.undo()
    assert graph.edges == edges


def test_copy_is_independent_and_silent():
    graph = lenet5()
    heard = []
    graph.subscribe(heard.append)
    snapshot = graph.copy()
    snapshot.update_node(snapshot.node_by_name("conv1").id, params={"out_channels": 1})
    assert graph.node_by_name("conv1").params["out_channels"] == 6
    assert heard == []


def test_edge_indexes_keep_edge_order_through_an_undone_disconnect():
    """edges_into / edges_out_of are indexes, not scans: an undone removal puts the wire back
    at its place in each node's list too."""
    graph = LayerGraph("fan")
    for node_id, type_id in (("x", "relu"), ("a", "relu"), ("b", "relu"), ("s", "add")):
        graph.insert_node(LayerNode(node_id, type_id, node_id, {}))
    wires = [
        Edge(PortRef("x", "out"), PortRef("a", "in")),
        Edge(PortRef("x", "out"), PortRef("s", "in1")),
        Edge(PortRef("x", "out"), PortRef("b", "in")),
        Edge(PortRef("a", "out"), PortRef("s", "in2")),
    ]
    for wire in wires:
        graph.insert_edge(wire)
    stack = UndoStack(graph)
    stack.push(Disconnect(wires[0]))
    stack.push(Disconnect(wires[1]))
    assert graph.edges_out_of("x") == [wires[2]] and graph.edges_into("s") == [wires[3]]
    stack.undo_all()
    assert graph.edges_out_of("x") == wires[:3]
    assert graph.edges_into("s") == [wires[1], wires[3]]
    assert graph.edges_touching("a") == [wires[0], wires[3]]
    stack.push(RemoveNode("x"))
    assert graph.edges_into("a") == [] and graph.edges_out_of("x") == []
    stack.undo()
    assert graph.edges_out_of("x") == wires[:3] and graph.edges_into("a") == [wires[0]]

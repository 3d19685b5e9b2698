"""Structure checks, shape inference over whole graphs, statistics and one-click fixes."""

from __future__ import annotations

from graph_builders import ChainBuilder, lenet5, mlp

from dlstudio.analysis import analyze
from dlstudio.analysis.fixes import command_for_fix
from dlstudio.core import Edge, LayerNode, PortRef, RemoveNode, UndoStack, dumps_project


def _messages(result):
    return [d.message for d in result.diagnostics]


def test_lenet5_has_61706_parameters_and_exact_shapes():
    graph = lenet5()
    result = analyze(graph, batch_size=64)
    assert result.diagnostics == []
    assert result.total_params == 61706
    shapes = {graph.node(i).name: result.nodes[i].output for i in result.order}
    assert shapes["pool2"].shape == ("N", 16, 5, 5)
    assert shapes["flatten"].shape == ("N", 400)
    assert result.nodes[graph.node_by_name("fc1").id].inferred == {"in_features": 400}
    # activation memory: every layer output at batch 64, float32
    per_example = sum(
        r.output.numel({"N": 1}) for r in result.nodes.values() if r.output is not None
    )
    assert result.activation_bytes == per_example * 64 * 4


def test_mlp_784_16_16_10_has_13002_parameters():
    assert analyze(mlp()).total_params == 13002


def test_frozen_nodes_count_as_frozen_parameters():
    graph = lenet5()
    graph.update_node(graph.node_by_name("conv1").id, trainable=False)
    graph.update_node(graph.node_by_name("conv2").id, trainable=False)
    result = analyze(graph)
    assert result.frozen_params == 156 + 2416
    assert result.trainable_params == 61706 - 156 - 2416


def test_missing_flatten_is_reported_on_the_node_with_a_fix_that_works():
    graph = lenet5()
    stack = UndoStack(graph)
    stack.push(RemoveNode(graph.node_by_name("flatten").id))
    pool2, fc1 = graph.node_by_name("pool2").id, graph.node_by_name("fc1").id
    graph.insert_edge(Edge(PortRef(pool2, "out"), PortRef(fc1, "in")))
    result = analyze(graph)
    [error] = result.errors
    assert error.node_id == fc1
    assert error.message == (
        "fc1 (Dense) needs a 2-D input (N, features) or a sequence "
        "(N, T, features) but gets (N, 16, 5, 5): insert Flatten before fc1"
    )
    # downstream nodes are not blamed for the upstream error
    assert [d.node_id for d in result.diagnostics] == [fc1]
    before_fix = dumps_project(graph)
    stack.push(command_for_fix(graph, error.node_id, error.fixes[0]))
    fixed = analyze(graph)
    assert fixed.diagnostics == [] and fixed.total_params == 61706
    stack.undo()
    assert dumps_project(graph) == before_fix


def test_set_param_fix_and_reshape_fix():
    b = ChainBuilder()
    b.chain(
        ("input", "input", {"shape": (784,)}), ("conv2d", "conv1", {}), ("output", "output", {})
    )
    result = analyze(b.graph)
    [error] = result.errors
    assert "insert Reshape to (1, 28, 28) before conv1" in error.message
    UndoStack(b.graph).push(command_for_fix(b.graph, error.node_id, error.fixes[0]))
    assert analyze(b.graph).diagnostics == []


def test_cycles_name_the_nodes_in_the_cycle():
    b = ChainBuilder()
    _i, a, c, d, _o = b.chain(
        ("input", "input", {"shape": (4,)}),
        ("dense", "a", {}),
        ("add", "merge", {}),
        ("relu", "act", {}),
        ("output", "out", {}),
    )
    b.graph.delete_edge(b.graph.incoming_edge(PortRef(c, "in")))  # chain wired "in"; fix ports
    b.wire(a, c, dst_port="in1")
    b.wire(d, c, dst_port="in2")
    result = analyze(b.graph)
    cycle_messages = [m for m in _messages(result) if "cycle" in m]
    assert len(cycle_messages) == 2
    assert (
        "merge -> act -> merge" in cycle_messages[0] or "act -> merge -> act" in cycle_messages[0]
    )
    assert "remove one wire" in cycle_messages[0]


def test_unconnected_inputs_unused_nodes_and_missing_endpoints():
    b = ChainBuilder()
    _i, fc, _o = b.chain(
        ("input", "input", {"shape": (4,)}), ("dense", "fc1", {}), ("output", "out", {})
    )
    b.add("relu", "lonely")
    merge = b.add("add", "sum")
    b.wire(fc, merge, dst_port="in1")
    result = analyze(b.graph)
    messages = _messages(result)
    assert "lonely (ReLU) has nothing connected to its input: wire a tensor into it" in messages
    assert "sum (Add) has nothing connected to input 'in2': wire a tensor into it" in messages
    assert any(m.startswith("sum does not lead to any Output") for m in messages)
    empty = ChainBuilder()
    empty.add("relu", "r")
    messages = _messages(analyze(empty.graph))
    assert any("no Input layer" in m for m in messages)
    assert any("no Output layer" in m for m in messages)


def test_unknown_types_bad_ports_and_bad_params_do_not_stop_the_rest():
    graph = lenet5()
    graph.insert_node(LayerNode("x", "conv3d", "mystery"))
    graph.update_node(graph.node_by_name("fc2").id, params={"units": -4})
    conv1 = graph.node_by_name("conv1").id
    graph.insert_edge(Edge(PortRef(conv1, "state"), PortRef("x", "in")))
    result = analyze(graph)
    messages = _messages(result)
    assert any("unknown layer type 'conv3d'" in m for m in messages)
    assert any("has no output port 'state'" in m for m in messages)
    assert "fc2 (Dense): units must be at least 1, got -4" in messages
    assert result.nodes[conv1].output.shape == ("N", 6, 28, 28)


def test_symbolic_sequence_lengths_flow_and_bind_for_counts():
    b = ChainBuilder()
    b.chain(
        ("input", "input", {"shape": (3, "T"), "seq_len": 50}),
        ("conv1d", "conv1", {"out_channels": 8, "kernel_size": 5}),
        ("output", "out", {}),
    )
    result = analyze(b.graph)
    conv = result.nodes[b.graph.node_by_name("conv1").id]
    assert conv.output.shape == ("N", 8, "T-4")
    assert conv.macs == 46 * 8 * 3 * 5
    assert result.bindings == {"T": 50}


def test_walk_order_is_topological_with_ties_in_document_order() -> None:
    """The walk order is networkx's lexicographic topological sort keyed by document position,
    whether the nodes were drawn in order or not, with double wires between one pair."""
    import random

    import networkx as nx
    from graph_builders import random_dag

    from dlstudio.core import LayerGraph

    for seed in range(6):
        drawn = random_dag(60, seed)
        shuffled = list(drawn.nodes.values())
        if seed:  # seed 0 keeps the drawing order, the others are drawn in any order
            random.Random(seed).shuffle(shuffled)
        graph = LayerGraph("shuffled")
        for node in shuffled:
            graph.insert_node(node.clone())
        for edge in drawn.edges:
            graph.insert_edge(edge)
        first, last = shuffled[0].id, shuffled[-1].id
        graph.insert_edge(Edge(PortRef(first, "out"), PortRef(last, "in98")))
        graph.insert_edge(Edge(PortRef(first, "out"), PortRef(last, "in99")))
        position = {node_id: i for i, node_id in enumerate(graph.nodes)}
        g = nx.MultiDiGraph()
        g.add_nodes_from(graph.nodes)
        g.add_edges_from((e.src.node, e.dst.node) for e in graph.edges)
        if not nx.is_directed_acyclic_graph(g):
            continue  # the extra wires closed a loop: the cycle tests cover that
        expected = list(nx.lexicographical_topological_sort(g, key=position.__getitem__))
        assert analyze(graph).order == expected

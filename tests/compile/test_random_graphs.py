"""Random DAGs of dense, activation and merge layers: the generated forward() (with ``x``
reused along chains and names kept for later use) computes what a plain node-by-node
evaluation computes. Guards the variable planner against clobbering a tensor still needed."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from graph_builders import ChainBuilder
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from dlstudio.analysis import analyze
from dlstudio.compile import compile_graph

WIDTH = 4


@st.composite
def dags(draw):
    b = ChainBuilder("random")
    inputs = [b.add("input", f"in{i}", shape=(WIDTH,)) for i in range(draw(st.integers(1, 2)))]
    nodes = list(inputs)
    for i in range(draw(st.integers(1, 9))):
        kind = draw(st.sampled_from(["dense", "relu", "tanh", "add", "multiply", "concat"]))
        sources = draw(
            st.lists(st.sampled_from(nodes), min_size=2, max_size=3)
            if kind in ("add", "multiply", "concat")
            else st.lists(st.sampled_from(nodes), min_size=1, max_size=1)
        )
        params = {"units": WIDTH} if kind == "dense" else {}
        if kind in ("add", "multiply", "concat"):
            params["inputs"] = len(sources)
        node = b.add(kind, f"{kind}{i}", **params)
        merge = kind in ("add", "multiply", "concat")
        for port, src in enumerate(sources, start=1):
            b.wire(src, node, dst_port=f"in{port}" if merge else "in")
        nodes.append(node)
    computed = nodes[len(inputs) :]
    chosen = draw(st.lists(st.sampled_from(computed), min_size=1, max_size=3, unique=True))
    if computed[-1] not in chosen:
        chosen.append(computed[-1])
    for j, node in enumerate(chosen):
        out = b.add("output", f"out{j}")
        b.wire(node, out)
    return b.graph


def _reference(graph, result, module, inputs):
    values = {}
    feed = iter(inputs)
    attrs = module._attrs
    for node_id in result.order:
        node = graph.node(node_id)
        args = [
            values[(e.src.node, e.src.port)]
            for e in sorted(graph.edges_into(node_id), key=lambda e: e.dst.port)
        ]
        kind = node.type_id
        if kind == "input":
            value = next(feed)
        elif kind == "output":
            continue
        elif kind == "dense":
            layer = getattr(module, attrs[node_id])
            value = F.linear(args[0], layer.weight, layer.bias)
        elif kind in ("relu", "tanh"):
            value = getattr(torch, kind)(args[0])
        elif kind == "add":
            value = sum(args[1:], args[0])
        elif kind == "multiply":
            value = args[0]
            for a in args[1:]:
                value = value * a
        else:
            value = torch.cat(args, dim=1)
        values[(node_id, "out")] = value
    return [values[_src(graph, o.id)] for o in graph if o.type_id == "output"]


def _src(graph, output_id):
    (edge,) = graph.edges_into(output_id)
    return (edge.src.node, edge.src.port)


@settings(max_examples=60, deadline=None)
@given(graph=dags())
def test_generated_forward_matches_node_by_node_evaluation(graph) -> None:
    result = analyze(graph)
    assume(not result.has_errors)
    compiled = compile_graph(graph, result)
    module = compiled.module.eval()
    module._attrs = compiled.code.attrs
    inputs = [torch.randn(3, WIDTH) for _ in compiled.input_specs]
    with torch.no_grad():
        got = module(*inputs)
        expected = _reference(graph, result, module, inputs)
    got = list(got) if isinstance(got, tuple) else [got]
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        assert torch.allclose(a, b, atol=1e-6), compiled.source

"""Are two graphs the same model? Same layers with the same parameters, wired the same way."""

from __future__ import annotations

import networkx as nx

from dlstudio.compile.importers.hierarchy import MODULELESS
from dlstudio.core import LayerGraph
from dlstudio.layers import get_layer_type

# Nodes whose name survives a trip through Python are those that own a submodule (self.<name>):
# functional layers (F.relu(x), x + y) and Inputs leave no name in the source.
NAMELESS = MODULELESS | {"input", "output"}


def _labelled(graph: LayerGraph) -> nx.MultiDiGraph:
    g = nx.MultiDiGraph()
    for node in graph:
        params, problems = get_layer_type(node.type_id).resolve_params(node.params)
        assert not problems, (node.name, problems)
        if "pool" in node.type_id and params.get("stride") is None and "kernel_size" in params:
            params["stride"] = params["kernel_size"]  # the catalogue's default: the window
        name = None if node.type_id in NAMELESS else node.name
        g.add_node(node.id, key=(node.type_id, repr(sorted(params.items()))), name=name)
    for e in graph.edges:
        g.add_edge(e.src.node, e.dst.node, ports=(e.src.port, e.dst.port))
    return g


def differences(a: LayerGraph, b: LayerGraph) -> list[str]:
    """What differs between ``a`` and ``b`` (empty when they are the same model)."""
    ga, gb = _labelled(a), _labelled(b)
    problems = []
    count = lambda g: sorted(d["key"] for _, d in g.nodes(data=True))  # noqa: E731
    if count(ga) != count(gb):
        only_a = [k for k in count(ga) if k not in count(gb)]
        only_b = [k for k in count(gb) if k not in count(ga)]
        problems.append(f"layers differ: only in first {only_a[:5]}, only in second {only_b[:5]}")
        return problems
    names_a = sorted(d["name"] for _, d in ga.nodes(data=True) if d["name"])
    names_b = sorted(d["name"] for _, d in gb.nodes(data=True) if d["name"])
    if names_a != names_b:
        problems.append(f"names differ: {sorted(set(names_a) ^ set(names_b))[:8]}")
    same = nx.is_isomorphic(
        ga,
        gb,
        node_match=lambda x, y: x["key"] == y["key"] and x["name"] == y["name"],
        edge_match=lambda x, y: (
            sorted(d["ports"] for d in x.values()) == sorted(d["ports"] for d in y.values())
        ),
    )
    if not same:
        problems.append("the wiring differs")
    return problems

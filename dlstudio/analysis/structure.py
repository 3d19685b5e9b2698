"""Structure checks: unknown layers, bad ports, cycles, unconnected inputs, unused nodes."""

from __future__ import annotations

import networkx as nx

from dlstudio.analysis.diagnostics import ERROR, WARNING, Diagnostic
from dlstudio.core.graph import LayerGraph
from dlstudio.layers import UnknownLayerError, get_layer_type
from dlstudio.layers.spec import LayerType


def known_types(graph: LayerGraph, out: list[Diagnostic]) -> dict[str, LayerType]:
    """Layer types of the nodes whose type id is in the catalogue; an error for the others."""
    types: dict[str, LayerType] = {}
    for node in graph:
        try:
            types[node.id] = get_layer_type(node.type_id)
        except UnknownLayerError as exc:
            out.append(
                Diagnostic(
                    ERROR,
                    node.id,
                    f"{node.name}: {exc}; remove the node or replace it with a known layer",
                )
            )
    return types


def check_structure(
    graph: LayerGraph, types: dict[str, LayerType], params: dict[str, dict], out: list[Diagnostic]
) -> nx.MultiDiGraph:
    """Append structure diagnostics to ``out``; returns the networkx view of the graph."""
    g = graph.to_networkx()
    _check_ports(graph, types, params, out)
    _check_cycles(graph, g, out)
    _check_endpoints(graph, types, g, out)
    return g


def _check_ports(graph, types, params, out) -> None:
    for edge in graph.edges:
        src_type, dst_type = types.get(edge.src.node), types.get(edge.dst.node)
        src, dst = graph.node(edge.src.node), graph.node(edge.dst.node)
        if src_type is not None and edge.src.port not in {p.name for p in src_type.outputs}:
            out.append(
                Diagnostic(
                    ERROR,
                    src.id,
                    f"{src.name} ({src_type.label}) has no output "
                    f"port {edge.src.port!r}; delete the wire {edge}",
                    edge=edge,
                )
            )
        if dst_type is not None:
            ports = {p.name for p in dst_type.input_ports(params.get(dst.id, {}))}
            if edge.dst.port not in ports:
                out.append(
                    Diagnostic(
                        ERROR,
                        dst.id,
                        f"{dst.name} ({dst_type.label}) has no "
                        f"input port {edge.dst.port!r}; delete the wire",
                        edge=edge,
                    )
                )
    for node in graph:
        layer = types.get(node.id)
        if layer is None:
            continue
        for port in layer.input_ports(params.get(node.id, {})):
            if not port.optional and graph.incoming_edge(_ref(node.id, port.name)) is None:
                what = (
                    f"input {port.name!r}"
                    if len(layer.input_ports(params.get(node.id, {}))) > 1
                    else "its input"
                )
                out.append(
                    Diagnostic(
                        ERROR,
                        node.id,
                        f"{node.name} ({layer.label}) has nothing "
                        f"connected to {what}: wire a tensor into it",
                    )
                )


def _ref(node_id: str, port: str):
    from dlstudio.core.graph import PortRef

    return PortRef(node_id, port)


def _check_cycles(graph: LayerGraph, g: nx.MultiDiGraph, out: list[Diagnostic]) -> None:
    for component in nx.strongly_connected_components(g):
        if len(component) < 2:
            continue
        cycle = nx.find_cycle(g.subgraph(component))
        names = [graph.node(u).name for u, *_ in cycle] + [graph.node(cycle[0][0]).name]
        text = " -> ".join(names)
        for node_id in sorted(component, key=list(graph.nodes).index):
            out.append(
                Diagnostic(
                    ERROR,
                    node_id,
                    f"{graph.node(node_id).name} is in a cycle "
                    f"({text}); tensors must flow one way: remove one wire of "
                    "the loop",
                )
            )


def _check_endpoints(graph, types, g, out) -> None:
    inputs = [n for n in graph if n.type_id == "input"]
    outputs = [n for n in graph if n.type_id == "output"]
    if len(graph) and not inputs:
        out.append(
            Diagnostic(
                ERROR,
                None,
                "the model has no Input layer: add one from the Input / Output category",
            )
        )
    if len(graph) and not outputs:
        out.append(
            Diagnostic(
                ERROR,
                None,
                "the model has no Output layer: add one and wire the last layer into it",
            )
        )
    if not outputs:
        return
    used = set()
    for o in outputs:
        used |= nx.ancestors(g, o.id) | {o.id}
    for node in graph:
        if node.id not in used and node.id in types:
            out.append(
                Diagnostic(
                    WARNING,
                    node.id,
                    f"{node.name} does not lead to any Output, "
                    "so its result is unused: wire it onward or delete it",
                )
            )

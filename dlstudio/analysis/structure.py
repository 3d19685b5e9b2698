"""Structure checks: unknown layers, bad ports, cycles, unconnected inputs, unused nodes."""

from __future__ import annotations

import heapq
from collections.abc import Callable

import networkx as nx

from dlstudio.analysis.diagnostics import ERROR, WARNING, Diagnostic
from dlstudio.core.blocks import BLOCK_TYPE
from dlstudio.core.graph import LayerGraph, LayerNode
from dlstudio.layers import UnknownLayerError, get_layer_type
from dlstudio.layers.spec import Fix, LayerType, PortSpec


def known_types(
    graph: LayerGraph,
    out: list[Diagnostic],
    block_type: Callable[[LayerNode], LayerType | None] | None = None,
) -> dict[str, LayerType]:
    """Layer types of the nodes whose type id is in the catalogue; an error for the others.
    ``block_type`` describes block instances (and reports a missing definition)."""
    types: dict[str, LayerType] = {}
    for node in graph:
        if node.type_id == BLOCK_TYPE and block_type is not None:
            layer = block_type(node)
            if layer is not None:
                types[node.id] = layer
            continue
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
    graph: LayerGraph,
    types: dict[str, LayerType],
    ports: dict[str, tuple[PortSpec, ...]],
    out: list[Diagnostic],
    inside_block: bool = False,
) -> list[str]:
    """Append structure diagnostics to ``out``; returns the order to walk the nodes in
    (topological, ties broken by document order so generated code is stable), leaving out the
    nodes on a cycle and everything downstream of one."""
    _check_ports(graph, types, ports, out)
    order = _document_topological_order(graph, set())
    if len(order) < len(graph):  # a cycle: networkx names it (the rare path)
        g = nx.DiGraph()
        g.add_nodes_from(graph.nodes)
        g.add_edges_from((e.src.node, e.dst.node) for e in graph.edges)
        blocked = _check_cycles(graph, g, out)
        for node_id in list(blocked):
            blocked |= nx.descendants(g, node_id)
        order = _document_topological_order(graph, blocked)
    _check_endpoints(graph, types, out, inside_block)
    _check_placeholders(graph, out)
    return order


def _document_topological_order(graph: LayerGraph, blocked: set[str]) -> list[str]:
    """Kahn's algorithm over the graph's edge indexes (linear), the next node always the
    earliest ready one in document order; ``blocked`` nodes are left out, and so is any node
    that a cycle keeps from becoming ready."""
    ids = [n for n in graph.nodes if n not in blocked]
    position = {node_id: i for i, node_id in enumerate(ids)}
    wires = [
        (e.src.node, e.dst.node)
        for e in graph.edges
        if e.src.node not in blocked and e.dst.node not in blocked
    ]
    if all(position[src] < position[dst] for src, dst in wires):
        return ids  # drawn in order (the usual case): the walk below would give the same
    successors: dict[str, list[str]] = {node_id: [] for node_id in ids}
    indegree = dict.fromkeys(ids, 0)
    for src, dst in wires:  # two wires between one pair count twice, and are undone twice
        successors[src].append(dst)
        indegree[dst] += 1
    ready = [position[n] for n, d in indegree.items() if d == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        node_id = ids[heapq.heappop(ready)]
        order.append(node_id)
        for succ in successors[node_id]:
            indegree[succ] -= 1
            if indegree[succ] == 0:
                heapq.heappush(ready, position[succ])
    return order


def _check_placeholders(graph: LayerGraph, out: list[Diagnostic]) -> None:
    """An imported operation without a layer is an error until replaced (its shape rule passes
    the recorded shape on, so everything after it is still checked)."""
    for node in graph:
        if node.type_id != "placeholder":
            continue
        op = node.params.get("op", "an operation")
        source = node.params.get("source")
        where = f" at {source}" if source else ""
        out.append(
            Diagnostic(
                ERROR,
                node.id,
                f"{node.name} (Placeholder) stands in for {op}{where}, which DL Studio has no "
                "layer for: replace it with layers that compute the same, or remove it",
            )
        )


def _check_ports(graph, types, ports, out) -> None:
    nodes = graph.nodes
    connected: dict[str, set[str]] = {}  # node id -> its input ports with a wire
    names: dict[str, set[str]] = {}  # node id -> the names of its input ports
    for edge in graph.edges:
        src, dst = edge.src, edge.dst
        connected.setdefault(dst.node, set()).add(dst.port)
        src_type, dst_type = types.get(src.node), types.get(dst.node)
        if src_type is None:
            pass
        elif src.port not in _output_names(src_type, nodes[src.node]):
            node = nodes[src.node]
            out.append(
                Diagnostic(
                    ERROR,
                    node.id,
                    f"{node.name} ({src_type.label}) has no output port {src.port!r}; "
                    f"delete the wire {edge}",
                    edge=edge,
                )
            )
        elif src_type.optional_outputs:
            _check_optional_output(nodes[src.node], src_type, edge, out)
        if dst_type is None:
            continue
        if dst.node not in names:
            names[dst.node] = {p.name for p in ports[dst.node]}
        if dst.port not in names[dst.node]:
            node = nodes[dst.node]
            out.append(
                Diagnostic(
                    ERROR,
                    node.id,
                    f"{node.name} ({dst_type.label}) has no input port {dst.port!r}; "
                    "delete the wire",
                    edge=edge,
                )
            )
    for node_id, node_ports in ports.items():
        wired = connected.get(node_id, ())
        for port in node_ports:
            if not port.optional and port.name not in wired:
                node = nodes[node_id]
                what = f"input {port.name!r}" if len(node_ports) > 1 else "its input"
                out.append(
                    Diagnostic(
                        ERROR,
                        node_id,
                        f"{node.name} ({types[node_id].label}) has nothing connected to "
                        f"{what}: wire a tensor into it",
                    )
                )


def _output_names(layer: LayerType, node: LayerNode) -> frozenset[str]:
    """The names of the output ports a wire may leave from."""
    if layer.variadic_outputs:
        return frozenset(p.name for p in layer.output_ports(node.params))
    return layer.output_names


def _check_cycles(graph: LayerGraph, g: nx.DiGraph, out: list[Diagnostic]) -> set[str]:
    cyclic: set[str] = set()
    order = {node_id: i for i, node_id in enumerate(graph.nodes)}
    for component in nx.strongly_connected_components(g):
        if len(component) < 2:
            continue
        cycle = nx.find_cycle(g.subgraph(component))
        names = [graph.node(u).name for u, _ in cycle] + [graph.node(cycle[0][0]).name]
        text = " -> ".join(names)
        for node_id in sorted(component, key=order.__getitem__):
            out.append(
                Diagnostic(
                    ERROR,
                    node_id,
                    f"{graph.node(node_id).name} is in a cycle ({text}); tensors must flow "
                    "one way: remove one wire of the loop",
                )
            )
        cyclic |= component
    return cyclic


def _check_endpoints(graph, types, out, inside_block: bool) -> None:
    outputs = [n.id for n in graph if n.type_id == "output"]
    what = "the block" if inside_block else "the model"
    if len(graph) and not any(n.type_id == "input" for n in graph):
        out.append(
            Diagnostic(
                ERROR,
                None,
                f"{what} has no Input layer: add one from the Input / Output category",
            )
        )
    if len(graph) and not outputs:
        out.append(
            Diagnostic(
                ERROR,
                None,
                f"{what} has no Output layer: add one and wire the last layer into it",
            )
        )
    if not outputs:
        return
    used: set[str] = set()
    stack = list(outputs)
    while stack:  # reverse reachability from every Output in one sweep
        node_id = stack.pop()
        if node_id not in used:
            used.add(node_id)
            stack.extend(e.src.node for e in graph.edges_into(node_id))
    for node in graph:
        if node.id not in used and node.id in types:
            out.append(
                Diagnostic(
                    WARNING,
                    node.id,
                    f"{node.name} does not lead to any Output, so its result is unused: wire "
                    "it onward or delete it",
                )
            )


def _check_optional_output(node, layer, edge, out) -> None:
    """A wire from an output port that exists only while a parameter is on (attention weights)
    while that parameter is off."""
    live = {p.name for p in layer.output_ports(node.params)}
    if edge.src.port in live:
        return
    param = dict(layer.optional_outputs)[edge.src.port]
    spec = layer.param_spec(param)
    value = next(c for c in spec.choices if c not in ("off", False)) if spec.choices else True
    out.append(
        Diagnostic(
            ERROR,
            node.id,
            f"{node.name} ({layer.label}) has its output {edge.src.port!r} only while "
            f"{spec.title} is on, and it is off: set {param} to {value!r}, or delete the wire "
            f"{edge}",
            (Fix.set_param(f"set {param} to {value!r}", param, value),),
            edge=edge,
        )
    )

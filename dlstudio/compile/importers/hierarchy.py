"""The flat import regrouped by module: every submodule with children becomes a block instance,
and submodules with the same structure share one block definition (docs/blocks.md).

The result's ``state_dict`` keys are the original module paths (``layer1.0.conv1.weight``), so
weights saved from the original model load into the imported one and back. When a module's
layers are interleaved with its parent's (a tensor leaves and comes back), no hierarchy is
possible without changing the computation, and the import stays flat.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import networkx as nx

from dlstudio.analysis import analyze
from dlstudio.compile.importers.builder import GraphBuilder
from dlstudio.compile.importers.report import ImportResult
from dlstudio.core.blocks import BLOCK_TYPE, BlockDefinition, check_definition_name
from dlstudio.core.graph import Edge, LayerGraph, LayerNode, PortRef

Scope = tuple[str, ...]
_CONTAINERS = {"Sequential", "ModuleList", "ModuleDict", "Module"}


@dataclass
class _Built:
    definition: str
    inputs: list[PortRef]
    """Flat tensors entering the scope, in port order."""
    outputs: list[PortRef]
    """Flat tensors leaving it, in port order."""


@dataclass
class _State:
    flat: LayerGraph
    origin: dict[str, tuple[Scope, str]]
    classes: dict[str, str]
    specs: dict[PortRef, object]
    blocks: dict[str, BlockDefinition] = field(default_factory=dict)
    signatures: dict[str, str] = field(default_factory=dict)
    weighted: set[str] = field(default_factory=set)
    """Flat nodes with weights."""
    renamed: dict[str, str] = field(default_factory=dict)
    """Module names the generated code cannot use -> the names they got (``forward`` ->
    ``forward_``); hyphenated names and numbers are kept (registered with ``add_module``)."""
    renamed_paths: dict[str, str] = field(default_factory=dict)
    """The same by the source's module path (``trunk_output.block1.block1-0``)."""
    chains: dict[str, list[LayerNode]] = field(default_factory=dict)
    """Flat node id -> the instance nodes from the root down, then its own node: their names
    joined are its module path (``layer1.0.conv1``), read once every rename is done."""


def regroup(builder: GraphBuilder, result: ImportResult) -> ImportResult:
    """The hierarchical version of a flat import, or the flat one when no hierarchy fits."""
    flat = result.graph
    if not any(scope for scope, _ in builder.origin.values()):
        return result
    analysis = analyze(flat)
    specs = {}
    for node_id, info in analysis.nodes.items():
        for port, spec in (info.outputs or {}).items():
            specs[PortRef(node_id, port)] = spec
    state = _State(flat, builder.origin, builder.scope_classes, specs)
    state.weighted = set(result.weights)
    members = _members(state)
    root = LayerGraph(flat.name)
    root.metadata = dict(flat.metadata)
    _fill(state, (), root, members)
    graphs = [root] + [d.graph for d in state.blocks.values()]
    if not all(nx.is_directed_acyclic_graph(g.to_networkx()) for g in graphs):
        return result
    root.blocks = state.blocks
    regrouped = ImportResult(root, issues=result.issues, source=result.source)
    regrouped.renamed = dict(state.renamed)
    regrouped.renamed_paths = dict(state.renamed_paths)
    paths = {n: ".".join(node.name for node in chain) for n, chain in state.chains.items()}
    regrouped.keyed_weights = {
        # a Parameter node's tensor (key "") is the attribute itself
        (f"{paths[node_id]}.{key}" if key else paths[node_id]): tensor
        for node_id, tensors in result.weights.items()
        for key, tensor in tensors.items()
    }
    _place_nodes(root, state.blocks)
    return regrouped


def _members(state: _State) -> dict[Scope, set[str]]:
    members: dict[Scope, set[str]] = {}
    for node_id in state.flat.nodes:
        scope = state.origin[node_id][0]
        for depth in range(len(scope) + 1):
            members.setdefault(scope[:depth], set()).add(node_id)
    return members


def _fill(
    state: _State, scope: Scope, graph: LayerGraph, members: dict[Scope, set[str]]
) -> tuple[list[PortRef], list[PortRef]]:
    """Build ``graph`` for ``scope``; returns the flat tensors entering and leaving it."""
    inside = members[scope]
    here: dict[PortRef, PortRef] = {}  # flat tensor produced inside -> port in this graph
    instance_of: dict[Scope, tuple[str, _Built]] = {}
    node_at: dict[str, str] = {}  # flat node directly here -> its id in this graph
    names: set[str] = set()
    inputs: list[PortRef] = []
    input_nodes: dict[PortRef, str] = {}

    def unique(name: str) -> str:
        candidate, i = name, 2
        while candidate in names:
            candidate, i = f"{name}_{i}", i + 1
        names.add(candidate)
        return candidate

    for node_id in state.flat.nodes:
        if node_id not in inside:
            continue
        node_scope, local = state.origin[node_id]
        if node_scope == scope:
            node = state.flat.nodes[node_id]
            new_id = graph.new_node_id("n")
            name = unique(_python_name(state, local, node_id in state.weighted, scope))
            graph.insert_node(LayerNode(new_id, node.type_id, name, dict(node.params)))
            node_at[node_id] = new_id
            state.chains[node_id] = [graph.nodes[new_id]]
            for port in _output_ports(state, node_id):
                here[PortRef(node_id, port)] = PortRef(new_id, port)
            continue
        child = node_scope[: len(scope) + 1]
        if child in instance_of:
            continue
        built = _build(state, child, members)
        new_id = graph.new_node_id("n")
        name = unique(_python_name(state, child[-1], True, scope))
        graph.insert_node(LayerNode(new_id, BLOCK_TYPE, name, {"block": built.definition}))
        instance_of[child] = (new_id, built)
        for member in members[child]:
            state.chains[member].insert(0, graph.nodes[new_id])
        ports = _port_names(state.blocks[built.definition], "out")
        for ref, port in zip(built.outputs, ports, strict=True):
            here[ref] = PortRef(new_id, port)

    def source(ref: PortRef) -> PortRef:
        if ref in here:
            return here[ref]
        if ref not in input_nodes:  # a tensor from outside: a new Input of this graph
            inputs.append(ref)
            new_id = graph.new_node_id("n")
            spec = state.specs.get(ref)
            params = {"shape": list(spec.shape[1:]), "dtype": spec.dtype} if spec else {}
            graph.insert_node(LayerNode(new_id, "input", unique("x"), params))
            input_nodes[ref] = new_id
        return PortRef(input_nodes[ref], "out")

    wired: set[Edge] = set()
    outputs: list[PortRef] = []
    for edge in state.flat.edges:
        if edge.dst.node not in inside:
            if edge.src.node in inside and edge.src not in outputs:
                outputs.append(edge.src)
            continue
        if edge.dst.node in node_at:
            dst = PortRef(node_at[edge.dst.node], edge.dst.port)
        else:
            child = state.origin[edge.dst.node][0][: len(scope) + 1]
            new_id, built = instance_of[child]
            if edge.src.node in members[child]:
                continue  # inside the child
            ports = _port_names(state.blocks[built.definition], "in")
            dst = PortRef(new_id, ports[built.inputs.index(edge.src)])
        new = Edge(source(edge.src), dst)
        if new not in wired:
            wired.add(new)
            graph.insert_edge(new)
    for i, ref in enumerate(outputs):
        new_id = graph.new_node_id("n")
        graph.insert_node(LayerNode(new_id, "output", unique("out" if i == 0 else f"out{i + 1}")))
        graph.insert_edge(Edge(here[ref], PortRef(new_id, "in")))
    return inputs, outputs


def _python_name(state: _State, name: str, keyed: bool, scope: Scope = ()) -> str:
    """``name`` as the generated code will name its submodule: digits stay (an
    ``nn.Sequential`` index), and so do names with hyphens (``add_module("block1-0", ...)``);
    anything else not an identifier is made one."""
    from dlstudio.compile.codegen.names import (
        ATTRIBUTE_ONLY,
        RESERVED,
        identifier_base,
        is_key_name,
    )

    if name.isdigit() or (name.isidentifier() and name not in RESERVED) or name in ATTRIBUTE_ONLY:
        return name
    if is_key_name(name):  # regnet's block1-0: registered under its own name, keys unchanged
        return name
    new = identifier_base(name, "layer")
    if new in RESERVED:
        new = f"{new}_"
    if keyed:  # a module with weights under it: its keys change
        state.renamed[name] = new
        state.renamed_paths[".".join((*scope, name))] = new
    return new


def _build(state: _State, scope: Scope, members: dict[Scope, set[str]]) -> _Built:
    graph = LayerGraph(scope[-1])
    inputs, outputs = _fill(state, scope, graph, members)
    signature = _signature(graph)
    for name, existing in state.signatures.items():
        if existing == signature:
            return _Built(name, inputs, outputs)
    name = _definition_name(state, scope)
    graph.name = name
    state.blocks[name] = BlockDefinition(name, graph)
    state.signatures[name] = signature
    return _Built(name, inputs, outputs)


MODULELESS = frozenset(
    {
        "relu",
        "relu6",
        "silu",
        "hardswish",
        "hardsigmoid",
        "gelu",
        "tanh",
        "sigmoid",
        "leaky_relu",
        "softmax",
        "log_softmax",
        "flatten",
        "reshape",
        "permute",
        "repeat_vector",
        "add",
        "multiply",
        "concat",
        "global_avgpool",
        "select_step",
        "mean_over_time",
        "placeholder",
    }
)
"""Layers the generated code writes as a function call (``F.relu(x)``), not a submodule."""


def _definition_name(state: _State, scope: Scope) -> str:
    cls = state.classes.get(".".join(scope), "Block")
    if cls in _CONTAINERS or check_definition_name(cls) is not None:
        words = "".join(c if c.isalnum() else " " for c in scope[-1]).split()
        cls = "".join(w[:1].upper() + w[1:] for w in words)
        if not cls or not cls[0].isalpha():
            cls = "Stage" + cls
    base, i = cls[:60], 2
    candidate = base
    while candidate in state.blocks:
        candidate, i = f"{base}{i}", i + 1
    return candidate


def _signature(graph: LayerGraph) -> str:
    nodes = [(n.id, n.type_id, n.name, n.params) for n in graph]
    edges = [(str(e.src), str(e.dst)) for e in graph.edges]
    return json.dumps([nodes, edges], sort_keys=True, default=str)


def _output_ports(state: _State, node_id: str) -> list[str]:
    ports = {e.src.port for e in state.flat.edges_out_of(node_id)}
    return sorted(ports) or ["out"]


def _port_names(definition: BlockDefinition, kind: str) -> list[str]:
    ports = definition.input_ports() if kind == "in" else definition.output_ports()
    return list(ports)


def _place_nodes(root: LayerGraph, blocks: dict[str, BlockDefinition]) -> None:
    from dlstudio.analysis.layout import auto_layout

    for graph in [root] + [d.graph for d in blocks.values()]:
        for node_id, point in auto_layout(graph).items():
            graph.nodes[node_id].position = (float(point[0]), float(point[1]))

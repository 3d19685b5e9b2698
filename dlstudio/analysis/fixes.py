"""Turn a diagnostic's :class:`Fix` into an undoable command on the graph."""

from __future__ import annotations

from dlstudio.core.commands import (
    AddNode,
    Command,
    Connect,
    Disconnect,
    MacroCommand,
    RemoveNode,
    SetMetadata,
    SetParam,
)
from dlstudio.core.errors import GraphEditError
from dlstudio.core.graph import Edge, LayerGraph, LayerNode, PortRef
from dlstudio.layers import get_layer_type
from dlstudio.layers.spec import Fix


def command_for_fix(graph: LayerGraph, node_id: str, fix: Fix) -> Command:
    """The command that applies ``fix`` to node ``node_id`` (push it on the undo stack)."""
    if fix.kind == "set_param":
        assert fix.param is not None
        return SetParam(node_id, fix.param, fix.value)
    if fix.kind == "insert":
        command = insert_layer_before(
            graph, node_id, fix.port or "in", fix.layer_type or "", dict(fix.params), text=fix.label
        )
        if fix.param is not None:
            command = MacroCommand(fix.label, [command, SetParam(node_id, fix.param, fix.value)])
        return command
    if fix.kind == "set_upstream_param":
        edge = graph.incoming_edge(PortRef(node_id, fix.port or "in"))
        if edge is None or fix.param is None:
            raise GraphEditError(f"{fix.label}: nothing is connected to {fix.port or 'in'}")
        return MacroCommand(fix.label, [SetParam(edge.src.node, fix.param, fix.value)])
    if fix.kind == "remove":
        return remove_and_bridge(graph, node_id, fix.label)
    if fix.kind == "replace":
        return replace_layer(graph, node_id, fix.layer_type or "", dict(fix.params), fix.label)
    if fix.kind == "set_training":
        training = dict(graph.metadata.get("training") or {})
        training[fix.param or ""] = fix.value
        return MacroCommand(fix.label, [SetMetadata("training", training)])
    raise GraphEditError(f"unknown kind of fix {fix.kind!r}")


def remove_and_bridge(graph: LayerGraph, node_id: str, text: str = "") -> Command:
    """Remove a one-input node and connect what fed it to everything it fed (one undo step)."""
    node = graph.node(node_id)
    incoming = [e for e in graph.edges_touching(node_id) if e.dst.node == node_id]
    outgoing = [e for e in graph.edges_touching(node_id) if e.src.node == node_id]
    if len(incoming) != 1:
        raise GraphEditError(f"cannot bridge {node.name}: it has {len(incoming)} inputs, not one")
    source = incoming[0].src
    steps: list[Command] = [RemoveNode(node_id)]
    steps += [Connect(Edge(source, edge.dst)) for edge in outgoing]
    return MacroCommand(text or f"remove {node.name}", steps)


def replace_layer(
    graph: LayerGraph, node_id: str, layer_type: str, params: dict, text: str = ""
) -> Command:
    """Swap a node for a layer of ``layer_type`` with the same id, name, position and wires
    (wires into ports the new type lacks are dropped)."""
    old = graph.node(node_id)
    layer = get_layer_type(layer_type)
    ports = {p.name for p in layer.input_ports(layer.defaults())}
    outputs = {p.name for p in layer.output_ports(params)}
    edges = graph.edges_touching(node_id)
    new = LayerNode(node_id, layer.id, old.name, params, old.position, old.trainable)
    steps: list[Command] = [RemoveNode(node_id), AddNode(new)]
    for edge in edges:
        if (edge.dst.node == node_id and edge.dst.port in ports) or (
            edge.src.node == node_id and edge.src.port in outputs
        ):
            steps.append(Connect(edge))
    return MacroCommand(text or f"replace {old.name} by {layer.label}", steps)


def insert_layer_before(
    graph: LayerGraph,
    node_id: str,
    port: str,
    layer_type: str,
    params: dict | None = None,
    text: str = "",
) -> Command:
    """Insert a new layer on the wire that feeds ``port`` of ``node_id`` (one undo step)."""
    layer = get_layer_type(layer_type)
    target = graph.node(node_id)
    edge = graph.incoming_edge(PortRef(node_id, port))
    new_id = graph.new_node_id()
    x, y = target.position
    if edge is not None:
        sx, sy = graph.node(edge.src.node).position
        position = ((sx + x) / 2, (sy + y) / 2)
    else:
        position = (x - 200, y)
    node = LayerNode(
        new_id, layer.id, graph.unique_name(layer.prefix), dict(params or {}), position
    )
    in_port = layer.input_ports(layer.defaults())[0].name
    out_port = layer.outputs[0].name
    steps: list[Command] = [AddNode(node)]
    if edge is not None:
        steps += [Disconnect(edge), Connect(Edge(edge.src, PortRef(new_id, in_port)))]
    steps.append(Connect(Edge(PortRef(new_id, out_port), PortRef(node_id, port))))
    return MacroCommand(text or f"insert {layer.label} before {target.name}", steps)

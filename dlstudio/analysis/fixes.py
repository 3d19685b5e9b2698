"""Turn a diagnostic's :class:`Fix` into an undoable command on the graph."""

from __future__ import annotations

from dlstudio.core.commands import AddNode, Command, Connect, Disconnect, MacroCommand, SetParam
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
        return insert_layer_before(
            graph, node_id, fix.port or "in", fix.layer_type or "", dict(fix.params), text=fix.label
        )
    raise GraphEditError(f"unknown kind of fix {fix.kind!r}")


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

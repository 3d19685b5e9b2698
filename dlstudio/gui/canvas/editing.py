"""The canvas's edits as commands: connect checks, delete, copy/paste, auto layout.

Pure functions over a :class:`LayerGraph` (no Qt), so the rules are easy to test and the scene
stays about drawing and input.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from dlstudio.core import (
    AddNode,
    Command,
    Connect,
    Disconnect,
    Edge,
    GraphEditError,
    LayerGraph,
    LayerNode,
    MacroCommand,
    MoveNodes,
    PortRef,
    RemoveNode,
    dumps_project,
    loads_project,
)
from dlstudio.core.blocks import BlockDefinition, definition_order, used_definitions
from dlstudio.layers import get_layer_type
from dlstudio.layers.validation import check_node

NODES_MIME = "application/x-dlstudio-nodes"
"""Clipboard type of copied nodes: a project JSON holding the nodes and the wires between them."""
LAYER_MIME = "application/x-dlstudio-layer"
"""Drag-and-drop type from the palette: the layer type id, UTF-8."""
PASTE_OFFSET = (40.0, 40.0)


def connection_endpoints(
    a: PortRef, a_is_output: bool, b: PortRef, b_is_output: bool
) -> tuple[PortRef, PortRef] | str:
    """``(src, dst)`` for a drag between two ports in either direction, or why it cannot be."""
    if a_is_output == b_is_output:
        kind = "outputs" if a_is_output else "inputs"
        return f"cannot connect two {kind}: a wire goes from an output to an input"
    return (a, b) if a_is_output else (b, a)


def reaches(graph: LayerGraph, start: str, goal: str) -> bool:
    """True when wires lead from node ``start`` to node ``goal`` (or they are the same)."""
    successors: dict[str, list[str]] = {}
    for e in graph.edges:
        successors.setdefault(e.src.node, []).append(e.dst.node)
    seen = {start}
    stack = [start]
    while stack:
        node = stack.pop()
        if node == goal:
            return True
        for nxt in successors.get(node, ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return False


def connection_problem(
    graph: LayerGraph, src: PortRef, dst: PortRef, replace: bool = False
) -> str | None:
    """Why a wire ``src -> dst`` cannot be drawn, or None when it can (with ``replace``, an
    input fed by another wire is no obstacle: the new wire takes its place)."""
    src_name = graph.node(src.node).name
    dst_name = graph.node(dst.node).name
    if src.node == dst.node:
        return f"cannot connect {src_name} to itself"
    if reaches(graph, dst.node, src.node):
        return f"connecting {src_name} to {dst_name} would create a cycle ({dst_name} already feeds {src_name})"
    taken = graph.incoming_edge(dst)
    if taken is not None and not (replace and taken.src != src):
        other = graph.node(taken.src.node).name
        return (
            f"input {dst.port!r} of {dst_name} is already fed by {other}; "
            "delete that wire first (an input takes one tensor)"
        )
    return None


def connect_command(graph: LayerGraph, src: PortRef, dst: PortRef) -> tuple[Command, str]:
    """One undo step wiring ``src -> dst``, replacing the wire that fed ``dst`` if any (check
    :func:`connection_problem` with ``replace=True`` first); and a sentence saying what it did,
    with node names."""
    edge = Edge(src, dst)
    src_name, dst_name = graph.node(src.node).name, graph.node(dst.node).name
    taken = graph.incoming_edge(dst)
    if taken is None:
        return Connect(edge), f"Connected {src_name} to {dst_name}"
    old = graph.node(taken.src.node).name
    command = MacroCommand(f"rewire {dst_name}", [Disconnect(taken), Connect(edge)])
    return command, f"Rewired {dst_name}: now fed by {src_name} instead of {old}"


def delete_command(
    graph: LayerGraph, node_ids: Iterable[str], edges: Iterable[Edge]
) -> Command | None:
    """One undo step removing the nodes (with their wires) and the other given wires."""
    ids = [n for n in node_ids if n in graph]
    wires = [e for e in edges if e.src.node not in ids and e.dst.node not in ids]
    steps: list[Command] = [Disconnect(e) for e in wires if e in graph.edges]
    steps += [RemoveNode(n) for n in ids]
    if not steps:
        return None
    what = f"{len(ids)} layer(s)" if ids else f"{len(wires)} wire(s)"
    return MacroCommand(f"delete {what}", steps)


def copy_payload(
    graph: LayerGraph,
    node_ids: Iterable[str],
    blocks: Mapping[str, BlockDefinition] | None = None,
) -> str:
    """The clipboard text for these nodes and the wires between them (a project JSON); the
    definitions of copied block instances come along (``blocks``: the project's)."""
    ids = [n for n in graph.nodes if n in set(node_ids)]
    part = LayerGraph("clipboard")
    for node_id in ids:
        part.insert_node(graph.node(node_id).clone())
    for e in graph.edges:
        if e.src.node in part and e.dst.node in part:
            part.insert_edge(e)
    if blocks:
        used = definition_order(blocks, list(used_definitions(part)))
        part.blocks = {name: blocks[name].copy() for name in used}
    return dumps_project(part)


def _fresh_name(base_name: str, used: set[str]) -> str:
    stem = re.sub(r"\d+$", "", base_name) or base_name
    i = 1
    while f"{stem}{i}" in used:
        i += 1
    return f"{stem}{i}"


def _fresh_id(used: set[str]) -> str:
    i = len(used) + 1
    while f"n{i}" in used:
        i += 1
    return f"n{i}"


def paste_command(
    graph: LayerGraph,
    payload: str | bytes,
    offset: tuple[float, float] = PASTE_OFFSET,
    blocks: Mapping[str, BlockDefinition] | None = None,
) -> tuple[Command, list[str]]:
    """One undo step adding a copy of the clipboard's nodes and inner wires, with fresh ids and
    unique names, shifted by ``offset``. Raises :class:`ProjectFileError` for bad text, and
    :class:`GraphEditError` when a copied block instance names a definition the project
    (``blocks``) does not have."""
    part = loads_project(payload, source="the clipboard", node_checker=check_node)
    if blocks is not None:
        missing = sorted(set(used_definitions(part)) - set(blocks))
        if missing:
            raise GraphEditError(
                f"the copied layers use block {missing[0]!r}, which this project does not "
                "have; add it from the palette's Blocks first"
            )
    used_ids = set(graph.nodes)
    used_names = {n.name for n in graph.nodes.values()}
    mapping: dict[str, str] = {}
    steps: list[Command] = []
    for node in part.nodes.values():
        new_id = _fresh_id(used_ids)
        used_ids.add(new_id)
        name = _fresh_name(node.name, used_names)
        used_names.add(name)
        mapping[node.id] = new_id
        x, y = node.position
        position = (x + offset[0], y + offset[1])
        clone = LayerNode(new_id, node.type_id, name, dict(node.params), position, node.trainable)
        steps.append(AddNode(clone))
    for e in part.edges:
        src = PortRef(mapping[e.src.node], e.src.port)
        dst = PortRef(mapping[e.dst.node], e.dst.port)
        steps.append(Connect(Edge(src, dst)))
    return MacroCommand(f"paste {len(mapping)} layer(s)", steps), list(mapping.values())


def payload_origin(payload: str | bytes) -> tuple[float, float]:
    """The top-left of the copied nodes, to paste them under the mouse."""
    part = loads_project(payload, source="the clipboard", node_checker=check_node)
    xs = [n.position[0] for n in part.nodes.values()] or [0.0]
    ys = [n.position[1] for n in part.nodes.values()] or [0.0]
    return min(xs), min(ys)


def new_node(graph: LayerGraph, type_id: str, position: tuple[float, float]) -> LayerNode:
    """A node of this type with default parameters and the next free name (``conv3``)."""
    layer = get_layer_type(type_id)
    return LayerNode(graph.new_node_id(), layer.id, graph.unique_name(layer.prefix), {}, position)


def insert_on_wire_command(graph: LayerGraph, edge: Edge, type_id: str) -> tuple[Command, str]:
    """One undo step putting a new layer in the middle of ``edge``; also the new node's id."""
    layer = get_layer_type(type_id)
    (sx, sy), (dx, dy) = graph.node(edge.src.node).position, graph.node(edge.dst.node).position
    node = new_node(graph, type_id, ((sx + dx) / 2, (sy + dy) / 2))
    in_port = layer.input_ports(layer.defaults())[0].name
    steps: list[Command] = [
        AddNode(node),
        Disconnect(edge),
        Connect(Edge(edge.src, PortRef(node.id, in_port))),
        Connect(Edge(PortRef(node.id, layer.outputs[0].name), edge.dst)),
    ]
    return MacroCommand(f"insert {layer.label}", steps), node.id


def layout_command(
    graph: LayerGraph, positions: dict[str, tuple[float, float]], origin: tuple[float, float]
) -> Command | None:
    """One undo step moving the nodes to the layout's positions (shifted to ``origin``)."""
    ox, oy = origin
    moved = {
        nid: (x + ox, y + oy)
        for nid, (x, y) in positions.items()
        if nid in graph and graph.node(nid).position != (x + ox, y + oy)
    }
    if not moved:
        return None
    return MacroCommand("auto layout", [MoveNodes(moved)])

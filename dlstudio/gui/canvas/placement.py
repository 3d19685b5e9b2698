"""Where a new node goes: the free spot nearest to where it was asked for, never on top of
another node (a fix's Flatten, a layer added from the palette or the search box). A node put
between two wired layers with no room between them takes the downstream layer's place, and
that layer and the rest of its column move down (right, left to right) by one row, so the
drawing still reads in data-flow order."""

from __future__ import annotations

import math
from collections.abc import Iterable

from dlstudio.core import AddNode, Command, Connect, LayerGraph, MacroCommand, MoveNodes
from dlstudio.gui.canvas import style

GAP = 20.0
"""Empty space kept around a placed node."""
_MAX_RINGS = 60


def overlaps(a: tuple[float, float], b: tuple[float, float], gap: float = GAP) -> bool:
    """True when node boxes with top-left corners ``a`` and ``b`` are closer than ``gap``."""
    return abs(a[0] - b[0]) < style.NODE_WIDTH + gap and abs(a[1] - b[1]) < style.NODE_HEIGHT + gap


def free_spot(
    taken: Iterable[tuple[float, float]], wanted: tuple[float, float]
) -> tuple[float, float]:
    """The top-left corner nearest ``wanted``, on the grid, whose box keeps :data:`GAP` from
    every box in ``taken`` (``wanted`` itself when it is free)."""
    near = [
        p
        for p in taken
        if abs(p[0] - wanted[0]) < 40 * style.NODE_WIDTH
        and abs(p[1] - wanted[1]) < 40 * style.NODE_HEIGHT
    ]
    if not any(overlaps(p, wanted) for p in near):
        return wanted
    step = style.GRID_SIZE
    x0 = round(wanted[0] / step) * step
    y0 = round(wanted[1] / step) * step
    candidates = []
    for ring in range(1, _MAX_RINGS + 1):
        for i in range(-ring, ring + 1):
            for dx, dy in ((i, -ring), (i, ring), (-ring, i), (ring, i)):
                candidates.append((x0 + dx * step, y0 + dy * step))
        candidates.sort(key=lambda c: math.hypot(c[0] - wanted[0], c[1] - wanted[1]))
        for c in candidates:
            if not any(overlaps(p, c) for p in near):
                return c
        # Keep only the unchecked outer ring's order for the next pass: all failed here.
        candidates.clear()
    return (x0, y0 + (_MAX_RINGS + 1) * step)


def place_new_nodes(graph: LayerGraph, command: Command) -> Command:
    """Move the nodes ``command`` adds (directly or inside macros) to free spots near where
    they were meant to go, or make room between the layers they are wired between; returns
    the command to push (``command``, or a macro that also moves the layers making room)."""
    taken = [n.position for n in graph]
    connects = _of_type(command, Connect)
    moves: dict[str, tuple[float, float]] = {}
    for add in _of_type(command, AddNode):
        wanted = add.node.position
        if any(overlaps(p, wanted) for p in taken):
            room = _make_room(graph, add, connects, moves)
            if room is not None:
                add.node.position = room
                taken = [moves.get(n.id, n.position) for n in graph]
                taken.append(room)
                continue
        add.node.position = free_spot(taken, wanted)
        taken.append(add.node.position)
    if not moves:
        return command
    return MacroCommand(getattr(command, "text", "insert"), [MoveNodes(moves), command])


def _make_room(
    graph: LayerGraph,
    add: AddNode,
    connects: list[Connect],
    moves: dict[str, tuple[float, float]],
) -> tuple[float, float] | None:
    """The downstream layer's place for a node inserted between two layers, after moving that
    layer and the ones after it in its column (row, left to right) one step on; None when the
    node is not inserted between two existing layers."""
    new_id = add.node.id
    sources = [c.edge.src.node for c in connects if c.edge.dst.node == new_id]
    targets = [c.edge.dst.node for c in connects if c.edge.src.node == new_id]
    if len(sources) != 1 or len(targets) != 1:
        return None
    if sources[0] not in graph or targets[0] not in graph:
        return None
    sx, sy = moves.get(sources[0], graph.node(sources[0]).position)
    tx, ty = moves.get(targets[0], graph.node(targets[0]).position)
    across = graph.metadata.get("layout_direction") == "LR"
    if across:  # the same code with x and y swapped
        sx, sy, tx, ty = sy, sx, ty, tx
    size = style.NODE_HEIGHT if across else style.NODE_WIDTH  # across the flow
    pitch = (style.NODE_WIDTH if across else style.NODE_HEIGHT) + GAP  # along it
    if abs(tx - sx) < size and ty > sy:  # the same column: keep its spacing
        pitch = max(pitch, ty - sy)
    pitch = math.ceil(pitch / style.GRID_SIZE) * style.GRID_SIZE
    for node in graph:
        x, y = moves.get(node.id, node.position)
        a, b = (y, x) if across else (x, y)
        if abs(a - tx) < size and b >= ty:
            b += pitch
            moves[node.id] = (b, a) if across else (a, b)
    return (ty, tx) if across else (tx, ty)


def _of_type(command: Command, kind: type) -> list:
    if isinstance(command, kind):
        return [command]
    if isinstance(command, MacroCommand):
        return [a for child in command.children for a in _of_type(child, kind)]
    return []

"""Where a new node goes: the free spot nearest to where it was asked for, never on top of
another node (a fix's Flatten, a layer added from the palette or the search box)."""

from __future__ import annotations

import math
from collections.abc import Iterable

from dlstudio.core import AddNode, Command, LayerGraph, MacroCommand
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
    they were meant to go; returns the same command, ready to push."""
    taken = [n.position for n in graph]
    for add in _adds(command):
        add.node.position = free_spot(taken, add.node.position)
        taken.append(add.node.position)
    return command


def _adds(command: Command) -> list[AddNode]:
    if isinstance(command, AddNode):
        return [command]
    if isinstance(command, MacroCommand):
        return [a for child in command.children for a in _adds(child)]
    return []

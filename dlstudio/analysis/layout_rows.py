"""Placing nodes within their layers: crossing reduction and coordinates (see layout.py).

:mod:`dlstudio.analysis.layout` assigns nodes to layers; this module orders each layer to reduce
wire crossings (barycentric sweeps) and then gives every node its position along the layer,
keeping the main chain straight.
"""

from __future__ import annotations

from collections.abc import Sequence

_ORDER_ROUNDS = 4
_COORD_ROUNDS = 4
# Past this many nodes (dummies included) half the sweeps are enough and keep 1,000-node
# graphs inside 200 ms.
_LARGE = 1000
# Spine nodes must not move; ordinary nodes outweigh the dummies that carry long wires so a
# block's own nodes line up and the skip wire bends around them.
_SPINE_WEIGHT = 1e6
_REAL_WEIGHT = 1.0
_DUMMY_WEIGHT = 0.5
# A graph whose long wires would need more dummies than this (per real node) keeps only the
# shortest ones as dummies; the rest are drawn across, but the layout stays fast.
_MAX_DUMMIES_PER_NODE = 3
# Ports sit at fractions of a box's width (TB) or height (LR); a box spans this share of a slot.
PORT_SPAN = 0.75


class Segments:
    """The layered graph with dummy nodes: every wire joins adjacent layers."""

    def __init__(
        self,
        n: int,
        layer: list[int],
        succ: list[list[int]],
        ports: dict[tuple[int, int], tuple[float, float]],
    ) -> None:
        self.n = n
        self.layer = list(layer)
        self.down: list[list[int]] = [[] for _ in range(n)]
        self.up: list[list[int]] = [[] for _ in range(n)]
        # Where a segment attaches, relative to the node it comes from or goes to: its
        # neighbour's position plus this shift is where the node would sit for a straight wire.
        self.down_shift: list[list[float]] = [[] for _ in range(n)]
        self.up_shift: list[list[float]] = [[] for _ in range(n)]
        self.down_ports: list[list[tuple[float, float]]] = [[] for _ in range(n)]
        """(output offset, input offset) of each segment in ``down``."""
        self.chains: dict[tuple[int, int], list[int]] = {}
        """The dummies of each wire that got them, from its source down."""
        long_edges = sorted(
            ((layer[v] - layer[u], u, v) for u in range(n) for v in succ[u]),
            key=lambda t: t[0],
        )
        budget = _MAX_DUMMIES_PER_NODE * n + 64
        for span, u, v in long_edges:
            out_off, in_off = ports.get((u, v), (0.0, 0.0))
            if span <= 1 or span - 1 > budget:
                # Adjacent layers, or too long for the budget: a plain segment (ordering still
                # sees it between the layers it touches, which is good enough for rare giants).
                self._link(u, v, out_off, in_off)
                continue
            budget -= span - 1
            # A long wire runs in a lane of its own, and the editor draws lanes on the far side
            # of the nodes they pass (right in TB, below in LR): attach its ends there, so the
            # ordering puts the lane on that side instead of crossing the main chain to a port.
            out_off = in_off = PORT_SPAN / 2
            prev, prev_off = u, out_off
            chain = self.chains[(u, v)] = []
            for k in range(1, span):
                d = len(self.layer)
                self.layer.append(layer[u] + k)
                for lists in (self.down, self.up, self.down_shift, self.up_shift, self.down_ports):
                    lists.append([])
                self._link(prev, d, prev_off, 0.0)
                chain.append(d)
                prev, prev_off = d, 0.0
            self._link(prev, v, prev_off, in_off)

    def _link(self, u: int, v: int, out_off: float, in_off: float) -> None:
        self.down[u].append(v)
        self.down_shift[u].append(in_off - out_off)
        self.down_ports[u].append((out_off, in_off))
        self.up[v].append(u)
        self.up_shift[v].append(out_off - in_off)

    def is_dummy(self, v: int) -> bool:
        return v >= self.n


# ------------------------------------------------------------------ ordering
def initial_order(
    seg: Segments, spine: set[int], pred: list[list[int]], topo: list[int]
) -> list[list[int]]:
    """Layers filled in depth-first order from the sources, the spine explored first."""
    lo = min(seg.layer)
    count = max(seg.layer) - lo + 1
    layers: list[list[int]] = [[] for _ in range(count)]
    seen = [False] * len(seg.layer)

    def rank(w: int) -> int:
        return 0 if w in spine else 2 if seg.is_dummy(w) else 1

    roots = [v for v in topo if not pred[v]]
    roots.sort(key=lambda v: (v not in spine, v))
    for root in roots + topo:
        if seen[root]:
            continue
        stack = [root]
        while stack:
            u = stack.pop()
            if seen[u]:
                continue
            seen[u] = True
            layers[seg.layer[u] - lo].append(u)
            children = sorted(seg.down[u], key=rank)  # stable: wire order within a rank
            stack.extend(reversed([w for w in children if not seen[w]]))
    return layers


def reduce_crossings(layers: list[list[int]], seg: Segments) -> list[list[int]]:
    """Barycentric down and up sweeps; returns the best ordering seen."""
    best = [list(row) for row in layers]
    best_cross = _total_crossings(best, seg)
    current = [list(row) for row in layers]
    for _ in range(_ORDER_ROUNDS if len(seg.layer) <= _LARGE else _ORDER_ROUNDS // 2):
        if best_cross == 0:
            break
        for i in range(1, len(current)):
            current[i] = _sort_by_barycenter(current[i], current[i - 1], seg.up, seg.up_shift)
        for i in range(len(current) - 2, -1, -1):
            current[i] = _sort_by_barycenter(current[i], current[i + 1], seg.down, seg.down_shift)
        crossings = _total_crossings(current, seg)
        if crossings < best_cross:
            best_cross = crossings
            best = [list(row) for row in current]
    return best


def _sort_by_barycenter(
    row: list[int], fixed: list[int], neighbours: list[list[int]], shifts: list[list[float]]
) -> list[int]:
    where = {v: i for i, v in enumerate(fixed)}
    keys = []
    for i, v in enumerate(row):
        near = [
            where[w] + shift
            for w, shift in zip(neighbours[v], shifts[v], strict=True)
            if w in where
        ]
        # A node with no neighbour on the fixed side keeps its place.
        keys.append((sum(near) / len(near) if near else float(i), i))
    order = sorted(range(len(row)), key=keys.__getitem__)
    return [row[i] for i in order]


def _total_crossings(layers: list[list[int]], seg: Segments) -> int:
    return sum(_crossings(layers[i], layers[i + 1], seg) for i in range(len(layers) - 1))


def _crossings(top: list[int], bottom: list[int], seg: Segments) -> int:
    """Crossings between two adjacent layers, by counting inversions with a Fenwick tree.

    Segments end at their ports, so two wires into one node's two ports can cross too.
    """
    where = {v: i for i, v in enumerate(bottom)}
    ends = []
    for i, u in enumerate(top):
        for w, (out_off, in_off) in zip(seg.down[u], seg.down_ports[u], strict=True):
            if w in where:
                ends.append((i + out_off, where[w] + in_off))
    ends.sort()
    rank = {key: r for r, key in enumerate(sorted({end for _, end in ends}))}
    targets = [rank[end] for _, end in ends]
    size = len(rank)
    tree = [0] * (size + 1)
    crossings = 0
    for seen, t in enumerate(targets):
        # Earlier segments ending right of t cross this one.
        i, below = t + 1, 0
        while i > 0:
            below += tree[i]
            i -= i & -i
        crossings += seen - below
        i = t + 1
        while i <= size:
            tree[i] += 1
            i += i & -i
    return crossings


# --------------------------------------------------------------- coordinates
def assign_coordinates(layers: list[list[int]], seg: Segments, spine: set[int]) -> list[float]:
    """A cross-axis position (in slots) for every node, dummies included."""
    pos = [0.0] * len(seg.layer)
    for row in layers:
        anchor = next((i for i, v in enumerate(row) if v in spine), None)
        centre = anchor if anchor is not None else (len(row) - 1) / 2
        for i, v in enumerate(row):
            pos[v] = i - centre
    weight = [
        _SPINE_WEIGHT if v in spine else _DUMMY_WEIGHT if seg.is_dummy(v) else _REAL_WEIGHT
        for v in range(len(seg.layer))
    ]
    # Spine nodes have no neighbours to follow: they stay on their line at 0.
    up = [
        [] if v in spine else list(zip(seg.up[v], seg.up_shift[v], strict=True))
        for v in range(len(seg.layer))
    ]
    down = [
        [] if v in spine else list(zip(seg.down[v], seg.down_shift[v], strict=True))
        for v in range(len(seg.layer))
    ]
    for _ in range(_COORD_ROUNDS if len(seg.layer) <= _LARGE else _COORD_ROUNDS // 2):
        for row in layers[1:]:
            _place_row(row, pos, weight, up)
        for row in reversed(layers[:-1]):
            _place_row(row, pos, weight, down)
    # A last pass looks both ways, so a node between two branches settles in the middle.
    both = [a + b for a, b in zip(up, down, strict=True)]
    for row in layers:
        _place_row(row, pos, weight, both)
    return pos


def _place_row(
    row: list[int],
    pos: list[float],
    weight: list[float],
    neighbours: list[list[tuple[int, float]]],
) -> None:
    desired = []
    for v in row:
        near = neighbours[v]
        desired.append(sum(pos[w] + shift for w, shift in near) / len(near) if near else pos[v])
    for v, x in zip(row, _ordered_fit(desired, [weight[v] for v in row]), strict=True):
        pos[v] = x


def _ordered_fit(desired: Sequence[float], weights: Sequence[float]) -> list[float]:
    """Positions closest to ``desired`` (weighted least squares) with ``x[i+1] >= x[i] + 1``.

    Substituting ``y[i] = x[i] - i`` turns the spacing rule into ``y`` non-decreasing: weighted
    isotonic regression, solved exactly by pooling adjacent violators in linear time.
    """
    blocks: list[list[float]] = []  # [weight, weighted sum, count]
    for i, (d, w) in enumerate(zip(desired, weights, strict=True)):
        blocks.append([w, w * (d - i), 1])
        while len(blocks) > 1 and blocks[-2][1] / blocks[-2][0] >= blocks[-1][1] / blocks[-1][0]:
            w2, s2, c2 = blocks.pop()
            blocks[-1][0] += w2
            blocks[-1][1] += s2
            blocks[-1][2] += c2
    out: list[float] = []
    for w, s, c in blocks:
        y, start = s / w, len(out)
        out.extend(y + start + k for k in range(int(c)))
    return out

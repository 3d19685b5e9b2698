"""Folding a long layered layout into side-by-side bands, like text wrapping into columns.

A 70-layer ResNet laid out in one column is 60 times taller than wide: fitted into a window it
shrinks to a sliver nobody can read. :func:`fold_bands` cuts the layer sequence where only one
wire crosses (between two blocks, never through a skip connection) into bands placed side by
side (top-to-bottom flow) or one under another (left-to-right flow), choosing the number of bands
that lets the whole graph fill a view of the requested aspect ratio at the largest zoom.
"""

from __future__ import annotations

from collections.abc import Sequence

MAX_BANDS = 12
"""No more bands than this: beyond it a graph is better read as collapsed blocks."""
MIN_GAIN = 1.25
"""Fold only when it makes the fitted graph at least this much larger on screen."""
MAX_CUT_WIRES = 2
"""Cut only between layers joined by at most this many wires (a block's output and its skip)."""
READABLE_ZOOM = 0.62
"""A graph that fits its view at this zoom or more stays in one band (the editor shows full
node details from this zoom up)."""


def fold_bands(
    layer_rows: Sequence[Sequence[int]],
    pos: Sequence[float],
    crossing: Sequence[int],
    main_step: float,
    cross_step: float,
    box: tuple[float, float],
    view: tuple[float, float],
    direction: str,
) -> list[tuple[int, int]]:
    """Bands as ``[(first_layer, end_layer), ...]`` covering every layer in order.

    ``layer_rows[i]``: the vertices of layer ``i``; ``pos[v]``: vertex v's slot across the
    flow; ``crossing[i]``: how many wire segments run from layer ``i`` to ``i + 1`` (a cut is
    allowed where at most :data:`MAX_CUT_WIRES` cross, each leaving a real node: the caller counts
    a long wire's lane passing through as many); ``box``: the node box's (main, cross)
    size; ``view``: the view's (width, height) in pixels. One band unless the graph fitted in
    one band would be drawn below :data:`READABLE_ZOOM` and folding clearly helps.
    """
    count = len(layer_rows)
    extents = [
        (min(pos[v] for v in row), max(pos[v] for v in row)) if row else (0.0, 0.0)
        for row in layer_rows
    ]
    cuts = [i + 1 for i in range(count - 1) if crossing[i] <= MAX_CUT_WIRES]

    def score(bands: list[tuple[int, int]]) -> float:
        """The zoom at which these bands fit the view (at most 1)."""
        main = max(end - start for start, end in bands) * main_step - (main_step - box[0])
        cross = sum(_band_width(extents, b, cross_step, box[1]) for b in bands)
        cross += _gap(cross_step) * (len(bands) - 1)
        width, height = (cross, main) if direction == "TB" else (main, cross)
        return min(1.0, view[0] / width, view[1] / height)

    best = [(0, count)]
    best_score = plain = score(best)
    if plain >= READABLE_ZOOM:
        return best
    for k in range(2, min(MAX_BANDS, len(cuts) + 1) + 1):
        bands = _greedy_bands(count, cuts, k)
        if bands is not None and score(bands) > best_score:
            best, best_score = bands, score(bands)
    return best if best_score >= plain * MIN_GAIN else [(0, count)]


def band_offsets(
    layer_rows: Sequence[Sequence[int]],
    pos: Sequence[float],
    bands: list[tuple[int, int]],
    cross_step: float,
    box_cross: float,
) -> list[tuple[float, float]]:
    """For each band: (its smallest slot, its offset across the flow in scene units)."""
    extents = [
        (min(pos[v] for v in row), max(pos[v] for v in row)) if row else (0.0, 0.0)
        for row in layer_rows
    ]
    out: list[tuple[float, float]] = []
    offset = 0.0
    for band in bands:
        low = min(extents[i][0] for i in range(*band))
        out.append((low, offset))
        offset += _band_width(extents, band, cross_step, box_cross) + _gap(cross_step)
    return out


def _band_width(
    extents: list[tuple[float, float]], band: tuple[int, int], cross_step: float, box: float
) -> float:
    low = min(extents[i][0] for i in range(*band))
    high = max(extents[i][1] for i in range(*band))
    return (high - low) * cross_step + box


def _gap(cross_step: float) -> float:
    """Space between bands: wider than between neighbours, so bands read as separate."""
    return cross_step * 0.75


def _greedy_bands(count: int, cuts: list[int], k: int) -> list[tuple[int, int]] | None:
    """``k`` bands of about equal length, each cut at the allowed cut nearest its ideal."""
    chosen: list[int] = []
    for j in range(1, k):
        ideal = j * count / k
        options = [c for c in cuts if c > (chosen[-1] if chosen else 0) and c < count]
        if not options:
            return None
        chosen.append(min(options, key=lambda c: abs(c - ideal)))
    starts = [0, *chosen]
    ends = [*chosen, count]
    bands = [(s, e) for s, e in zip(starts, ends, strict=True) if e > s]
    return bands if len(bands) == k else None

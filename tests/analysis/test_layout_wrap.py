"""Folding long layouts into bands: fits the view better, cuts only between blocks, no overlap."""

from __future__ import annotations

import pytest
from graph_builders import fan_in_graph, residual_blocks

from dlstudio.analysis.layout import auto_layout
from tests.analysis.test_layout import _assert_no_overlaps

VIEW = (1050.0, 700.0)


def _extent(pos: dict[str, tuple[float, float]]) -> tuple[float, float]:
    xs = [x for x, _ in pos.values()]
    ys = [y for _, y in pos.values()]
    return max(xs) - min(xs) + 180, max(ys) - min(ys) + 70


def _fit_zoom(pos: dict[str, tuple[float, float]]) -> float:
    width, height = _extent(pos)
    return min(VIEW[0] / width, VIEW[1] / height)


@pytest.mark.parametrize("direction", ["TB", "LR"])
def test_long_resnet_folds_into_bands_that_fit_much_larger(direction: str) -> None:
    g, spine = residual_blocks(10)  # 61 nodes in one long column
    plain = auto_layout(g, direction)
    folded = auto_layout(g, direction, VIEW)
    assert _fit_zoom(folded) > 2.5 * _fit_zoom(plain)
    _assert_no_overlaps(folded)
    main = 1 if direction == "TB" else 0
    # Within a band every wire still points forward; a wire that goes back to the start of the
    # next band leaves a block's last node (the only kind of cut allowed).
    back = [e for e in g.edges if folded[e.src.node][main] >= folded[e.dst.node][main]]
    assert back, "expected at least one fold"
    for edge in back:
        assert folded[edge.src.node][1 - main] < folded[edge.dst.node][1 - main]
        assert edge.src.node in spine


def test_a_graph_that_already_fits_is_not_folded() -> None:
    g = fan_in_graph(4, [(0, 1), (1, 2), (2, 3)])
    assert auto_layout(g, "TB", VIEW) == auto_layout(g, "TB")


def test_no_view_means_no_folding() -> None:
    g, _ = residual_blocks(10)
    xs = {x for x, _ in auto_layout(g, "TB").values()}
    assert len(xs) <= 2  # the spine and the skip lanes beside it

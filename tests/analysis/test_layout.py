"""Auto-layout: no overlaps, wires point forward, the main chain stays straight, same every time."""

from __future__ import annotations

import pytest
from graph_builders import fan_in_graph, random_dag, residual_blocks
from hypothesis import given, settings
from hypothesis import strategies as st

from dlstudio.analysis.layout import (
    LAYER_SPACING_LR,
    LAYER_SPACING_TB,
    ROW_SPACING_LR,
    ROW_SPACING_TB,
    auto_layout,
    compute_layout,
)
from dlstudio.core.graph import Edge, LayerGraph, LayerNode, PortRef

BOX_W, BOX_H = 180.0, 90.0


def _assert_no_overlaps(pos: dict[str, tuple[float, float]]) -> None:
    boxes = sorted(pos.values())
    for i, (x1, y1) in enumerate(boxes):
        for x2, y2 in boxes[i + 1 :]:
            if x2 - x1 >= BOX_W:
                break
            assert abs(y2 - y1) >= BOX_H, f"boxes at {(x1, y1)} and {(x2, y2)} overlap"


@pytest.mark.parametrize("direction", ["TB", "LR"])
def test_chain_is_one_straight_line(direction: str) -> None:
    g = fan_in_graph(5, [(0, 1), (1, 2), (2, 3), (3, 4)])
    pos = auto_layout(g, direction)
    main = 1 if direction == "TB" else 0
    step = LAYER_SPACING_TB if direction == "TB" else LAYER_SPACING_LR
    assert [pos[f"n{i}"][main] for i in range(5)] == [i * step for i in range(5)]
    assert {pos[f"n{i}"][1 - main] for i in range(5)} == {0.0}


@pytest.mark.parametrize("direction", ["TB", "LR"])
def test_resnet_spine_is_straight_and_skips_go_beside_it(direction: str) -> None:
    g, spine = residual_blocks(4)
    pos = auto_layout(g, direction)
    cross = 0 if direction == "TB" else 1
    assert len({pos[n][cross] for n in spine}) == 1, "the main chain should be one straight line"
    _assert_no_overlaps(pos)


@pytest.mark.parametrize("direction", ["TB", "LR"])
def test_skip_wires_get_a_lane_of_their_own(direction: str) -> None:
    g, spine = residual_blocks(3)
    layout = compute_layout(g, direction)
    assert layout.positions == auto_layout(g, direction)
    main, cross = (1, 0) if direction == "TB" else (0, 1)
    skips = [e for e in g.edges if e.dst.port == "in2"]
    assert set(layout.routes) == set(skips)
    spine_line = layout.positions[spine[0]][cross] + (BOX_W if direction == "TB" else BOX_H) / 2
    for edge in skips:
        points = layout.routes[edge]
        start = layout.positions[edge.src.node][main]
        end = layout.positions[edge.dst.node][main]
        assert len(points) == 4  # the block's conv, bn, relu, conv rows
        assert all(start < p[main] < end for p in points)
        assert len({p[cross] for p in points}) == 1, "a skip lane is straight"
        assert points[0][cross] != spine_line
        for x, y in points:  # a lane never runs through a node's box
            for bx, by in layout.positions.values():
                assert not (bx <= x <= bx + BOX_W and by <= y <= by + BOX_H)


@pytest.mark.parametrize("direction", ["TB", "LR"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_dags_have_no_overlaps_and_forward_edges(direction: str, seed: int) -> None:
    g = random_dag(150, seed)
    pos = auto_layout(g, direction)
    assert set(pos) == set(g.nodes)
    _assert_no_overlaps(pos)
    main = 1 if direction == "TB" else 0
    for e in g.edges:
        assert pos[e.src.node][main] < pos[e.dst.node][main], f"{e} points backwards"


def test_branches_side_by_side_and_merge_centered() -> None:
    # An Inception-like fan-out into three branches that meet again.
    g = fan_in_graph(6, [(0, 1), (0, 2), (0, 3), (1, 4), (2, 4), (3, 4), (4, 5)])
    pos = auto_layout(g, "TB")
    xs = sorted(pos[f"n{i}"][0] for i in (1, 2, 3))
    assert xs[1] - xs[0] == ROW_SPACING_TB and xs[2] - xs[1] == ROW_SPACING_TB
    assert len({pos[f"n{i}"][1] for i in (1, 2, 3)}) == 1
    assert pos["n0"][0] == pos["n4"][0] == pos["n5"][0]


def test_second_source_sits_next_to_its_consumer() -> None:
    # n5 (a decoder's own Input) feeds only n4, deep in the graph.
    g = fan_in_graph(6, [(0, 1), (1, 2), (2, 3), (3, 4), (5, 4)])
    pos = auto_layout(g, "TB")
    assert pos["n5"][1] == pos["n3"][1]


def test_lr_spacing_and_origin() -> None:
    g = fan_in_graph(4, [(0, 1), (0, 2), (1, 3), (2, 3)])
    pos = auto_layout(g, "LR")
    assert min(x for x, _ in pos.values()) == 0
    assert min(y for _, y in pos.values()) == 0
    assert abs(pos["n1"][1] - pos["n2"][1]) == ROW_SPACING_LR


def test_deterministic() -> None:
    g = random_dag(300, 7)
    first = auto_layout(g)
    again = auto_layout(g)
    rebuilt = auto_layout(random_dag(300, 7))
    assert first == again == rebuilt


def test_empty_isolated_and_cyclic_graphs() -> None:
    assert auto_layout(LayerGraph()) == {}
    lone = fan_in_graph(3, [])
    _assert_no_overlaps(auto_layout(lone))
    cyclic = fan_in_graph(4, [(0, 1), (1, 2), (2, 1), (2, 3)])
    pos = auto_layout(cyclic)
    assert set(pos) == {"n0", "n1", "n2", "n3"}
    _assert_no_overlaps(pos)


def test_rejects_unknown_direction() -> None:
    with pytest.raises(ValueError, match="direction"):
        auto_layout(fan_in_graph(1, []), "RL")


@st.composite
def _dags(draw: st.DrawFn) -> LayerGraph:
    count = draw(st.integers(1, 30))
    pairs = st.tuples(st.integers(0, count - 1), st.integers(0, count - 1))
    edges = [(min(a, b), max(a, b)) for a, b in draw(st.lists(pairs, max_size=60)) if a != b]
    return fan_in_graph(count, edges)


@settings(max_examples=60, deadline=None)
@given(graph=_dags(), direction=st.sampled_from(["TB", "LR"]))
def test_any_dag_gets_a_clean_layout(graph: LayerGraph, direction: str) -> None:
    layout = compute_layout(graph, direction)
    assert set(layout.positions) == set(graph.nodes)
    _assert_no_overlaps(layout.positions)
    main = 1 if direction == "TB" else 0
    for e in graph.edges:
        assert layout.positions[e.src.node][main] < layout.positions[e.dst.node][main]
    for edge, points in layout.routes.items():
        start = layout.positions[edge.src.node][main]
        end = layout.positions[edge.dst.node][main]
        assert all(start < p[main] < end for p in points)
    assert compute_layout(graph, direction) == layout


def test_branches_line_up_with_the_ports_they_feed() -> None:
    # b feeds Concat's in1 (its left port), a feeds in2: b is drawn left of a, so wires don't cross.
    g = LayerGraph("ports")
    for node_id, type_id in (("x", "input"), ("a", "relu"), ("b", "relu"), ("c", "concat")):
        g.insert_node(LayerNode(node_id, type_id, node_id))
    for src, dst in (("x", "a.in"), ("x", "b.in"), ("a", "c.in2"), ("b", "c.in1")):
        node, port = dst.split(".")
        g.insert_edge(Edge(PortRef(src, "out"), PortRef(node, port)))
    for direction, cross in (("TB", 0), ("LR", 1)):
        pos = auto_layout(g, direction)
        assert pos["b"][cross] < pos["a"][cross]

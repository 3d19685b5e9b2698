"""The benchmark graphs are real models: valid, with known parameter counts."""

from __future__ import annotations

import sys

from repo_paths import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "benchmarks"))

from graphs import residual_chain, resnet50

from dlstudio.analysis import analyze


def test_resnet50_matches_torchvisions_parameter_count():
    result = analyze(resnet50())
    assert not result.diagnostics
    assert result.total_params == 25_557_032
    fc = result.nodes[result.order[-2]]
    assert fc.output.shape == ("N", 1000)


def test_a_thousand_node_graph_analyses_cleanly_in_order():
    graph = residual_chain(1000)
    result = analyze(graph)
    assert len(graph) >= 1000 and not result.diagnostics
    position = {node_id: i for i, node_id in enumerate(result.order)}
    assert all(position[e.src.node] < position[e.dst.node] for e in graph.edges)

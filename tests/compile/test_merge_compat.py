"""Projects saved before Add, Multiply and Concat broadcast (and took more than eight inputs)
load and compute exactly as they did."""

from __future__ import annotations

import json

import torch

from dlstudio.compile import compile_graph
from dlstudio.core.serialization import loads_project

# Written by the release before broadcasting: Add and Multiply of two equal shapes, Concat of 3.
_NODES = [
    ("n1", "input", "x", {"shape": [3, 4]}),
    ("n2", "relu", "act", {}),
    ("n3", "add", "sum", {}),
    ("n4", "concat", "cat", {"inputs": 3}),
    ("n5", "multiply", "gate", {}),
    ("n6", "output", "y", {}),
]
_EDGES = [
    ("n1", "n2", "in"),
    ("n1", "n3", "in1"),
    ("n2", "n3", "in2"),
    ("n3", "n5", "in1"),
    ("n2", "n5", "in2"),
    ("n5", "n4", "in1"),
    ("n1", "n4", "in2"),
    ("n2", "n4", "in3"),
    ("n4", "n6", "in"),
]
OLD_PROJECT = json.dumps(
    {
        "format": "dlstudio-project",
        "format_version": 2,
        "name": "old",
        "metadata": {},
        "nodes": [
            {
                "id": i,
                "type": t,
                "name": n,
                "params": p,
                "position": [200 * k, 0],
                "trainable": True,
            }
            for k, (i, t, n, p) in enumerate(_NODES)
        ],
        "edges": [
            {"from": {"node": a, "port": "out"}, "to": {"node": b, "port": port}}
            for a, b, port in _EDGES
        ],
    }
)


def test_a_project_saved_before_broadcasting_computes_as_before() -> None:
    graph = loads_project(OLD_PROJECT)
    compiled = compile_graph(graph)
    assert compiled.analysis.nodes["n4"].output.shape == ("N", 9, 4)
    x = torch.randn(2, 3, 4)
    relu = torch.relu(x)
    expected = torch.cat([(x + relu) * relu, x, relu], dim=1)
    with torch.no_grad():
        torch.testing.assert_close(compiled.module(x), expected)
    assert "torch.cat([" in compiled.source and " * " in compiled.source

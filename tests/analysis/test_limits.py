"""Limits that hold: blocks nested thousands deep, nested repeats that multiply past any sane
model, and symbolic sizes folded into the batch are refused or counted, never a traceback."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dlstudio.analysis import analyze
from dlstudio.analysis.blocks import MAX_EXPANDED_LAYERS
from dlstudio.core import ProjectFileError, loads_project
from dlstudio.core.blocks import MAX_NESTING
from dlstudio.layers.validation import check_node

WIRES = [
    {"from": {"node": "n1", "port": "out"}, "to": {"node": "n2", "port": "in"}},
    {"from": {"node": "n2", "port": "out"}, "to": {"node": "n3", "port": "in"}},
]


def _chain(middle: dict[str, Any]) -> dict[str, Any]:
    return {
        "nodes": [
            {"id": "n1", "type": "input", "name": "x", "params": {"shape": [4]}},
            {"id": "n2", "name": "b", **middle},
            {"id": "n3", "type": "output", "name": "out", "params": {}},
        ],
        "edges": WIRES,
    }


def _instance(block: str, repeat: int) -> dict[str, Any]:
    return {"type": "block", "params": {"block": block, "repeat": repeat}}


def nested(depth: int, repeat: int = 1, cycle: bool = False) -> str:
    """A project whose top graph holds ``repeat`` copies of B0, B0 ``repeat`` copies of B1 ...
    down to B{depth-1}, which holds one ReLU (or, with ``cycle``, B0 again)."""
    blocks = []
    for i in range(depth):
        last = i == depth - 1
        middle = (
            {"type": "relu", "params": {}}
            if last and not cycle
            else _instance("B0" if last else f"B{i + 1}", repeat)
        )
        blocks.append({"name": f"B{i}", "params": [], **_chain(middle)})
    project = {"format": "dlstudio-project", "format_version": 2, "name": "deep", "metadata": {}}
    return json.dumps({**project, **_chain(_instance("B0", repeat)), "blocks": blocks})


def _load(text: str):
    return loads_project(text, node_checker=check_node)


def test_nesting_up_to_the_limit_analyses() -> None:
    result = analyze(_load(nested(MAX_NESTING)))
    assert not result.has_errors and result.expanded_layers == 1


@pytest.mark.parametrize("depth", [MAX_NESTING + 1, 980, 5000])
def test_deeper_nesting_is_refused_when_loading(depth: int) -> None:
    with pytest.raises(ProjectFileError, match=f"blocks nest {depth} levels deep.*at most 64"):
        _load(nested(depth))


def test_a_cycle_thousands_of_blocks_long_is_named_briefly() -> None:
    with pytest.raises(ProjectFileError) as info:
        _load(nested(3000, cycle=True))
    message = str(info.value)
    assert "block B0 contains itself (B0 -> B1" in message and "... 2990 more -> B0)" in message
    assert len(message) < 400


@pytest.mark.parametrize(
    ("depth", "repeat", "expanded"),
    [(2, 1000, 1000**2), (3, 1000, 1000**3), (41, 2, 2**41)],
    ids=["1000x1000", "1000^3", "2^41"],
)
def test_nested_repeats_past_the_expanded_limit_are_refused(
    depth: int, repeat: int, expanded: int
) -> None:
    result = analyze(_load(nested(depth, repeat)))
    assert result.has_errors
    message = result.errors[0].message
    assert "layers; a model may have at most 100,000" in message, message
    assert expanded > MAX_EXPANDED_LAYERS


def test_the_limit_counts_the_whole_model() -> None:
    """Each instance within the limit, their sum not: 3 instances of 40,000 layers."""
    graph = _load(nested(2, 200))
    top = json.loads(nested(2, 200))
    assert analyze(graph).expanded_layers == 40_000
    nodes = top["nodes"]
    top["nodes"] = [nodes[0], *[{**nodes[1], "id": f"i{k}", "name": f"b{k}"} for k in range(3)]]
    top["nodes"].append(nodes[2])
    top["edges"] = [
        {"from": {"node": "n1", "port": "out"}, "to": {"node": "i0", "port": "in"}},
        {"from": {"node": "i0", "port": "out"}, "to": {"node": "i1", "port": "in"}},
        {"from": {"node": "i1", "port": "out"}, "to": {"node": "i2", "port": "in"}},
        {"from": {"node": "i2", "port": "out"}, "to": {"node": "n3", "port": "in"}},
    ]
    result = analyze(_load(json.dumps(top)))
    assert [d.message for d in result.errors] == [
        "the model expands to 120,000 layers (blocks replaced by their copies; b0 alone "
        "40,000); at most 100,000 are allowed: lower the repeat counts"
    ]


def test_flatten_from_dim_0_of_a_symbolic_input_is_counted() -> None:
    """Input [1048576, "T"], Flatten(start_dim=0): the batch folds into one symbolic size."""
    project = {
        "format": "dlstudio-project",
        "format_version": 2,
        "name": "flat",
        "metadata": {},
        "nodes": [
            {"id": "n1", "type": "input", "name": "x", "params": {"shape": [1048576, "T"]}},
            {"id": "n2", "type": "flatten", "name": "f", "params": {"start_dim": 0}},
            {"id": "n3", "type": "output", "name": "out", "params": {}},
        ],
        "edges": WIRES,
    }
    result = analyze(_load(json.dumps(project)))
    assert not result.diagnostics
    # T binds to the Input's example length (32): 2^20 x 32 float32 values, twice (in and out).
    assert result.activation_bytes == 2 * 1048576 * 32 * 4


def test_a_learned_position_table_shorter_than_the_example_sequence_is_an_error() -> None:
    """transformer-classifier: 64 learned positions, a class token before T tokens. Train fails
    on its first batch when T + 1 > 64, so the analysis says it first."""
    from repo_paths import TEMPLATES_DIR

    from dlstudio.layers.validation import load_checked

    graph = load_checked(TEMPLATES_DIR / "transformer-classifier.json")
    tokens = next(n for n in graph if n.type_id == "input")
    graph.update_node(tokens.id, params={**tokens.params, "seq_len": 63})
    assert not analyze(graph).has_errors
    graph.update_node(tokens.id, params={**tokens.params, "seq_len": 64})
    errors = analyze(graph).errors
    assert [e.message for e in errors] == [
        "pos_embed (PositionalEncoding) has positions for max_len 64 steps but the sequence "
        "(N, T+1, 64) has 65 at the example length (T = 64): set max_len to 65 or more, or use "
        "shorter sequences"
    ]
    assert errors[0].fixes[0].label == "set max_len to 65"

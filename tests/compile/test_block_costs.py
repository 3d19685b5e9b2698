"""Costs inside blocks are counted at the caller's sizes: a transformer's MACs and activation
memory follow the model's sequence length, checked against torch's own FLOP counter."""

from __future__ import annotations

import pytest
import torch
from repo_paths import TEMPLATES_DIR
from torch.utils.flop_counter import FlopCounterMode

from dlstudio.analysis import analyze
from dlstudio.compile import compile_graph
from dlstudio.core import LayerGraph
from dlstudio.layers.validation import load_checked

SHORT, LONG = 8, 48


def _at_length(name: str, length: int) -> LayerGraph:
    graph = load_checked(TEMPLATES_DIR / f"{name}.json")
    tokens = next(n for n in graph if n.type_id == "input")
    graph.update_node(tokens.id, params={**tokens.params, "seq_len": length})
    return graph


def _torch_macs(graph: LayerGraph, length: int) -> float:
    """Multiply-adds of the matrix products torch runs (FlopCounterMode counts 2 per MAC)."""
    tokens = next(n for n in graph if n.type_id == "input")
    module = compile_graph(graph).module.eval()
    example = torch.randint(0, tokens.params["vocab_size"], (1, length))
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module(example)
    return counter.get_total_flops() / 2


@pytest.mark.parametrize("name", ["transformer-classifier", "gpt-mini"])
def test_block_macs_and_memory_follow_the_models_sequence_length(name: str) -> None:
    torch.manual_seed(0)
    counted = {}
    for length in (SHORT, LONG):
        graph = _at_length(name, length)
        result = analyze(graph)
        assert not result.has_errors
        measured = _torch_macs(graph, length)
        # Our count adds what torch's counter leaves out (norms, residual adds, positional
        # sums): never below torch's matrix products, and not far above them.
        assert measured <= result.total_macs <= 1.25 * measured, (length, result.total_macs)
        counted[length] = (result.total_macs, result.activation_bytes)
    # Linear parts grow 6x from 8 to 48 tokens, attention scores 36x.
    assert counted[LONG][0] >= 5.5 * counted[SHORT][0]
    assert counted[LONG][1] >= 4 * counted[SHORT][1]

"""The full-size Transformer built by scripts/build_templates.py equals torch.nn.Transformer()."""

from __future__ import annotations

import pytest
import torch
from test_templates import build_script

from dlstudio.analysis import analyze

NN_TRANSFORMER_PARAMS = 44_140_544


def test_block_stack_has_the_parameters_of_nn_transformer() -> None:
    graph = build_script().transformer_full_size()
    result = analyze(graph)
    assert not result.diagnostics
    assert result.total_params == NN_TRANSFORMER_PARAMS
    reference = torch.nn.Transformer(batch_first=True)  # d_model 512, 8 heads, 6+6, ff 2048
    assert sum(p.numel() for p in reference.parameters()) == NN_TRANSFORMER_PARAMS


def test_block_stack_compiles_to_the_same_count() -> None:
    compile_mod = pytest.importorskip("dlstudio.compile")
    if not hasattr(compile_mod, "compile_graph"):
        pytest.skip("dlstudio.compile has no compile_graph yet")
    module = compile_mod.compile_graph(build_script().transformer_full_size()).module
    assert sum(p.numel() for p in module.parameters()) == NN_TRANSFORMER_PARAMS

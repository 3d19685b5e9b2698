"""StochasticDepth draws as torchvision's does: the same seed gives the same dropped rows (or
batch), scaled by 1 / (1 - p); evaluation passes the input through."""

from __future__ import annotations

import pytest
import torch
from graph_builders import ChainBuilder
from torchvision_shim import import_torchvision_models

from dlstudio.compile import compile_graph


@pytest.mark.parametrize("mode", ["row", "batch"])
def test_training_draws_equal_torchvision_and_eval_is_identity(mode: str) -> None:
    import_torchvision_models()
    from torchvision.ops import stochastic_depth

    b = ChainBuilder("sd")
    b.chain(
        ("input", "x", {"shape": (3, 4)}),
        ("stochastic_depth", "drop_path", {"p": 0.5, "mode": mode}),
        ("output", "y", {}),
    )
    module = compile_graph(b.graph).module
    x = torch.randn(16, 3, 4)
    module.train()
    torch.manual_seed(7)
    got = module(x)
    torch.manual_seed(7)
    expected = stochastic_depth(x, 0.5, mode, training=True)
    torch.testing.assert_close(got, expected)
    kept = (got != 0).flatten(1).all(1)
    assert 0 < kept.sum() < 16 if mode == "row" else kept.all() or not kept.any()
    module.eval()
    assert torch.equal(module(x), x)

"""The activations with parameters are written as the torch call a person would write: SELU
with ONNX's float32-rounded constants is ``F.selu(x)``; other constants spell out the formula."""

from __future__ import annotations

import torch
from graph_builders import ChainBuilder

from dlstudio.compile import compile_graph
from dlstudio.compile.codegen import generate_source


def _selu(**params):
    b = ChainBuilder("selu")
    x = b.add("input", "x", shape=(5,))
    act = b.add("selu", "act", **params)
    out = b.add("output", "y")
    b.wire(x, act)
    b.wire(act, out)
    return b.graph


def test_selu_with_onnx_constants_is_torch_selu() -> None:
    graph = _selu(alpha=1.67326319217681884765625, gamma=1.05070102214813232421875)
    source = generate_source(graph)
    assert "F.selu(" in source and "F.elu(" not in source


def test_selu_with_other_constants_spells_out_the_formula() -> None:
    graph = _selu(alpha=2.0, gamma=3.0)
    assert "3.0 * F.elu(" in generate_source(graph)
    x = torch.linspace(-2, 2, 10).reshape(2, 5)
    with torch.no_grad():
        got = compile_graph(graph).module.eval()(x)
    torch.testing.assert_close(got, 3.0 * torch.where(x > 0, x, 2.0 * torch.expm1(x)))

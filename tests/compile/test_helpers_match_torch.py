"""The helper classes written into generated files compute what PyTorch's own modules compute,
with the same parameter names, so weights move between them."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dlstudio.compile.emitters import HELPERS, helper_closure


def _namespace(*names: str) -> dict:
    namespace: dict = {}
    source = "import math\nimport torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n"
    source += "\n".join(h.source for h in helper_closure(list(names)))
    exec(compile(source, "<helpers>", "exec", dont_inherit=True), namespace)
    return namespace


def _causal(steps: int) -> torch.Tensor:
    return nn.Transformer.generate_square_subsequent_mask(steps)


@pytest.mark.parametrize("causal", [False, True])
def test_multihead_attention_matches_torch(causal: bool) -> None:
    ours = _namespace("MultiheadAttention")["MultiheadAttention"](8, 2, causal=causal).eval()
    theirs = nn.MultiheadAttention(8, 2, batch_first=True).eval()
    theirs.load_state_dict(ours.state_dict())
    q, kv = torch.randn(3, 5, 8), torch.randn(3, 5, 8)
    mask = _causal(5) if causal else None
    with torch.no_grad():
        expected = theirs(q, kv, kv, attn_mask=mask, need_weights=False)[0]
        assert torch.allclose(ours(q, kv), expected, atol=1e-5)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_encoder_layer_matches_torch(norm_first: bool, activation: str) -> None:
    cls = _namespace("TransformerEncoderLayer")["TransformerEncoderLayer"]
    ours = cls(8, 2, 16, activation=activation, norm_first=norm_first, causal=True).eval()
    theirs = nn.TransformerEncoderLayer(
        8, 2, 16, activation=activation, norm_first=norm_first, batch_first=True
    ).eval()
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(2, 6, 8)
    with torch.no_grad():
        expected = theirs(x, src_mask=_causal(6), is_causal=True)
        assert torch.allclose(ours(x), expected, atol=1e-5)


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_matches_torch(norm_first: bool) -> None:
    cls = _namespace("TransformerDecoderLayer")["TransformerDecoderLayer"]
    ours = cls(8, 2, 16, norm_first=norm_first).eval()
    theirs = nn.TransformerDecoderLayer(8, 2, 16, norm_first=norm_first, batch_first=True).eval()
    theirs.load_state_dict(ours.state_dict())
    x, memory = torch.randn(2, 6, 8), torch.randn(2, 4, 8)
    with torch.no_grad():
        expected = theirs(x, memory, tgt_mask=_causal(6), tgt_is_causal=True)
        assert torch.allclose(ours(x, memory), expected, atol=1e-5)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_recurrent_state_is_the_top_layers_final_hidden_state(bidirectional: bool) -> None:
    lstm_cls = _namespace("LSTM")["LSTM"]
    ours = lstm_cls(3, 4, num_layers=2, batch_first=True, bidirectional=bidirectional)
    theirs = nn.LSTM(3, 4, num_layers=2, batch_first=True, bidirectional=bidirectional)
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(2, 5, 3)
    with torch.no_grad():
        out, state = ours(x)
        seq, _ = theirs(x)
    assert torch.equal(out, state)
    if bidirectional:
        # Forward direction ends at the last step, backward at the first.
        assert torch.allclose(state, torch.cat([seq[:, -1, :4], seq[:, 0, 4:]], dim=-1))
    else:
        assert torch.allclose(state, seq[:, -1])


def test_every_helper_is_plain_pytorch() -> None:
    namespace = _namespace(*HELPERS)
    assert set(HELPERS) <= set(namespace)

"""The helper classes written into generated files compute what PyTorch's own modules compute,
with the same parameter names, so weights move between them."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
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
        out, state, cell = ours(x)
        seq, (_, c_n) = theirs(x)
    assert torch.equal(out, state)
    top = torch.cat([c_n[-2], c_n[-1]], dim=-1) if bidirectional else c_n[-1]
    assert torch.equal(cell, top)
    if bidirectional:
        # Forward direction ends at the last step, backward at the first.
        assert torch.allclose(state, torch.cat([seq[:, -1, :4], seq[:, 0, 4:]], dim=-1))
    else:
        assert torch.allclose(state, seq[:, -1])


def test_every_helper_is_plain_pytorch() -> None:
    namespace = _namespace(*HELPERS)
    assert set(HELPERS) <= set(namespace)


def _padding(lengths: list[int], steps: int) -> torch.Tensor:
    """1 for real steps, 0 for padding (BERT's attention_mask)."""
    return (torch.arange(steps)[None, :] < torch.tensor(lengths)[:, None]).long()


@pytest.mark.parametrize("causal", [False, True])
def test_attention_with_a_padding_mask_matches_torch(causal: bool) -> None:
    ours = _namespace("MultiheadAttention")["MultiheadAttention"](8, 2, causal=causal).eval()
    theirs = nn.MultiheadAttention(8, 2, batch_first=True).eval()
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(3, 6, 8)
    mask = _padding([6, 4, 2], 6)
    with torch.no_grad():
        expected = theirs(
            x,
            x,
            x,
            key_padding_mask=mask == 0,
            attn_mask=torch.ones(6, 6, dtype=torch.bool).triu(1) if causal else None,
            need_weights=False,
        )[0]
        got = ours(x, mask=mask)
    assert torch.allclose(got, expected, atol=1e-5)
    # Padded keys are ignored: changing what stands there changes nothing for real steps.
    changed = x.clone()
    changed[1, 4:] = torch.randn(2, 8)
    with torch.no_grad():
        assert torch.allclose(ours(changed, mask=mask)[1, :4], got[1, :4], atol=1e-6)


def test_a_row_with_nothing_to_see_stays_finite() -> None:
    ours = _namespace("MultiheadAttention")["MultiheadAttention"](8, 2).eval()
    with torch.no_grad():
        out = ours(torch.randn(2, 3, 8), mask=torch.tensor([[1, 1, 0], [0, 0, 0]]))
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("activation", ["gelu", "gelu_tanh"])
def test_encoder_layer_eps_activation_and_mask_match_torch(activation: str) -> None:
    cls = _namespace("TransformerEncoderLayer")["TransformerEncoderLayer"]
    ours = cls(8, 2, 16, activation=activation, layer_norm_eps=1e-12).eval()
    # A lambda, not nn.GELU(approximate="tanh"): torch's fast path would run the exact GELU.
    torch_activation = "gelu" if activation == "gelu" else lambda t: F.gelu(t, approximate="tanh")
    theirs = nn.TransformerEncoderLayer(
        8, 2, 16, activation=torch_activation, layer_norm_eps=1e-12, batch_first=True
    ).eval()
    theirs.load_state_dict(ours.state_dict())
    assert ours.norm1.eps == 1e-12
    x = torch.randn(3, 5, 8) * 1e-2  # small inputs, where 1e-12 and 1e-5 differ
    mask = _padding([5, 3, 1], 5)
    with torch.no_grad():
        expected = theirs(x, src_key_padding_mask=mask == 0)
        got = ours(x, mask=mask)
    real = mask.bool()
    # torch's fast path leaves padded positions as zeros: compare the real positions.
    assert torch.allclose(got[real], expected[real], atol=1e-5)


def test_decoder_layer_masks_match_torch() -> None:
    cls = _namespace("TransformerDecoderLayer")["TransformerDecoderLayer"]
    ours = cls(8, 2, 16, layer_norm_eps=1e-6).eval()
    theirs = nn.TransformerDecoderLayer(8, 2, 16, layer_norm_eps=1e-6, batch_first=True).eval()
    theirs.load_state_dict(ours.state_dict())
    x, memory = torch.randn(2, 6, 8), torch.randn(2, 4, 8)
    mask, memory_mask = _padding([6, 3], 6), _padding([4, 2], 4)
    with torch.no_grad():
        expected = theirs(
            x,
            memory,
            tgt_mask=torch.ones(6, 6, dtype=torch.bool).triu(1),
            tgt_key_padding_mask=mask == 0,
            memory_key_padding_mask=memory_mask == 0,
        )
        got = ours(x, memory, mask=mask, memory_mask=memory_mask)
    assert torch.allclose(got, expected, atol=1e-5)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_initial_state_starts_the_layer_like_torchs_hx(kind: str) -> None:
    ours = _namespace(kind)[kind](3, 4, batch_first=True, return_sequences=True)
    theirs = getattr(nn, kind)(3, 4, batch_first=True)
    theirs.load_state_dict(ours.state_dict())
    x, h0, c0 = torch.randn(2, 5, 3), torch.randn(2, 4), torch.randn(2, 4)
    with torch.no_grad():
        if kind == "LSTM":
            expected, _ = theirs(x, (h0[None], c0[None]))
            got = ours(x, h0=h0, c0=c0)[0]
            # c0 defaults to zeros when only h0 is given.
            alone, _ = theirs(x, (h0[None], torch.zeros(1, 2, 4)))
            assert torch.allclose(ours(x, h0=h0)[0], alone, atol=1e-6)
        else:
            expected, _ = theirs(x, h0[None])
            got = ours(x, h0=h0)[0]
    assert torch.allclose(got, expected, atol=1e-6)

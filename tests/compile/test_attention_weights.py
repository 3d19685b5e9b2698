"""The attention-weights output of MultiheadAttention and the Transformer layers: the weights
are what PyTorch's own modules return with ``need_weights=True`` (same parameters), the layer's
main output is unchanged, masks still apply, ONNX keeps its parity, and with the option off
nothing in the generated file changes."""

from __future__ import annotations

import pytest
import torch
from graph_builders import ChainBuilder
from torch import nn

from dlstudio.analysis import analyze
from dlstudio.compile import compile_graph, export_onnx
from dlstudio.compile.emitters import helper_closure


def _namespace(*names: str) -> dict:
    namespace: dict = {}
    source = "import math\nimport torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n"
    source += "\n".join(h.source for h in helper_closure(list(names)))
    exec(compile(source, "<helpers>", "exec", dont_inherit=True), namespace)
    return namespace


def _padding(n: int, steps: int) -> torch.Tensor:
    """A 0/1 mask (1 = real token) with the last steps of every other example padded."""
    mask = torch.ones(n, steps, dtype=torch.int64)
    mask[::2, steps - 2 :] = 0
    return mask


@pytest.mark.parametrize("average", [True, False])
@pytest.mark.parametrize("causal", [False, True])
def test_multihead_attention_weights_match_torch(average: bool, causal: bool) -> None:
    torch.manual_seed(0)
    cls = _namespace("MultiheadAttentionWithWeights")["MultiheadAttentionWithWeights"]
    ours = cls(8, 2, causal=causal, average_weights=average).eval()
    theirs = nn.MultiheadAttention(8, 2, batch_first=True).eval()
    theirs.load_state_dict(ours.state_dict())
    q, kv = torch.randn(3, 5, 8), torch.randn(3, 5, 8)
    mask = _padding(3, 5)
    attn_mask = torch.ones(5, 5, dtype=torch.bool).triu(1) if causal else None  # True: hidden
    with torch.no_grad():
        out, weights = ours(q, kv, mask=mask)
        expected, expected_weights = theirs(
            q,
            kv,
            kv,
            key_padding_mask=mask == 0,
            attn_mask=attn_mask,
            need_weights=True,
            average_attn_weights=average,
        )
    assert weights.shape == ((3, 5, 5) if average else (3, 2, 5, 5))
    assert torch.allclose(out, expected, atol=1e-5)
    assert torch.allclose(weights, expected_weights, atol=1e-6)
    assert torch.allclose(weights.sum(-1), torch.ones(()), atol=1e-5)


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_weights_match_torchs_layer(norm_first: bool) -> None:
    """Same state_dict keys as nn.TransformerEncoderLayer, the same output, and the weights of
    its own ``self_attn(..., need_weights=True)`` on the sub-layer's input."""
    torch.manual_seed(1)
    cls = _namespace("TransformerEncoderLayerWithWeights")["TransformerEncoderLayerWithWeights"]
    ours = cls(8, 2, 16, norm_first=norm_first, average_weights=False).eval()
    theirs = nn.TransformerEncoderLayer(8, 2, 16, norm_first=norm_first, batch_first=True).eval()
    theirs.load_state_dict(ours.state_dict())  # strict: the keys are torch's
    x, mask = torch.randn(4, 6, 8), _padding(4, 6)
    with torch.no_grad():
        out, weights = ours(x, mask=mask)
        expected = theirs(x, src_key_padding_mask=mask == 0)
        h = theirs.norm1(x) if norm_first else x
        _, expected_weights = theirs.self_attn(
            h, h, h, key_padding_mask=mask == 0, need_weights=True, average_attn_weights=False
        )
    real = mask.bool()  # torch's fast path zeroes padded positions of its output
    assert torch.allclose(out[real], expected[real], atol=1e-5)
    assert torch.allclose(weights, expected_weights, atol=1e-6)


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_weights_match_torchs_layer(norm_first: bool) -> None:
    torch.manual_seed(2)
    cls = _namespace("TransformerDecoderLayerWithWeights")["TransformerDecoderLayerWithWeights"]
    ours = cls(8, 2, 16, norm_first=norm_first).eval()
    theirs = nn.TransformerDecoderLayer(8, 2, 16, norm_first=norm_first, batch_first=True).eval()
    theirs.load_state_dict(ours.state_dict())
    x, memory, memory_mask = torch.randn(2, 6, 8), torch.randn(2, 4, 8), _padding(2, 4)
    causal = nn.Transformer.generate_square_subsequent_mask(6)
    with torch.no_grad():
        out, weights, cross = ours(x, memory, memory_mask=memory_mask)
        expected = theirs(
            x, memory, tgt_mask=causal, tgt_is_causal=True, memory_key_padding_mask=memory_mask == 0
        )
        h = theirs.norm1(x) if norm_first else x
        attended, expected_weights = theirs.self_attn(h, h, h, attn_mask=causal, need_weights=True)
        h = x + attended if norm_first else theirs.norm1(x + attended)
        h2 = theirs.norm2(h) if norm_first else h
        _, expected_cross = theirs.multihead_attn(
            h2, memory, memory, key_padding_mask=memory_mask == 0, need_weights=True
        )
    assert torch.allclose(out, expected, atol=1e-5)
    assert torch.allclose(weights, expected_weights, atol=1e-6)
    assert torch.allclose(cross, expected_cross, atol=1e-6)
    assert torch.all(weights.triu(1) < 1e-6)  # causal: nothing from the future
    assert torch.all(cross[0, :, 2:] < 1e-6)  # padded memory steps get no weight


def _encoder_graph(weights: str | None):
    b = ChainBuilder("enc")
    tokens = b.add("input", "tokens", shape=("T",), dtype="int64", vocab_size=20, seq_len=7)
    mask = b.add("input", "mask", shape=("T",), dtype="int64", vocab_size=2, seq_len=7)
    embed = b.add("embedding", "embed", num_embeddings=20, embedding_dim=8)
    options = {} if weights is None else {"attention_weights": weights}
    enc = b.add("transformer_encoder_layer", "enc", nhead=2, dim_feedforward=16, **options)
    attn = b.add("multihead_attention", "attn", num_heads=2, causal=True, **options)
    out = b.add("output", "out")
    b.wire(tokens, embed)
    b.wire(embed, enc)
    b.wire(mask, enc, dst_port="mask")
    b.wire(enc, attn, dst_port="query")
    b.wire(mask, attn, dst_port="mask")
    b.wire(attn, out)
    if weights not in (None, "off"):
        b.wire(enc, b.add("output", "enc_weights"), src_port="weights")
        b.wire(attn, b.add("output", "attn_weights"), src_port="weights")
    return b.graph


def test_off_changes_nothing_and_on_keeps_the_weights_and_the_seed() -> None:
    default, off = compile_graph(_encoder_graph(None)), compile_graph(_encoder_graph("off"))
    assert off.source == default.source
    assert "WithWeights" not in default.source and "attention_with_weights" not in default.source
    torch.manual_seed(3)
    plain = compile_graph(_encoder_graph(None)).module.state_dict()
    torch.manual_seed(3)
    weighted = compile_graph(_encoder_graph("per_head"))
    state = weighted.module.state_dict()
    assert list(state) == list(plain)  # same keys, same order
    assert all(torch.equal(state[k], plain[k]) for k in plain)  # same initial values
    assert [s.shape for s in weighted.output_specs] == [
        ("N", "T", 8),
        ("N", 2, "T", "T"),
        ("N", 2, "T", "T"),
    ]


def test_weights_output_exports_to_onnx_with_parity(tmp_path) -> None:
    path = tmp_path / "weights.onnx"
    report = export_onnx(_encoder_graph("mean"), path)
    assert report.ok, report.message
    assert report.checked_seq_len not in (None, 7)
    assert report.max_abs_diff <= 1e-4


def test_a_wire_from_a_weights_port_that_is_off_is_an_error_with_a_fix() -> None:
    graph = _encoder_graph("mean")
    enc = graph.node_by_name("enc")
    graph.update_node(enc.id, params={**enc.params, "attention_weights": "off"})
    errors = analyze(graph).errors
    message = next(d for d in errors if d.node_id == enc.id)
    assert "'weights' only while weights output is on" in message.message
    assert message.fixes[0].param == "attention_weights" and message.fixes[0].value == "mean"

"""Attention as BERT and GPT-2 write it, drawn as Dense + ScaledDotProductAttention (+ Split,
GPT-2's Conv1D): the source modules' state_dict keys and shapes, and their numbers."""

from __future__ import annotations

import pytest
import torch
from graph_builders import ChainBuilder
from torchvision_shim import import_torchvision_models

from dlstudio.compile import compile_graph, export_onnx

WIDTH, HEADS, STEPS = 16, 4, 5


@pytest.fixture(scope="module")
def transformers_models():
    import_torchvision_models()  # transformers imports torchvision's transforms
    from transformers import BertConfig, GPT2Config
    from transformers.models.bert.modeling_bert import BertSelfAttention
    from transformers.models.gpt2.modeling_gpt2 import GPT2Attention

    bert = BertConfig(hidden_size=WIDTH, num_attention_heads=HEADS, attn_implementation="eager")
    gpt2 = GPT2Config(n_embd=WIDTH, n_head=HEADS, attn_implementation="eager")
    torch.manual_seed(0)
    return BertSelfAttention(bert).eval(), GPT2Attention(gpt2, layer_idx=0).eval()


def _bert_graph():
    b = ChainBuilder("bert_self_attention")
    x = b.add("input", "hidden", shape=("T", WIDTH), seq_len=STEPS)
    mask = b.add("input", "attention_mask", shape=("T",), dtype="int64", seq_len=STEPS)
    attn = b.add("scaled_dot_product_attention", "attn", num_heads=HEADS)
    for port in ("query", "key", "value"):
        dense = b.add("dense", port, units=WIDTH)
        b.wire(x, dense)
        b.wire(dense, attn, dst_port=port)
    b.wire(mask, attn, dst_port="mask")
    b.wire(attn, b.add("output", "context"))
    return b.graph


def _gpt2_graph(with_mask: bool):
    b = ChainBuilder("gpt2_attention")
    x = b.add("input", "hidden", shape=("T", WIDTH), seq_len=STEPS)
    c_attn = b.add("gpt2_conv1d", "c_attn", units=3 * WIDTH)
    split = b.add("split", "qkv", outputs=3, dim=2)
    attn = b.add("scaled_dot_product_attention", "attn", num_heads=HEADS, causal=True)
    c_proj = b.add("gpt2_conv1d", "c_proj", units=WIDTH)
    b.wire(x, c_attn)
    b.wire(c_attn, split)
    for i, port in enumerate(("query", "key", "value"), start=1):
        b.wire(split, attn, src_port=f"out{i}", dst_port=port)
    if with_mask:
        mask = b.add("input", "attention_mask", shape=("T",), dtype="int64", seq_len=STEPS)
        b.wire(mask, attn, dst_port="mask")
    b.wire(attn, c_proj)
    b.wire(c_proj, b.add("output", "y"))
    return b.graph


def _padding(batch: int) -> torch.Tensor:
    mask = torch.ones(batch, STEPS, dtype=torch.int64)
    mask[0, -2:] = 0  # the first example is two steps shorter
    return mask


def _additive(allowed: torch.Tensor) -> torch.Tensor:
    """What Hugging Face's models add to the scores: 0 where allowed, the dtype's minimum not."""
    return torch.zeros(allowed.shape).masked_fill(~allowed, torch.finfo(torch.float32).min)


def test_bert_self_attention_keys_and_numbers(transformers_models, tmp_path) -> None:
    source, _ = transformers_models
    compiled = compile_graph(_bert_graph())
    module = compiled.module.eval()
    want = {k: v.shape for k, v in source.state_dict().items()}
    assert {k: v.shape for k, v in module.state_dict().items()} == want
    module.load_state_dict(source.state_dict())
    hidden, mask = torch.randn(2, STEPS, WIDTH), _padding(2)
    with torch.no_grad():
        expected = source(hidden, attention_mask=_additive(mask.bool()[:, None, None, :]))[0]
        got = module(hidden, mask)
    real = mask.bool()  # padded queries are not compared: BERT's output there is unused
    torch.testing.assert_close(got[real], expected[real], rtol=1e-5, atol=1e-6)
    assert "F.scaled_dot_product_attention(" in compiled.source
    assert export_onnx(compiled, tmp_path / "bert.onnx").ok


@pytest.mark.parametrize("with_mask", [False, True])
def test_gpt2_attention_keys_and_numbers(transformers_models, with_mask, tmp_path) -> None:
    _, source = transformers_models
    compiled = compile_graph(_gpt2_graph(with_mask))
    module = compiled.module.eval()
    want = {k: v.shape for k, v in source.state_dict().items()}
    assert {k: v.shape for k, v in module.state_dict().items()} == want
    assert want["c_attn.weight"] == (WIDTH, 3 * WIDTH)  # stored (in, out), as GPT-2's Conv1D
    module.load_state_dict(source.state_dict())
    hidden, mask = torch.randn(2, STEPS, WIDTH), _padding(2)
    allowed = torch.ones(STEPS, STEPS, dtype=torch.bool).tril()[None, None]
    if with_mask:
        allowed = allowed & mask.bool()[:, None, None, :]
    with torch.no_grad():
        expected = source(hidden, attention_mask=_additive(allowed))[0]
        got = module(hidden, mask) if with_mask else module(hidden)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    assert export_onnx(compiled, tmp_path / "gpt2.onnx").ok

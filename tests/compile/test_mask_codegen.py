"""Padding masks in generated code: the mask is computed once from the ids, reaches the
layers that use it, makes padded steps change nothing, and survives ONNX export."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from graph_builders import ChainBuilder
from torch import nn

from dlstudio.compile import compile_graph, export_onnx
from dlstudio.compile.codegen import generate_source

VOCAB = 20
TOKENS = {"shape": ["T"], "dtype": "int64", "padding_id": 0, "vocab_size": VOCAB, "seq_len": 9}
EMBED = ("embedding", "emb", {"num_embeddings": VOCAB, "embedding_dim": 8})
HEAD = (("dense", "fc", {"units": 3}), ("output", "out", {}))


def _graph(*layers, padding: int | None = 0) -> ChainBuilder:
    b = ChainBuilder("masked")
    b.chain(("input", "tokens", {**TOKENS, "padding_id": padding}), EMBED, *layers, *HEAD)
    return b


def _encoder() -> tuple:
    return (
        ("transformer_encoder_layer", "enc", {"nhead": 2, "dim_feedforward": 16, "dropout": 0.0}),
        ("mean_over_time", "mean", {}),
    )


def _batch(pad: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Three sequences of lengths 9, 5 and 2 padded to 9, and the same padded to 14."""
    torch.manual_seed(3)
    ids = torch.randint(1, VOCAB, (3, 9))
    ids[1, 5:] = pad
    ids[2, 2:] = pad
    longer = torch.cat([ids, torch.full((3, 5), pad)], dim=1)
    return ids, longer


CASES = {
    "encoder + mean over time": _encoder(),
    "lstm last step": (("lstm", "lstm", {"hidden_size": 6}),),
    "bidirectional gru last step": (("gru", "gru", {"hidden_size": 6, "bidirectional": True}),),
    "rnn every step + mean": (
        ("rnn", "rnn", {"hidden_size": 6, "return_sequences": True}),
        ("mean_over_time", "mean", {}),
    ),
    "gru every step + last step": (
        ("gru", "gru", {"hidden_size": 6, "return_sequences": True}),
        ("select_step", "last", {"which": "last"}),
    ),
    "causal encoder + lstm": (
        ("transformer_encoder_layer", "enc", {"nhead": 2, "dim_feedforward": 16, "causal": True}),
        ("lstm", "lstm", {"hidden_size": 6, "num_layers": 2}),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_more_padding_gives_the_same_outputs(case: str) -> None:
    layers = CASES[case]
    module = compile_graph(_graph(*layers).graph).module.eval()
    ids, longer = _batch()
    with torch.no_grad():
        short_out, long_out = module(ids), module(longer)
        alone = module(ids[1:2, :5])  # the second sequence without any padding
    assert torch.allclose(short_out, long_out, atol=1e-5), (short_out - long_out).abs().max()
    assert torch.allclose(short_out[1:2], alone, atol=1e-5)
    # Without a padding id the padded steps count: the same check must fail.
    plain = compile_graph(_graph(*layers, padding=None).graph).module.eval()
    plain.load_state_dict(module.state_dict())
    with torch.no_grad():
        assert not torch.allclose(plain(ids), plain(longer), atol=1e-3)


def test_generated_forward_computes_the_mask_once_and_passes_it_on(tmp_path) -> None:
    b = _graph(
        ("transformer_encoder_layer", "enc", {"nhead": 2, "dim_feedforward": 16}),
        ("lstm", "lstm", {"hidden_size": 8, "return_sequences": True}),
        ("mean_over_time", "mean", {}),
        padding=3,
    )
    source = generate_source(b.graph)
    forward = source.split("    def forward(")[-1]
    assert forward.count("tokens_mask = tokens != 3") == 1
    assert "self.enc(x, mask=tokens_mask)" in forward
    assert "self.lstm(x, mask=tokens_mask)" in forward
    assert "masked_mean(x, tokens_mask)" in forward
    assert "tokens[1:, config.seq_len // 2 :] = 3" in source  # example inputs end in padding
    # Without a layer that reads it, no mask line at all.
    quiet = generate_source(_graph(("dense", "proj", {"units": 4})).graph)
    assert "tokens_mask" not in quiet
    ruff = Path(sys.executable).with_name("ruff")
    if ruff.exists():
        (tmp_path / "masked.py").write_text(source)
        options = ["--isolated", "--line-length", "100"]
        select = ["--select", "E,F,W,I,B,UP,SIM,RUF"]
        subprocess.run([str(ruff), "check", *options, *select, str(tmp_path)], check=True)
        subprocess.run([str(ruff), "format", *options, "--check", str(tmp_path)], check=True)
    namespace: dict = {}
    exec(compile(source, "masked.py", "exec"), namespace)
    model = namespace["Masked"]().eval()
    with torch.no_grad():
        assert model(*namespace["example_inputs"](namespace["MaskedConfig"]())).shape == (2, 3)


def test_encoder_matches_torch_with_src_key_padding_mask() -> None:
    """The padding mask is PyTorch's key padding mask: same weights, same outputs."""
    b = _graph(("transformer_encoder_layer", "enc", {"nhead": 2, "dim_feedforward": 16}))
    compiled = compile_graph(b.graph)
    module = compiled.module.eval()
    reference = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True).eval()
    reference.load_state_dict(module.enc.state_dict())
    ids, _ = _batch()
    with torch.no_grad():
        x = module.emb(ids)
        ours = module.enc(x, mask=ids != 0)
        theirs = reference(x, src_key_padding_mask=ids == 0)
    real = ids != 0
    assert torch.allclose(ours[real], theirs[real], atol=1e-5)


def test_cross_attention_combines_the_padding_mask_with_a_wired_mask() -> None:
    b = ChainBuilder("cross")
    query = b.add("input", "query_ids", **{**TOKENS, "padding_id": None})
    keys = b.add("input", "key_ids", **TOKENS)
    extra = b.add("input", "visible", shape=["T"], dtype="int64", vocab_size=2)
    emb_q = b.add("embedding", "emb_q", num_embeddings=VOCAB, embedding_dim=8)
    emb_k = b.add("embedding", "emb_k", num_embeddings=VOCAB, embedding_dim=8)
    attn = b.add("multihead_attention", "attn", num_heads=2)
    out = b.add("output", "out")
    b.wire(query, emb_q)
    b.wire(keys, emb_k)
    b.wire(emb_q, attn, dst_port="query")
    b.wire(emb_k, attn, dst_port="key")
    b.wire(extra, attn, dst_port="mask")
    b.wire(attn, out)
    compiled = compile_graph(b.graph)
    assert "mask=visible.bool() & key_ids_mask" in compiled.source
    module = compiled.module.eval()
    ids, _ = _batch()
    q = torch.randint(1, VOCAB, (3, 4))
    hidden = torch.ones_like(ids)
    hidden[:, 0] = 0  # the wired mask hides step 0 as well
    with torch.no_grad():
        ours = module(q, ids, hidden)
        reference = module.attn(module.emb_q(q), module.emb_k(ids), mask=(ids != 0) & (hidden > 0))
        attended = module.attn(module.emb_q(q), module.emb_k(ids), mask=hidden)
    assert torch.allclose(ours, reference, atol=1e-6)
    assert not torch.allclose(ours, attended, atol=1e-4)  # padding alone changes it


def test_decoder_uses_the_memory_padding() -> None:
    b = ChainBuilder("seq2seq")
    src = b.add("input", "src", **TOKENS)
    tgt = b.add("input", "tgt", **TOKENS)
    emb_s = b.add("embedding", "emb_s", num_embeddings=VOCAB, embedding_dim=8)
    emb_t = b.add("embedding", "emb_t", num_embeddings=VOCAB, embedding_dim=8)
    dec = b.add("transformer_decoder_layer", "dec", nhead=2, dim_feedforward=16, dropout=0.0)
    fc = b.add("dense", "fc", units=3)
    out = b.add("output", "out")
    b.wire(src, emb_s)
    b.wire(tgt, emb_t)
    b.wire(emb_t, dec)
    b.wire(emb_s, dec, dst_port="memory")
    b.wire(dec, fc)
    b.wire(fc, out)
    compiled = compile_graph(b.graph)
    assert "mask=tgt_mask, memory_mask=src_mask" in compiled.source
    module = compiled.module.eval()
    ids, longer = _batch()
    target = torch.randint(1, VOCAB, (3, 4))
    target[2, 2:] = 0
    with torch.no_grad():
        short_out = module(ids, target)
        long_out = module(longer, torch.cat([target, torch.zeros(3, 3, dtype=torch.long)], 1))
    assert torch.allclose(short_out, long_out[:, :4], atol=1e-5)


def test_onnx_export_keeps_the_mask(tmp_path) -> None:
    """Attention, a packed bidirectional LSTM, the masked mean and the last real step."""
    import onnxruntime

    b = _graph(
        ("transformer_encoder_layer", "enc", {"nhead": 2, "dim_feedforward": 16}),
        ("lstm", "lstm", {"hidden_size": 6, "return_sequences": True, "bidirectional": True}),
        ("mean_over_time", "mean", {}),
    )
    lstm = b.graph.node_by_name("lstm").id
    last = b.add("select_step", "last", which="last")
    b.wire(lstm, last)
    b.wire(last, b.add("output", "last_step"))
    compiled = compile_graph(b.graph)
    report = export_onnx(compiled, tmp_path / "masked.onnx")
    assert report.ok, report.message
    assert report.exporter == "torchscript" and report.max_abs_diff <= 1e-4
    session = onnxruntime.InferenceSession(str(tmp_path / "masked.onnx"))
    ids, longer = _batch()
    name = session.get_inputs()[0].name
    short_out = session.run(None, {name: ids.numpy()})
    long_out = session.run(None, {name: longer.numpy()})
    with torch.no_grad():
        expected = compiled.module.eval()(longer)
    for short, long, torch_out in zip(short_out, long_out, expected, strict=True):
        assert np.abs(short - long).max() < 1e-5
        assert np.abs(torch_out.numpy() - long).max() < 1e-4

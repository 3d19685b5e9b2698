"""Graphs used by the compile tests beyond single layers: skips, several inputs and outputs."""

from __future__ import annotations

from graph_builders import ChainBuilder

from dlstudio.core import LayerGraph


def residual_block() -> LayerGraph:
    """Input -> conv -> relu -> conv -> add(skip) -> relu -> gap -> dense -> Output."""
    b = ChainBuilder("residual block")
    x = b.add("input", "image", shape=(4, 8, 8))
    c1 = b.add("conv2d", "conv1", out_channels=4, kernel_size=3, padding=1)
    r1 = b.add("relu", "relu1")
    c2 = b.add("conv2d", "conv2", out_channels=4, kernel_size=3, padding=1)
    add = b.add("add", "skip")
    r2 = b.add("relu", "relu2")
    gap = b.add("global_avgpool", "gap")
    fc = b.add("dense", "fc", units=3)
    out = b.add("output", "logits")
    for src, dst in ((x, c1), (c1, r1), (r1, c2), (gap, fc), (fc, out), (add, r2), (r2, gap)):
        b.wire(src, dst)
    b.wire(c2, add, dst_port="in1")
    b.wire(x, add, dst_port="in2")
    return b.graph


def sequence_model() -> LayerGraph:
    """Two token inputs; embeddings, bidirectional LSTM, GRU, attention, encoder and decoder
    blocks, a class token; two outputs (per-step logits and a sequence summary)."""
    b = ChainBuilder("seq model")
    src = b.add("input", "src", shape=("T",), dtype="int64", seq_len=7)
    tgt = b.add("input", "tgt", shape=("S",), dtype="int64", seq_len=5, vocab_size=11)
    e1 = b.add("embedding", "src_embed", num_embeddings=13, embedding_dim=8)
    p1 = b.add("positional_encoding", "src_pos", max_len=64)
    lstm = b.add("lstm", "lstm", hidden_size=4, bidirectional=True, return_sequences=True)
    gru = b.add("gru", "gru", hidden_size=8, num_layers=2, return_sequences=True)
    enc = b.add("transformer_encoder_layer", "enc", nhead=2, dim_feedforward=16, causal=True)
    e2 = b.add("embedding", "tgt_embed", num_embeddings=11, embedding_dim=8)
    p2 = b.add("positional_encoding", "tgt_pos", mode="learned", max_len=32)
    dec = b.add("transformer_decoder_layer", "dec", nhead=2, dim_feedforward=16)
    attn = b.add("multihead_attention", "cross", num_heads=2)
    head = b.add("dense", "head", units=11)
    out1 = b.add("output", "logits")
    cls = b.add("cls_token", "cls")
    mean = b.add("mean_over_time", "mean")
    out2 = b.add("output", "summary")
    for s, d in ((src, e1), (e1, p1), (p1, lstm), (lstm, gru), (gru, enc), (tgt, e2), (e2, p2)):
        b.wire(s, d)
    b.wire(p2, dec)
    b.wire(enc, dec, dst_port="memory")
    b.wire(dec, attn, dst_port="query")
    b.wire(enc, attn, dst_port="key")
    b.wire(attn, head)
    b.wire(head, out1)
    b.wire(enc, cls)
    b.wire(cls, mean)
    b.wire(mean, out2)
    return b.graph


def lstm_states() -> LayerGraph:
    """A GRU whose last step and final state are both used (a two-output node)."""
    b = ChainBuilder("states")
    x = b.add("input", "series", shape=("T", 3), seq_len=6)
    gru = b.add("gru", "gru", hidden_size=5, bidirectional=True)
    fc = b.add("dense", "fc", units=2)
    cat = b.add("concat", "join", axis=1)
    out = b.add("output", "out")
    b.wire(x, gru)
    b.wire(gru, fc)
    b.wire(fc, cat, dst_port="in1")
    b.wire(gru, cat, src_port="state", dst_port="in2")
    b.wire(cat, out)
    return b.graph

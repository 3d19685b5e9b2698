"""Attention maps after training: every attention of the model tree is found (inside blocks,
in every copy of a repeat), its weights are read through a copy with the weights option on,
and its axes get the tokens of the Input that feeds them."""

from __future__ import annotations

import numpy as np
import torch
from graph_builders import ChainBuilder
from repo_paths import TEMPLATES_DIR

from dlstudio.compile import compile_graph
from dlstudio.compile.attention_maps import AttentionProbe, with_attention_weights
from dlstudio.core.serialization import load_project


def test_the_transformer_template_shows_six_attentions_with_tokens() -> None:
    graph = load_project(TEMPLATES_DIR / "transformer.json")
    torch.manual_seed(0)
    trained = compile_graph(graph).module
    probe = AttentionProbe(graph, trained)
    vocab = ["<pad>", "<bos>", *(f"s{i}" for i in range(10))]
    src = torch.tensor([2, 3, 4, 5, 6, 7, 8, 9])
    tgt_in = torch.tensor([1, 9, 8, 7, 6, 5, 4, 3])
    maps = probe.maps((src, tgt_in), vocab)
    assert [m.label for m in maps] == [
        "encoder.0.self_attn (self-attention)",
        "encoder.1.self_attn (self-attention)",
        "decoder1.self_attn (self-attention)",
        "decoder1.multihead_attn (cross-attention)",
        "decoder2.self_attn (self-attention)",
        "decoder2.multihead_attn (cross-attention)",
    ]
    for m in maps:
        assert m.per_head and m.weights.shape == (4, 8, 8)
        assert np.allclose(m.weights.sum(axis=-1), 1.0, atol=1e-5)
    enc, cross, dec_self = maps[0], maps[3], maps[2]
    assert enc.query_tokens == enc.key_tokens == tuple(f"s{i}" for i in range(8))
    assert cross.query_tokens == ("<bos>", "s7", "s6", "s5", "s4", "s3", "s2", "s1")
    assert cross.key_tokens == enc.key_tokens
    assert np.all(np.triu(dec_self.mean(), 1) < 1e-6)  # causal: no weight on the future
    # The copy is the only graph changed; the model keeps its code.
    assert all(
        "attention_weights" not in n.params for n in graph.blocks["TransformerEncoderPostLN"].graph
    )
    assert (
        "WithWeights" in probe.compiled.source and "WithWeights" not in compile_graph(graph).source
    )


def test_a_weights_output_already_on_keeps_its_mode_and_its_wires() -> None:
    b = ChainBuilder("mean")
    x = b.add("input", "x", shape=("T", 8), seq_len=5)
    attn = b.add("multihead_attention", "attn", num_heads=2, attention_weights="mean")
    b.wire(x, attn, dst_port="query")
    b.wire(attn, b.add("output", "y"))
    b.wire(attn, b.add("output", "w"), src_port="weights")
    graph = b.graph
    assert with_attention_weights(graph).node_by_name("attn").params["attention_weights"] == "mean"
    probe = AttentionProbe(graph, compile_graph(graph).module)
    (only,) = probe.maps((torch.randn(5, 8),))
    assert not only.per_head and only.weights.shape == (1, 5, 5)
    assert only.query_tokens is None  # float features: positions only

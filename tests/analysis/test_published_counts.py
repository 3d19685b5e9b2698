"""Published models drawn with the layer options they need have their published sizes
(analysis only: these graphs are far too big to allocate in a test)."""

from __future__ import annotations

from graph_models import bert, gpt2

from dlstudio.analysis import analyze


def test_gpt2_small_with_a_tied_head_has_124_439_808_parameters() -> None:
    result = analyze(gpt2())
    assert not result.diagnostics, [d.message for d in result.diagnostics]
    assert result.total_params == 124_439_808
    head = result.nodes[gpt2().node_by_name("lm_head").id]
    assert head.param_count == 0  # the token table, counted once at wte


def test_untied_head_would_count_the_table_twice() -> None:
    graph = gpt2()
    graph.node_by_name("lm_head").params["tie_weight"] = ""
    assert analyze(graph).total_params == 124_439_808 + 50257 * 768


def test_bert_base_with_pooler_token_types_and_mask_has_109_482_240_parameters() -> None:
    graph = bert()
    result = analyze(graph)
    assert not result.diagnostics, [d.message for d in result.diagnostics]
    assert result.total_params == 109_482_240
    layer = result.nodes[graph.node_by_name("layer0").id]
    assert layer.params["layer_norm_eps"] == 1e-12
    assert "mask" in layer.inputs


def _macs(graph) -> int:
    result = analyze(graph)
    assert not result.errors, [d.message for d in result.errors]
    return result.total_macs


def test_a_transformer_layer_counts_the_macs_of_its_parts_drawn_separately() -> None:
    from graph_builders import ChainBuilder

    for norm_first in (False, True):
        block = ChainBuilder("block")
        block.chain(
            ("input", "x", {"shape": ("T", 16), "seq_len": 7}),
            (
                "transformer_encoder_layer",
                "enc",
                {"nhead": 2, "dim_feedforward": 32, "norm_first": norm_first},
            ),
            ("output", "y", {}),
        )
        parts = ChainBuilder("parts")
        x = parts.add("input", "x", shape=("T", 16), seq_len=7)
        attn = parts.add("multihead_attention", "attn", num_heads=2)
        add1, norm1 = parts.add("add", "add1"), parts.add("layernorm", "norm1")
        fc1, act = parts.add("dense", "fc1", units=32), parts.add("relu", "act")
        fc2 = parts.add("dense", "fc2", units=16)
        add2, norm2 = parts.add("add", "add2"), parts.add("layernorm", "norm2")
        out = parts.add("output", "y")
        parts.wire(x, attn, dst_port="query")
        parts.wire(attn, add1, dst_port="in1")
        parts.wire(x, add1, dst_port="in2")
        for a, b in ((add1, norm1), (norm1, fc1), (fc1, act), (act, fc2), (norm2, out)):
            parts.wire(a, b)
        parts.wire(fc2, add2, dst_port="in1")
        parts.wire(norm1, add2, dst_port="in2")
        parts.wire(add2, norm2)
        assert _macs(block.graph) == _macs(parts.graph)
        assert analyze(block.graph).total_params == analyze(parts.graph).total_params

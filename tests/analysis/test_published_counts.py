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

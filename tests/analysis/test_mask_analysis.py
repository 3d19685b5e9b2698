"""Padding masks in the analysis: an Input's padding id starts a mask that travels with the
sequence to the layers that use it, and ends where the time axis does (no torch here)."""

from __future__ import annotations

from graph_builders import ChainBuilder

from dlstudio.analysis import analyze
from dlstudio.core import LayerGraph, dumps_project, loads_project
from dlstudio.core.blocks import BlockDefinition

TOKENS = {"shape": ["T"], "dtype": "int64", "padding_id": 0, "vocab_size": 20}


def _specs(builder: ChainBuilder, ids: list[str]):
    result = analyze(builder.graph)
    assert not result.has_errors, result.diagnostics
    return result, {builder.graph.node(i).name: result.nodes[i].outputs for i in ids}


def test_mask_travels_with_the_sequence_and_ends_with_its_time_axis() -> None:
    b = ChainBuilder()
    ids = b.chain(
        ("input", "tokens", TOKENS),
        ("embedding", "emb", {"num_embeddings": 20, "embedding_dim": 8}),
        ("positional_encoding", "pos", {"max_len": 64}),
        ("transformer_encoder_layer", "enc", {"nhead": 2, "dim_feedforward": 16}),
        ("dense", "proj", {"units": 8}),
        ("relu", "act", {}),
        ("gru", "gru", {"hidden_size": 8, "return_sequences": True}),
        ("mean_over_time", "mean", {}),
        ("dense", "fc", {"units": 2}),
        ("output", "out", {}),
    )
    _, specs = _specs(b, ids)
    tokens = ids[0]
    for name in ("tokens", "emb", "pos", "enc", "proj", "act"):
        assert specs[name]["out"].mask == tokens, name
    assert specs["gru"]["out"].mask == tokens
    assert specs["gru"]["state"].mask is None  # (N, H): no time axis
    assert specs["mean"]["out"].mask is None
    assert specs["fc"]["out"].mask is None


def test_mask_travels_through_the_layers_of_published_attention() -> None:
    """BERT's and GPT-2's pieces keep the time axis; a Split or a Transpose ends the mask."""
    b = ChainBuilder()
    ids = b.chain(
        ("input", "tokens", TOKENS),
        ("embedding", "emb", {"num_embeddings": 20, "embedding_dim": 8}),
        ("rmsnorm", "norm", {}),
        ("gpt2_conv1d", "c_fc", {"units": 8}),
        ("math", "act", {"function": "erf"}),
        ("constant_op", "scale", {"op": "x * c", "value": 0.5}),
        ("stochastic_depth", "drop_path", {}),
        ("output", "out", {}),
    )
    halves, rest = b.add("split", "halves", dim=2), b.add("output", "rest")
    b.wire(ids[-2], halves)
    b.wire(halves, rest, src_port="out1")
    _, specs = _specs(b, [*ids, halves])
    for name in ("emb", "norm", "c_fc", "act", "scale", "drop_path"):
        assert specs[name]["out"].mask == ids[0], name
    assert specs["halves"]["out1"].mask is None


def test_no_padding_id_no_mask_and_a_recurrent_last_step_ends_it() -> None:
    b = ChainBuilder()
    ids = b.chain(
        ("input", "tokens", {**TOKENS, "padding_id": None, "seq_len": 8}),
        ("embedding", "emb", {"num_embeddings": 20, "embedding_dim": 8}),
        ("output", "out", {}),
    )
    _, specs = _specs(b, ids)
    assert specs["emb"]["out"].mask is None
    b = ChainBuilder()
    # hidden 32 = example length 32: a shape test alone would wrongly keep the mask here.
    ids = b.chain(
        ("input", "tokens", {**TOKENS, "shape": [32]}),
        ("embedding", "emb", {"num_embeddings": 20, "embedding_dim": 32}),
        ("lstm", "lstm", {"hidden_size": 32}),
        ("output", "out", {}),
    )
    _, specs = _specs(b, ids)
    assert specs["emb"]["out"].mask == ids[0]
    assert specs["lstm"]["out"].mask is None


def test_layers_that_move_the_time_axis_drop_the_mask() -> None:
    b = ChainBuilder()
    # (N, 16, 16): Permute keeps the first two sizes equal, yet the time axis has moved.
    ids = b.chain(
        ("input", "tokens", {**TOKENS, "shape": [16]}),
        ("embedding", "emb", {"num_embeddings": 20, "embedding_dim": 16}),
        ("permute", "swap", {"dims": (0, 2, 1)}),
        ("output", "out", {}),
    )
    result = analyze(b.graph)
    assert not result.has_errors, result.diagnostics
    assert result.nodes[ids[1]].output.mask == ids[0]
    assert result.nodes[ids[2]].output.mask is None


def test_decoder_output_follows_its_target_and_merges_keep_the_mask() -> None:
    b = ChainBuilder()
    src = b.add("input", "src", **TOKENS)
    tgt = b.add("input", "tgt", **{**TOKENS, "padding_id": None})
    emb_s = b.add("embedding", "emb_s", num_embeddings=20, embedding_dim=8)
    emb_t = b.add("embedding", "emb_t", num_embeddings=20, embedding_dim=8)
    dec = b.add("transformer_decoder_layer", "dec", nhead=2, dim_feedforward=16)
    add = b.add("add", "add")
    out = b.add("output", "out")
    b.wire(src, emb_s)
    b.wire(tgt, emb_t)
    b.wire(emb_t, dec)
    b.wire(emb_s, dec, dst_port="memory")
    b.wire(emb_s, add, dst_port="in1")
    b.wire(emb_s, add, dst_port="in2")
    b.wire(dec, out)
    out2 = b.add("output", "out2")
    b.wire(add, out2)
    result = analyze(b.graph)
    assert not result.has_errors, result.diagnostics
    assert result.nodes[dec].inputs["memory"].mask == src
    assert result.nodes[dec].output.mask is None  # the target has no padding
    assert result.nodes[add].output.mask == src


def test_padding_id_is_checked_against_dtype_shape_and_vocabulary() -> None:
    for params, words in (
        ({"dtype": "float32"}, "set dtype to int64"),
        ({"shape": [4, 5]}, "is not a sequence of token ids"),
        ({"padding_id": 20}, "only ids 0..19"),
    ):
        b = ChainBuilder()
        b.chain(("input", "tokens", {**TOKENS, **params}), ("output", "out", {}))
        messages = [d.message for d in analyze(b.graph).errors]
        assert len(messages) == 1 and words in messages[0], messages


def test_padding_id_is_saved_in_the_project_file() -> None:
    b = ChainBuilder()
    b.chain(("input", "tokens", {**TOKENS, "padding_id": 3}), ("output", "out", {}))
    text = dumps_project(b.graph)
    assert '"padding_id": 3' in text
    loaded = loads_project(text)
    assert loaded.node_by_name("tokens").params["padding_id"] == 3


def test_a_mask_does_not_enter_a_block_and_says_so_when_it_would_matter() -> None:
    inner = ChainBuilder("Mixer")
    inner.chain(
        ("input", "x", {"shape": ["T", 8]}),
        ("transformer_encoder_layer", "enc", {"nhead": 2, "dim_feedforward": 16}),
        ("output", "y", {}),
    )
    plain = ChainBuilder("Plain")
    plain.chain(("input", "x", {"shape": ["T", 8]}), ("relu", "act", {}), ("output", "y", {}))
    for definition, warned in ((inner.graph, True), (plain.graph, False)):
        b = ChainBuilder()
        ids = b.chain(
            ("input", "tokens", TOKENS),
            ("embedding", "emb", {"num_embeddings": 20, "embedding_dim": 8}),
            ("block", "mix", {"block": definition.name}),
            ("output", "out", {}),
        )
        graph: LayerGraph = b.graph
        graph.blocks[definition.name] = BlockDefinition(definition.name, definition)
        result = analyze(graph)
        assert not result.has_errors, result.diagnostics
        warnings = [d.message for d in result.diagnostics if "padding mask" in d.message]
        assert bool(warnings) is warned, warnings
        assert result.nodes[ids[2]].output.mask is None

"""Warnings that teach, and their one-click fixes applied as undoable commands."""

from __future__ import annotations

from graph_builders import ChainBuilder
from graph_models import keras_encoder_decoder

from dlstudio.analysis import analyze
from dlstudio.analysis.fixes import command_for_fix
from dlstudio.core import LayerGraph, PortRef
from dlstudio.core.commands import UndoStack
from dlstudio.core.serialization import graph_to_dict


def _warnings(graph: LayerGraph) -> dict[str, object]:
    result = analyze(graph)
    assert not result.errors, [d.message for d in result.errors]
    return {graph.node(d.node_id).name: d for d in result.diagnostics}


def _apply(graph: LayerGraph, diagnostic, index: int = 0) -> UndoStack:
    stack = UndoStack(graph)
    stack.push(command_for_fix(graph, diagnostic.node_id, diagnostic.fixes[index]))
    return stack


def test_keras_encoder_decoder_gets_the_double_softmax_and_dropout_warnings() -> None:
    graph = keras_encoder_decoder()
    before = graph_to_dict(graph)
    found = _warnings(graph)
    assert set(found) == {"softmax", "decoder"}
    softmax = found["softmax"]
    assert "double softmax" in softmax.message and "expects logits" in softmax.message
    assert [f.label for f in softmax.fixes] == ["remove softmax"]
    stack = _apply(graph, softmax)
    assert graph.node_by_name("softmax") is None
    out = graph.node_by_name("digits")
    dense = graph.node_by_name("dense")
    assert graph.incoming_edge(PortRef(out.id, "in")).src.node == dense.id
    dropout = _warnings(graph)["decoder"]
    assert "PyTorch's dropout acts only between stacked layers" in dropout.message
    stack.push(command_for_fix(graph, dropout.node_id, dropout.fixes[0]))
    assert _warnings(graph) == {}
    decoder = graph.node_by_name("decoder")
    assert decoder.params["dropout"] == 0.0
    inserted = graph.node(graph.incoming_edge(PortRef(decoder.id, "in")).src.node)
    assert (inserted.type_id, inserted.params) == ("dropout", {"p": 0.2})
    stack.undo()
    stack.undo()
    assert graph_to_dict(graph) == before


def test_log_softmax_offers_the_nll_loss_and_sigmoid_before_bce() -> None:
    b = ChainBuilder("logsoftmax")
    b.chain(
        ("input", "x", {"shape": (4,)}),
        ("dense", "fc", {"units": 3}),
        ("log_softmax", "logp", {}),
        ("output", "out", {}),
    )
    b.graph.metadata["training"] = {"loss": "cross_entropy", "lr": 0.1}
    found = _warnings(b.graph)["logp"]
    assert [f.label for f in found.fixes] == ["use the nll loss", "remove logp"]
    _apply(b.graph, found)
    assert b.graph.metadata["training"] == {"loss": "nll", "lr": 0.1}
    assert _warnings(b.graph) == {}

    b = ChainBuilder("sigmoid")
    b.chain(
        ("input", "x", {"shape": (4,)}),
        ("dense", "fc", {"units": 1}),
        ("sigmoid", "prob", {}),
        ("output", "out", {}),
    )
    b.graph.metadata["training"] = {"loss": "bce_with_logits"}
    assert "Sigmoid" in _warnings(b.graph)["prob"].message
    b.graph.metadata["training"] = {"loss": "mse"}
    assert _warnings(b.graph) == {}


def test_decoder_without_memory_suggests_a_causal_encoder_layer() -> None:
    b = ChainBuilder("gptish")
    b.chain(
        ("input", "tokens", {"shape": ("T",), "dtype": "int64", "vocab_size": 20}),
        ("embedding", "embed", {"num_embeddings": 20, "embedding_dim": 8}),
        ("transformer_decoder_layer", "block", {"nhead": 2, "dim_feedforward": 16}),
        ("dense", "head", {"units": 20}),
        ("output", "logits", {}),
    )
    result = analyze(b.graph)
    [hint] = [d for d in result.diagnostics if d.severity == "warning"]
    assert "has no memory" in hint.message
    assert hint.fixes[0].label == "replace by a causal TransformerEncoderLayer"
    _apply(b.graph, hint)
    block = b.graph.node_by_name("block")
    assert block.type_id == "transformer_encoder_layer"
    assert block.params["causal"] is True and block.params["dim_feedforward"] == 16
    assert not analyze(b.graph).diagnostics


def test_embedding_fed_floats_fix_sets_the_inputs_dtype() -> None:
    b = ChainBuilder("floats")
    b.chain(
        ("input", "tokens", {"shape": ("T",)}),
        ("embedding", "embed", {"num_embeddings": 20, "embedding_dim": 8}),
        ("output", "out", {}),
    )
    [error] = analyze(b.graph).errors
    assert error.fixes[0].label == "set the Input's dtype to int64"
    stack = _apply(b.graph, error)
    assert b.graph.node_by_name("tokens").params["dtype"] == "int64"
    assert not analyze(b.graph).errors
    stack.undo()
    assert "dtype" not in b.graph.node_by_name("tokens").params


def test_add_of_mismatched_shapes_offers_a_projection() -> None:
    b = ChainBuilder("residual")
    x = b.add("input", "x", shape=("T", 8), seq_len=5)
    narrow = b.add("dense", "narrow", units=4)
    add = b.add("add", "sum")
    out = b.add("output", "out")
    b.wire(x, narrow)
    b.wire(narrow, add, dst_port="in1")
    b.wire(x, add, dst_port="in2")
    b.wire(add, out)
    [error] = analyze(b.graph).errors
    assert error.fixes[0].label == "insert Dense(4) on in2 to project it"
    _apply(b.graph, error)
    assert not analyze(b.graph).errors

    b = ChainBuilder("conv_residual")
    x = b.add("input", "x", shape=(8, 16, 16))
    conv = b.add("conv2d", "conv", out_channels=16, kernel_size=3, stride=2, padding=1)
    add = b.add("add", "sum")
    out = b.add("output", "out")
    b.wire(x, conv)
    b.wire(conv, add, dst_port="in1")
    b.wire(x, add, dst_port="in2")
    b.wire(add, out)
    [error] = analyze(b.graph).errors
    assert error.fixes[0].label == "insert Conv2d(16, 1x1, stride 2) on in2 to project it"
    _apply(b.graph, error)
    assert not analyze(b.graph).errors


def test_a_where_on_integer_ids_offers_a_cast_that_fixes_it() -> None:
    b = ChainBuilder("where")
    mask = b.add("input", "mask", shape=("T",), dtype="int64", seq_len=4, vocab_size=2)
    x = b.add("input", "x", shape=("T",), seq_len=4)
    zeros = b.add("constant_op", "zeros", op="x * c", value=0.0)
    where = b.add("where", "keep")
    out = b.add("output", "y")
    b.wire(x, zeros)
    b.wire(mask, where, dst_port="condition")
    b.wire(x, where, dst_port="in1")
    b.wire(zeros, where, dst_port="in2")
    b.wire(where, out)
    [error] = analyze(b.graph).errors
    assert error.fixes[0].label == "insert a Cast to bool on condition"
    _apply(b.graph, error)
    assert not analyze(b.graph).errors
    assert any(n.type_id == "cast" and n.params == {"dtype": "bool"} for n in b.graph)

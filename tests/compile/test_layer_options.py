"""Layer options that published models need: a head tied to the embedding table, GELU's tanh
approximation, LayerNorm eps; small versions of GPT-2 and BERT compile and run."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from graph_builders import ChainBuilder
from graph_models import bert, gpt2

from dlstudio.analysis import analyze
from dlstudio.compile import compile_graph, export_onnx, make_inputs
from dlstudio.compile.weights import load_weights, save_weights


def _tiny_gpt():
    return gpt2(vocab=50, positions=16, layers=2, d_model=32)


def test_tied_head_shares_one_matrix_in_the_module_and_the_source(tmp_path) -> None:
    compiled = compile_graph(_tiny_gpt())
    module = compiled.module
    assert "self.lm_head.weight = self.wte.weight  # tied" in compiled.source
    assert module.lm_head.weight is module.wte.weight
    assert sum(p.numel() for p in module.parameters()) == compiled.analysis.total_params
    # Training one table trains both ends.
    tokens = make_inputs(compiled.code.inputs, 2, {"T": 5})
    module(*tokens).sum().backward()
    assert module.wte.weight.grad is not None
    # Saved under both names (safetensors refuses shared memory), loaded tied again.
    path = save_weights(module, tmp_path / "gpt.safetensors")
    fresh = compile_graph(_tiny_gpt()).module
    load_weights(fresh, path)
    assert torch.equal(fresh.wte.weight, module.wte.weight)
    assert fresh.lm_head.weight is fresh.wte.weight


def test_tied_head_exports_to_onnx(tmp_path) -> None:
    report = export_onnx(_tiny_gpt(), tmp_path / "gpt.onnx")
    assert report.ok, report.message


def _tie(units: int, target: str) -> list[str]:
    b = ChainBuilder("tie")
    b.chain(
        ("input", "tokens", {"shape": ("T",), "dtype": "int64", "vocab_size": 10}),
        ("embedding", "tok", {"num_embeddings": 10, "embedding_dim": 4}),
        ("relu", "act", {}),
        ("dense", "head", {"units": units, "tie_weight": target}),
        ("output", "out", {}),
    )
    result = analyze(b.graph)
    return [d for d in result.errors]


def test_tie_to_a_missing_node_or_a_wrong_shape_is_an_error_with_fixes() -> None:
    [missing] = _tie(10, "embed")
    assert "ties its weight to 'embed', but there is no node" in missing.message
    assert "Embeddings here: tok" in missing.message
    [not_embedding] = _tie(10, "act")
    assert "act, a relu, not an Embedding" in not_embedding.message
    [shape] = _tie(12, "tok")
    assert "table is 10 x 4" in shape.message and "12 x 4" in shape.message
    assert [f.label for f in shape.fixes] == ["set units to 10", "use a weight of its own"]
    assert not _tie(10, "tok")


def test_gelu_tanh_and_eps_reach_the_generated_code() -> None:
    b = ChainBuilder("opts")
    b.chain(
        ("input", "x", {"shape": ("T", 6), "seq_len": 4}),
        ("gelu", "gelu", {"approximate": "tanh"}),
        ("layernorm", "norm", {"eps": 1e-12}),
        ("output", "y", {}),
    )
    compiled = compile_graph(b.graph)
    assert 'F.gelu(x, approximate="tanh")' in compiled.source
    assert "nn.LayerNorm(6, eps=1e-12)" in compiled.source
    x = torch.randn(2, 4, 6)
    expected = F.layer_norm(F.gelu(x, approximate="tanh"), (6,), eps=1e-12)
    assert torch.allclose(compiled.module(x), expected, atol=1e-6)


def test_small_bert_with_token_types_and_mask_ignores_padding() -> None:
    compiled = compile_graph(bert(vocab=40, positions=16, layers=2, d_model=16))
    module = compiled.module.eval()
    assert "mask=attention_mask" in compiled.source
    ids = torch.randint(0, 40, (2, 6))
    types = torch.tensor([[0, 0, 0, 1, 1, 1]] * 2)
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]])
    with torch.no_grad():
        pooled = module(ids, types, mask)
        changed = ids.clone()
        changed[1, 4:] = (changed[1, 4:] + 1) % 40  # other tokens where the mask says padding
        again = module(changed, types, mask)
        full = torch.ones_like(mask)
        unmasked = module(ids, types, full)[1], module(changed, types, full)[1]
    assert torch.allclose(pooled[1], again[1], atol=1e-6)
    assert not torch.allclose(*unmasked)  # without the mask, those tokens do count


def test_dropout_on_a_one_layer_lstm_is_applied_to_its_input_not_dropped() -> None:
    b = ChainBuilder("lstm_dropout")
    b.chain(
        ("input", "x", {"shape": ("T", 6), "seq_len": 5}),
        ("lstm", "lstm", {"hidden_size": 4, "dropout": 0.5, "return_sequences": True}),
        ("output", "y", {}),
    )
    compiled = compile_graph(b.graph)
    assert "self.lstm(F.dropout(x, p=0.5, training=self.training))" in compiled.source
    module, x = compiled.module, torch.randn(2, 5, 6)
    torch.manual_seed(0)
    module.train()
    assert not torch.allclose(module(x), module(x))
    module.eval()
    assert torch.equal(module(x), module(x))


def test_lstm_forget_bias_starts_the_forget_gate_open() -> None:
    b = ChainBuilder("lstm_forget")
    b.chain(
        ("input", "x", {"shape": ("T", 6), "seq_len": 5}),
        ("lstm", "lstm", {"hidden_size": 4, "forget_bias": 1.0, "bidirectional": True}),
        ("output", "y", {}),
    )
    compiled = compile_graph(b.graph)
    assert "forget_bias=1.0" in compiled.source
    lstm = compiled.module.lstm
    for name, value in lstm.named_parameters():
        if name.startswith("bias_"):
            # Gates are stacked input, forget, cell, output: b_if + b_hf = 1 in each direction.
            expected = 1.0 if "_ih_" in name else 0.0
            assert torch.all(value[4:8] == expected), name
            assert not torch.all(value[:4] == 0), name  # the other gates keep PyTorch's start


def _tie_into_block(units: int, target: str):
    """A head tied to the table of an Embedding inside the block instance ``trunk``."""
    from dlstudio.core.blocks import BlockDefinition

    inner = ChainBuilder("Trunk")
    inner.chain(
        ("input", "x", {"shape": ("T",), "dtype": "int64", "vocab_size": 10}),
        ("embedding", "tok", {"num_embeddings": 10, "embedding_dim": 4}),
        ("output", "out", {}),
    )
    b = ChainBuilder("tied")
    b.graph.blocks["Trunk"] = BlockDefinition("Trunk", inner.graph)
    b.chain(
        ("input", "tokens", {"shape": ("T",), "dtype": "int64", "vocab_size": 10, "seq_len": 5}),
        ("block", "trunk", {"block": "Trunk"}),
        ("dense", "head", {"units": units, "tie_weight": target, "bias": False}),
        ("output", "y", {}),
    )
    return b.graph


def test_a_head_ties_to_an_embedding_inside_a_block_instance() -> None:
    compiled = compile_graph(_tie_into_block(10, "trunk.tok"))
    assert "self.head.weight = self.trunk.tok.weight  # tied" in compiled.source
    module = compiled.module
    assert module.head.weight is module.trunk.tok.weight
    assert sum(p.numel() for p in module.parameters()) == 40
    [shape] = analyze(_tie_into_block(12, "trunk.tok")).errors
    assert "table is 10 x 4" in shape.message and "12 x 4" in shape.message
    [missing] = analyze(_tie_into_block(10, "trunk.nope")).errors
    assert "ties its weight to 'trunk.nope', but there is no node" in missing.message

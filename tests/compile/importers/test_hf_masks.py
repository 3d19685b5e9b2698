"""Hugging Face encoders import with their attention mask and token types as Inputs: padding is
masked as transformers masks it (the reference: transformers' own outputs on padded batches),
and the keys stay transformers'."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlstudio.compile.importers import compile_import, import_module
from dlstudio.compile.importers.hf_source import model_inputs
from dlstudio.compile.importers.verify import padding_mask
from dlstudio.compile.importers.verify_torch import flat_tensors, verify_import


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _transformers():
    from dlstudio.compile.importers.loader import prepare_torchvision

    prepare_torchvision()  # transformers imports torchvision
    return pytest.importorskip("transformers")


def _import(model):
    torch.manual_seed(0)
    specs = model_inputs(model.eval(), seq_len=12)
    result = import_module(model, specs)
    assert result.ok, result.report_lines()
    check = verify_import(model, result, specs)
    assert check.ok, check.lines()
    return specs, result, check


def _padded_batch(specs, batch: int, length: int, seed: int) -> list[torch.Tensor]:
    """Random ids and token types, a mask with padding; padded positions hold random ids too,
    so only the mask keeps them out."""
    rng = np.random.default_rng(seed)
    arrays = []
    for spec in specs:
        if spec.name == "attention_mask":
            arrays.append(padding_mask(batch, length))
        else:
            arrays.append(rng.integers(0, spec.vocab_size, (batch, length)))
    return [torch.from_numpy(a.astype(np.int64)) for a in arrays]


def _attention_masks(graph):
    """(mask_type, name of the node wired to the mask port) of every attention, blocks too."""
    found = []
    for g in [graph, *(d.graph for d in graph.blocks.values())]:
        for node in g:
            if node.type_id == "scaled_dot_product_attention":
                wires = {e.dst.port: g.node(e.src.node).name for e in g.edges_into(node.id)}
                found.append((node.params.get("mask_type", "padding"), wires.get("mask")))
    return found


def test_bert_takes_attention_mask_and_token_types_and_masks_padding() -> None:
    transformers = _transformers()
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=40,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=32,
        type_vocab_size=2,
    )
    model = transformers.BertForSequenceClassification(config).eval()
    specs, result, check = _import(model)
    # The self-check ran padded masks at two batch sizes and two lengths.
    assert check.sets == ["batch 1, length 12", "batch 3, length 7"]
    inputs = [n for n in result.graph if n.type_id == "input"]
    assert [n.name for n in inputs] == ["input_ids", "attention_mask", "token_type_ids"]
    assert inputs[2].params["vocab_size"] == 2
    # Each layer's attention takes the mask as a padding mask (inside the blocks, the mask
    # arrives through a block input); no token-type row is folded to a constant.
    masks = _attention_masks(result.graph)
    assert masks and all(kind == "padding" and wire is not None for kind, wire in masks)
    compiled = compile_import(result).module.eval()
    assert set(compiled.state_dict()) == set(model.state_dict())
    assert "bert.encoder.layer.1.attention.self.query.weight" in compiled.state_dict()
    for batch, length, seed in ((4, 9, 1), (2, 14, 2)):
        feeds = _padded_batch(specs, batch, length, seed)
        with torch.no_grad():
            ours = compiled(*feeds)
            theirs = model(input_ids=feeds[0], attention_mask=feeds[1], token_type_ids=feeds[2])
        assert torch.allclose(ours, theirs.logits, atol=1e-5)
        # Changing the ids at padded positions changes nothing: they are masked.
        changed = feeds[0].clone()
        changed[feeds[1] == 0] = (changed[feeds[1] == 0] + 1) % 40
        with torch.no_grad():
            assert torch.allclose(compiled(changed, *feeds[1:]), ours, atol=1e-5)
        assert (feeds[1] == 0).any()


def test_distilbert_takes_the_attention_mask() -> None:
    transformers = _transformers()
    torch.manual_seed(0)
    config = transformers.DistilBertConfig(
        vocab_size=40, dim=16, n_layers=2, n_heads=2, hidden_dim=32, max_position_embeddings=32
    )
    model = transformers.DistilBertModel(config).eval()
    specs, result, _ = _import(model)
    assert [s.name for s in specs] == ["input_ids", "attention_mask"]
    assert all(kind == "padding" and wire for kind, wire in _attention_masks(result.graph))
    compiled = compile_import(result).module.eval()
    assert set(compiled.state_dict()) == set(model.state_dict())
    feeds = _padded_batch(specs, 3, 10, 3)
    with torch.no_grad():
        ours = compiled(*feeds)
        theirs = flat_tensors(model(input_ids=feeds[0], attention_mask=feeds[1]))[0]
    assert torch.allclose(ours, theirs, atol=1e-5)


def test_roberta_counts_positions_over_the_real_tokens(tmp_path) -> None:
    transformers = _transformers()
    torch.manual_seed(0)
    config = transformers.RobertaConfig(
        vocab_size=40,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=40,
        type_vocab_size=1,
        pad_token_id=1,
    )
    model = transformers.RobertaForSequenceClassification(config).eval()
    specs, result, _ = _import(model)
    assert [s.name for s in specs] == ["input_ids", "attention_mask", "token_type_ids"]
    nodes = [n for d in result.graph.blocks.values() for n in d.graph]
    [positions] = [n for n in nodes if n.type_id == "position_ids"]
    assert positions.params.get("padding_idx", 1) == 1  # the default is left out
    built = compile_import(result)
    compiled = built.module.eval()
    assert set(compiled.state_dict()) == set(model.state_dict())
    # Padding (id 1, mask 0) at the end of one row and the start of another: the positions of
    # the real tokens do not move, as transformers counts them.
    ids = torch.randint(2, 40, (3, 9))
    mask = torch.ones(3, 9, dtype=torch.int64)
    mask[1, 6:] = 0
    mask[2, :4] = 0
    ids[mask == 0] = 1
    types = torch.zeros_like(ids)
    with torch.no_grad():
        ours = compiled(ids, mask, types)
        theirs = model(input_ids=ids, attention_mask=mask, token_type_ids=types).logits
    assert torch.allclose(ours, theirs, atol=1e-5)
    # PositionIds exports: onnxruntime counts the same positions on the same batch.
    import onnxruntime

    from dlstudio.compile import export_onnx

    assert export_onnx(built, tmp_path / "roberta.onnx").ok
    session = onnxruntime.InferenceSession(str(tmp_path / "roberta.onnx"))
    feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    got = session.run(None, {k: v.numpy() for k, v in feeds.items()})[0]
    assert np.allclose(got, theirs.numpy(), atol=1e-4)

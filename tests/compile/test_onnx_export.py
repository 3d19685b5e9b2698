"""ONNX export: dynamic batch and length, onnx.checker, and onnxruntime parity at sizes the
export never saw; fallbacks between exporters and failures named by node."""

from __future__ import annotations

import models
import onnx
import pytest
import torch
from graph_builders import ChainBuilder, lenet5

from dlstudio.compile import compile_graph, export_onnx
from dlstudio.compile import onnx_export as onnx_export_module


def _dims(path) -> list[list]:
    graph = onnx.load(str(path)).graph
    return [[d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in graph.input]


def test_lenet(tmp_path) -> None:
    report = export_onnx(lenet5(), tmp_path / "lenet.onnx")
    assert report.ok, report.message
    assert report.exporter == "torchscript"
    assert report.max_abs_diff <= 1e-4
    assert report.checked_batch == 3 and report.checked_seq_len is None
    assert _dims(tmp_path / "lenet.onnx") == [["N", 1, 28, 28]]


def test_the_callers_module_is_left_as_it_was(tmp_path) -> None:
    compiled = compile_graph(lenet5())
    compiled.module.train()
    assert export_onnx(compiled, tmp_path / "sub" / "lenet.onnx").passed
    assert compiled.module.training


def test_sequence_model_keeps_lengths_free(tmp_path) -> None:
    """Bidirectional LSTM, stacked GRU, causal encoder, decoder, cross-attention, positions
    and a class token; two token inputs of different lengths, two outputs."""
    path = tmp_path / "seq.onnx"
    report = export_onnx(models.sequence_model(), path)
    assert report.ok, report.message
    assert report.checked_seq_len not in (None, 7)  # the example length was 7
    assert report.max_abs_diff <= 1e-4
    assert _dims(path) == [["N", "T"], ["N", "S"]]


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
def test_recurrent_layers_export(tmp_path, kind: str) -> None:
    b = ChainBuilder(kind)
    b.chain(
        ("input", "series", {"shape": ("T", 3), "seq_len": 6}),
        (kind, kind, {"hidden_size": 4, "bidirectional": True, "num_layers": 2}),
        ("dense", "fc", {"units": 2}),
        ("output", "out", {}),
    )
    report = export_onnx(b.graph, tmp_path / "m.onnx")
    assert report.ok, report.message


def test_dynamo_exporter_is_used_when_asked(tmp_path) -> None:
    b = ChainBuilder("tiny")
    b.chain(("input", "x", {"shape": (4,)}), ("dense", "fc", {"units": 3}), ("output", "y", {}))
    report = export_onnx(b.graph, tmp_path / "tiny.onnx", exporters=("dynamo",))
    assert report.ok, report.message
    assert report.exporter == "dynamo"


def test_falls_back_when_the_first_exporter_fails(tmp_path, monkeypatch) -> None:
    real = onnx_export_module._export

    def flaky(exporter, compiled, example, path):
        if exporter == "torchscript":
            raise onnx_export_module._AttemptFailed("simulated failure")
        return real("torchscript", compiled, example, path)

    monkeypatch.setattr(onnx_export_module, "_export", flaky)
    report = export_onnx(lenet5(), tmp_path / "lenet.onnx")
    assert report.ok and report.exporter == "dynamo"
    assert report.attempts[0] == "torchscript: simulated failure"


def test_both_failing_names_the_operator_and_the_node(tmp_path, monkeypatch) -> None:
    def broken_relu(x, *args, **kwargs):
        raise RuntimeError(
            "Exporting the operator 'aten::relu' to ONNX opset version 17 is not supported"
        )

    def unsupported(module, args, path, **kwargs):
        # Fail the way an exporter does on an operator it cannot convert, mid-forward.
        with monkeypatch.context() as patch:
            patch.setattr(torch.nn.functional, "relu", broken_relu)
            module(*args)

    monkeypatch.setattr(torch.onnx, "export", unsupported)
    report = export_onnx(compile_graph(lenet5()), tmp_path / "lenet.onnx")
    assert not report.ok and report.exporter is None
    assert "torchscript" in report.message and "dynamo" in report.message
    assert "aten::relu" in report.message
    assert "relu1" in report.message  # the first ReLU node of the drawing
    assert not (tmp_path / "lenet.onnx").exists()


def test_failure_text_maps_onnx_node_names_back() -> None:
    compiled = compile_graph(lenet5())
    exc = RuntimeError("Non-zero status running Reshape node. Name:'/fc2/Gemm' bad shape")
    assert "in node fc2" in onnx_export_module.describe_failure(exc, compiled)


def test_attention_with_a_padding_mask_keeps_lengths_free(tmp_path) -> None:
    """Token ids and a 0/1 mask (vocabulary 2, so random masks have padding) through a causal
    encoder layer and a masked attention: lengths stay free and onnxruntime agrees."""
    b = ChainBuilder("masked")
    tokens = b.add("input", "tokens", shape=("T",), dtype="int64", vocab_size=20, seq_len=7)
    mask = b.add("input", "mask", shape=("T",), dtype="int64", vocab_size=2, seq_len=7)
    embed = b.add("embedding", "embed", num_embeddings=20, embedding_dim=8)
    enc = b.add("transformer_encoder_layer", "enc", nhead=2, dim_feedforward=16, causal=True)
    attn = b.add("multihead_attention", "attn", num_heads=2)
    out = b.add("output", "out")
    b.wire(tokens, embed)
    b.wire(embed, enc)
    b.wire(mask, enc, dst_port="mask")
    b.wire(enc, attn, dst_port="query")
    b.wire(mask, attn, dst_port="mask")
    b.wire(attn, out)
    path = tmp_path / "masked.onnx"
    report = export_onnx(b.graph, path)
    assert report.ok, report.message
    assert report.exporter == "torchscript"
    assert report.checked_seq_len not in (None, 7)
    assert _dims(path) == [["N", "T"], ["N", "T"]]


def test_parity_runs_onnxruntime_at_another_batch_and_length_than_the_export(
    tmp_path, monkeypatch
) -> None:
    """What onnxruntime is really fed, against what the exporter traced: the batch size and the
    sequence length must differ, or a size frozen into the file would go unseen."""
    import onnxruntime

    traced: list[tuple[int, ...]] = []
    fed: list[tuple[int, ...]] = []
    real_export, real_run = onnx_export_module._export, onnxruntime.InferenceSession.run

    def export(exporter, compiled, example, path):
        traced.extend(tuple(t.shape) for t in example)
        return real_export(exporter, compiled, example, path)

    def run(self, names, feed, *args, **kwargs):
        fed.extend(tuple(v.shape) for v in feed.values())
        return real_run(self, names, feed, *args, **kwargs)

    monkeypatch.setattr(onnx_export_module, "_export", export)
    monkeypatch.setattr(onnxruntime.InferenceSession, "run", run)
    b = ChainBuilder("seq")
    b.chain(
        ("input", "series", {"shape": ("T", 3), "seq_len": 6}),
        ("gru", "gru", {"hidden_size": 4}),
        ("dense", "fc", {"units": 2}),
        ("output", "out", {}),
    )
    report = export_onnx(b.graph, tmp_path / "m.onnx")
    assert report.ok, report.message
    assert len(traced) == len(fed) == 1
    (traced_batch, traced_len, _), (fed_batch, fed_len, _) = traced[0], fed[0]
    assert fed_batch != traced_batch and fed_len != traced_len
    assert (report.checked_batch, report.checked_seq_len) == (fed_batch, fed_len)

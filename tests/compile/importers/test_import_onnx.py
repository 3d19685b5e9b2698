"""ONNX import: the files our exporter writes, and torchvision's resnet18 from torch.onnx.export,
compute what onnxruntime computes; what has no layer is named by its ONNX node."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch
from repo_paths import TEMPLATES_DIR
from torchvision_shim import import_torchvision_models

from dlstudio.analysis import analyze
from dlstudio.cli import main
from dlstudio.compile import compile_graph, export_onnx
from dlstudio.compile.importers import compile_import
from dlstudio.compile.importers.onnx_import import import_onnx
from dlstudio.core import load_project

TEMPLATES = sorted(p.stem for p in TEMPLATES_DIR.glob("*.json") if p.stem != "vgg16")
"""Every template but vgg16: its 138 M weights make a 550 MB file (40 s here), and its layers
(Conv2d, ReLU, MaxPool2d, Dense, Dropout) all come back in the other templates' round trips."""


def _feeds(path) -> dict[str, np.ndarray]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(5)
    feeds = {}
    for value in session.get_inputs():
        shape = [
            d if isinstance(d, int) else (3 if i == 0 else 9) for i, d in enumerate(value.shape)
        ]
        if "int64" in value.type:
            feeds[value.name] = rng.integers(0, 2, size=shape).astype(np.int64)
        else:
            feeds[value.name] = rng.standard_normal(shape).astype(np.float32)
    return feeds


def _assert_matches_onnxruntime(path, result) -> None:
    assert result.ok, result.report_lines()
    compiled = compile_import(result).module.eval()
    feeds = _feeds(path)
    want = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feeds)
    with torch.no_grad():
        got = compiled(*[torch.from_numpy(v) for v in feeds.values()])
    got = got if isinstance(got, tuple) else (got,)
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape
        assert np.abs(g.numpy() - w).max() < 1e-4


def _export_template(name: str, tmp_path):
    torch.manual_seed(0)
    graph = load_project(TEMPLATES_DIR / f"{name}.json")
    path = tmp_path / f"{name}.onnx"
    report = export_onnx(compile_graph(graph), path)
    assert report.ok, report.message
    return path


@pytest.mark.parametrize("name", TEMPLATES)
def test_our_onnx_files_import_and_match_onnxruntime(name: str, tmp_path) -> None:
    path = _export_template(name, tmp_path)
    result = import_onnx(path)
    _assert_matches_onnxruntime(path, result)
    if name in ("transformer-classifier", "vit-tiny", "gpt-mini", "transformer"):
        attention = [n for n in result.graph if n.type_id == "multihead_attention"]
        assert attention and not any(n.type_id == "placeholder" for n in result.graph)
        assert any(n.params.get("causal") for n in attention) == (
            name in ("gpt-mini", "transformer")
        )
    if name == "transformer":
        _assert_cross_attention_reads_the_memory(result)


def _assert_cross_attention_reads_the_memory(result) -> None:
    """The decoder's cross-attention has separate q, k and v projections (query from the target,
    key and value from the encoder's output); each folds into one MultiheadAttention whose key
    port is wired to the memory, the value following the key."""
    graph = result.graph
    cross = [n for n in graph if n.type_id == "multihead_attention" and "multihead_attn" in n.name]
    assert len(cross) == 2
    for node in cross:
        ports = {e.dst.port: e.src.node for e in graph.edges_into(node.id)}
        assert set(ports) == {"query", "key"} and ports["key"] != ports["query"]
        assert not node.params.get("causal")  # 4 heads: the match with onnxruntime shows it
        weights = result.weights[node.id]
        assert weights["in_proj_weight"].shape == (3 * 64, 64)
        assert weights["in_proj_bias"].shape == (3 * 64,)
    # Both key ports read the same tensor: the encoder's last output.
    keys = {e.src.node for n in cross for e in graph.edges_into(n.id) if e.dst.port == "key"}
    assert len(keys) == 1 and graph.node(keys.pop()).name.startswith("encoder_norm")


class _Wavy(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(4, 4)

    def forward(self, x):
        return self.fc(torch.fmod(self.fc(x), 0.7))  # ONNX Mod: no layer


def test_unrecognised_onnx_nodes_are_named_never_dropped(tmp_path) -> None:
    path = tmp_path / "wavy.onnx"
    torch.onnx.export(
        _Wavy(),
        (torch.randn(2, 4),),
        str(path),
        input_names=["x"],
        dynamic_axes={"x": {0: "N"}},
        dynamo=False,
    )
    result = import_onnx(path)
    (issue,) = result.issues
    assert issue.op == "ONNX Mod" and issue.where == "/Mod"
    node = result.graph.node(issue.node_id)
    assert node.type_id == "placeholder" and node.params["output_shape"] == [4]
    # Both Dense layers are still there, the second wired after the placeholder.
    assert [n.type_id for n in result.graph].count("dense") == 2
    assert analyze(result.graph).errors
    out = tmp_path / "wavy.json"
    assert main(["import", str(path), "--out", str(out)]) == 1


@pytest.mark.slow
def test_torchvision_resnet18_from_torch_onnx_export(tmp_path) -> None:
    torch.set_num_threads(1)
    model = import_torchvision_models().resnet18().eval()
    path = tmp_path / "r18.onnx"
    torch.onnx.export(
        model,
        (torch.randn(1, 3, 224, 224),),
        str(path),
        input_names=["image"],
        dynamic_axes={"image": {0: "N"}},
        dynamo=False,
    )
    result = import_onnx(path)
    types = [n.type_id for n in result.graph]
    # The exporter folds each BatchNorm into its convolution: 20 convolutions, one Dense.
    assert types.count("conv2d") == 20 and types.count("dense") == 1
    _assert_matches_onnxruntime(path, result)


def test_onnx_command_line(tmp_path, capsys) -> None:
    path = _export_template("lenet5", tmp_path)
    out = tmp_path / "lenet.json"
    assert main(["import", str(path), "--out", str(out)]) == 0
    assert (tmp_path / "lenet.safetensors").exists()
    assert main(["import", str(tmp_path / "missing.onnx"), "--out", str(out)]) == 2
    assert "not an ONNX model" in capsys.readouterr().err


@pytest.mark.parametrize("opset", [17, 20])  # 17 writes GELU as x * 0.5 * (1 + erf(x / sqrt 2))
def test_batchnorm_gelu_and_softmax_from_torch_onnx_export(tmp_path, opset: int) -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(4, 8),
        torch.nn.BatchNorm1d(8),
        torch.nn.GELU(),
        torch.nn.Linear(8, 3),
        torch.nn.Softmax(dim=-1),
    ).eval()
    model[1].running_mean.uniform_(-1, 1)
    path = tmp_path / "mlp.onnx"
    torch.onnx.export(
        model,
        (torch.randn(2, 4),),
        str(path),
        input_names=["x"],
        dynamic_axes={"x": {0: "N"}},
        dynamo=False,
        do_constant_folding=False,
        opset_version=opset,
    )
    result = import_onnx(path)
    types = [n.type_id for n in result.graph]
    assert {"batchnorm1d", "gelu", "softmax"} <= set(types), types
    _assert_matches_onnxruntime(path, result)


class _Stacked(torch.nn.Module):
    def __init__(self, kind: str, bidirectional: bool) -> None:
        super().__init__()
        rnn = getattr(torch.nn, kind)
        self.rnn = rnn(4, 5, num_layers=2, batch_first=True, bidirectional=bidirectional)

    def forward(self, x):
        seq, h_n = self.rnn(x)
        h_n = h_n[0] if isinstance(h_n, tuple) else h_n
        last = torch.cat([h_n[-2], h_n[-1]], -1) if self.rnn.bidirectional else h_n[-1]
        return seq, last


@pytest.mark.parametrize(("kind", "bidirectional"), [("LSTM", False), ("GRU", True)])
def test_stacked_recurrent_nodes_become_one_layer(tmp_path, kind: str, bidirectional: bool) -> None:
    # torch writes num_layers=2 as two chained ONNX nodes; they import as one layer of two.
    torch.manual_seed(0)
    path = tmp_path / "stacked.onnx"
    torch.onnx.export(
        _Stacked(kind, bidirectional).eval(),
        (torch.randn(2, 3, 4),),
        str(path),
        input_names=["x"],
        dynamic_axes={"x": {0: "N", 1: "T"}},
        dynamo=False,
    )
    result = import_onnx(path)
    (rnn,) = [n for n in result.graph if n.type_id == kind.lower()]
    assert rnn.params["num_layers"] == 2 and bool(rnn.params.get("bidirectional")) == bidirectional
    assert "weight_ih_l1" in result.weights[rnn.id]
    _assert_matches_onnxruntime(path, result)


class _EncoderDecoder(torch.nn.Module):
    """A bidirectional encoder's final (h, c), both directions joined, start the decoder."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = torch.nn.LSTM(4, 3, batch_first=True, bidirectional=True)
        self.decoder = torch.nn.LSTM(4, 6, batch_first=True)

    def forward(self, src, tgt):
        _, (h_n, c_n) = self.encoder(src)
        state = torch.cat([h_n[-2], h_n[-1]], -1)
        cell = torch.cat([c_n[-2], c_n[-1]], -1)
        seq, _ = self.decoder(tgt, (state.unsqueeze(0), cell.unsqueeze(0)))
        return seq


def test_lstm_initial_state_wires_the_encoders_state_and_cell(tmp_path) -> None:
    # ONNX's Y_h / Y_c rows become the state / cell ports, initial_h / initial_c the h0 / c0.
    torch.manual_seed(0)
    path = tmp_path / "encdec.onnx"
    torch.onnx.export(
        _EncoderDecoder().eval(),
        (torch.randn(2, 5, 4), torch.randn(2, 3, 4)),
        str(path),
        input_names=["src", "tgt"],
        dynamic_axes={"src": {0: "N", 1: "S"}, "tgt": {0: "N", 1: "T"}},
        dynamo=False,
    )
    result = import_onnx(path)
    _assert_matches_onnxruntime(path, result)
    encoder, decoder = (n for n in result.graph if n.type_id == "lstm")
    if encoder.params.get("bidirectional") is not True:
        encoder, decoder = decoder, encoder
    wires = {(e.src.node, e.src.port, e.dst.port) for e in result.graph.edges_into(decoder.id)}
    assert {(encoder.id, "state", "h0"), (encoder.id, "cell", "c0")} <= wires

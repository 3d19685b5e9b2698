"""torchvision's VisionTransformer (a small one) written by both torch exporters, as
benchmarks/bench_onnx_real_files.py writes vit_b_16: each encoder layer's nn.MultiheadAttention
block, time-major inside, imports as one MultiheadAttention layer holding the module's own
weights, and the import checks against onnxruntime. An attention block the layer does not
compute (here with a mask) is refused, naming the node."""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np
import pytest
import torch
from repo_paths import REPO_ROOT
from torchvision_shim import import_torchvision_models

from dlstudio.compile.importers.verify_onnx import import_verified


def _export():
    spec = importlib.util.spec_from_file_location(
        "bench_onnx_real_files", REPO_ROOT / "benchmarks" / "bench_onnx_real_files.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.export


def _small_vit() -> torch.nn.Module:
    import_torchvision_models()
    from torchvision.models.vision_transformer import VisionTransformer

    torch.manual_seed(0)
    model = VisionTransformer(
        image_size=32, patch_size=16, num_layers=2, num_heads=2, hidden_dim=16, mlp_dim=32,
        num_classes=5,
    ).eval()  # fmt: skip
    with torch.no_grad():  # the head and the biases start at zero: the check would see zeros
        for parameter in model.parameters():
            if not parameter.abs().sum():
                parameter.normal_(0, 0.5)
    return model


@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "dynamo"])
def test_vision_transformer_attention_imports_as_one_layer(tmp_path, dynamo) -> None:
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    model = _small_vit()
    path = tmp_path / "vit.onnx"
    _export()(model, (torch.randn(2, 3, 32, 32),), ["image"], [False], path, dynamo)
    result, check = import_verified(path)
    assert result.ok and check.ok, (result.report_lines(), check.lines())
    assert max(o.difference for o in check.outputs) < 1e-4
    attention = [n for n in result.graph if n.type_id == "multihead_attention"]
    assert len(attention) == 2
    assert all(n.params.get("num_heads") == 2 for n in attention)
    assert not [n for n in result.graph if n.type_id == "placeholder"]
    layers = model.encoder.layers
    expected = [
        {k: v.detach().numpy() for k, v in layer.self_attention.state_dict().items()}
        for layer in layers
    ]
    imported = [
        {k: v.numpy() for k, v in result.weights[n.id].items()} for n in attention
    ]  # fmt: skip
    for theirs, ours in zip(expected, imported, strict=True):
        assert sorted(theirs) == sorted(ours)
        for key, value in theirs.items():
            np.testing.assert_allclose(ours[key], value, rtol=1e-6, atol=1e-7)


class _MaskedAttention(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.attention = torch.nn.MultiheadAttention(16, 2, batch_first=True)
        self.register_buffer("mask", torch.randn(5, 5))

    def forward(self, x):
        return self.attention(x, x, x, attn_mask=self.mask, need_weights=False)[0]


def test_an_attention_block_with_a_mask_is_refused_naming_the_node(tmp_path) -> None:
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    path = tmp_path / "masked.onnx"
    _export()(_MaskedAttention().eval(), (torch.randn(2, 5, 16),), ["x"], [False], path, False)
    result, _ = import_verified(path)
    assert not result.ok
    assert not [n for n in result.graph if n.type_id == "multihead_attention"]
    lines = result.report_lines()
    assert any(line.startswith("/attention/Transpose:") for line in lines), lines

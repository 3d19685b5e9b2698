"""A dilated convolution keeps its dilation through both importers (torch modules and ONNX
files), checked by numbers against the source: torch itself, and onnxruntime."""

from __future__ import annotations

import torch
from test_import_fx import _check_same
from test_import_onnx import _assert_matches_onnxruntime

from dlstudio.compile.importers import InputSpec, import_module
from dlstudio.compile.importers.onnx_import import import_onnx


class Dilated(torch.nn.Module):
    """Two dilated convolutions: 2-D (dilation 2, as DeepLab's atrous convolutions) and 1-D
    (dilation 3, as WaveNet's)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv2d = torch.nn.Conv2d(2, 4, 3, dilation=2, padding=2)
        self.conv1d = torch.nn.Conv1d(4, 3, 3, dilation=3)

    def forward(self, x):
        y = self.conv2d(x)  # (N, 4, 12, 12)
        return self.conv1d(torch.flatten(y, 2))  # (N, 4, 144) -> (N, 3, 138)


def _dilations(result) -> dict[str, tuple[int, ...]]:
    return {
        n.type_id: tuple(n.params["dilation"])
        for n in result.graph
        if n.type_id in ("conv1d", "conv2d")
    }


def test_torch_module_import_keeps_dilation() -> None:
    torch.manual_seed(0)
    model = Dilated().eval()
    result = import_module(model, [InputSpec((2, 12, 12))])
    assert _dilations(result) == {"conv2d": (2, 2), "conv1d": (3,)}
    _check_same(model, result, torch.randn(2, 2, 12, 12))


def test_onnx_import_keeps_dilation(tmp_path) -> None:
    torch.manual_seed(0)
    model = Dilated().eval()
    path = tmp_path / "dilated.onnx"
    torch.onnx.export(
        model,
        (torch.randn(2, 2, 12, 12),),
        str(path),
        input_names=["x"],
        dynamic_axes={"x": {0: "N"}},
        dynamo=False,
        opset_version=17,
    )
    result = import_onnx(path)
    assert _dilations(result) == {"conv2d": (2, 2), "conv1d": (3,)}
    _assert_matches_onnxruntime(path, result)

"""Every ONNX import proves itself against onnxruntime: exit 0 only when the built project
computes what the file computes at two batch sizes (the file's own when it fixes one); a wrong
mapping exits 1 and names the first ONNX node that departs."""

from __future__ import annotations

import json

import torch
from torch import nn

from dlstudio.cli import main
from dlstudio.compile.importers import onnx_ops


class _Small(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4, 5)

    def forward(self, x):
        return torch.softmax(self.fc(torch.relu(self.conv(x)).mean((2, 3))), -1)


def _export(path, dynamic: bool = True):
    torch.manual_seed(0)
    axes = {"x": {0: "N"}} if dynamic else None
    torch.onnx.export(
        _Small(),
        (torch.randn(2, 3, 8, 8),),
        str(path),
        input_names=["x"],
        dynamic_axes=axes,
        dynamo=False,
    )
    return path


def test_an_onnx_import_is_checked_against_onnxruntime(tmp_path, capsys) -> None:
    path = _export(tmp_path / "small.onnx")
    out = tmp_path / "small.json"
    assert main(["import", str(path), "--out", str(out)]) == 0
    assert "matches, largest difference" in capsys.readouterr().out
    check = json.loads(out.read_text())["metadata"]["import_check"]
    assert check["ok"] and check["inputs"] == ["batch 1", "batch 3"]
    (figures,) = check["outputs"].values()
    assert figures["largest_difference"] <= 1e-4 * figures["scale"]


def test_a_file_with_a_fixed_batch_is_checked_at_that_batch(tmp_path) -> None:
    path = _export(tmp_path / "fixed.onnx", dynamic=False)
    out = tmp_path / "fixed.json"
    assert main(["import", str(path), "--out", str(out)]) == 0
    assert json.loads(out.read_text())["metadata"]["import_check"]["inputs"] == ["batch 2"]


def test_a_wrong_mapping_exits_1_naming_the_first_departing_node(
    tmp_path, capsys, monkeypatch
) -> None:
    path = _export(tmp_path / "small.onnx")
    # Relu imported as Sigmoid: every op maps, so only the check can tell.
    monkeypatch.setitem(onnx_ops.OPS, "Relu", onnx_ops._unary("sigmoid"))
    out = tmp_path / "wrong.json"
    assert main(["import", str(path), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "DIFFERS" in err and "first departure: Relu /Relu" in err
    check = json.loads(out.read_text())["metadata"]["import_check"]
    assert not check["ok"] and check["first_departure"].startswith("Relu /Relu")

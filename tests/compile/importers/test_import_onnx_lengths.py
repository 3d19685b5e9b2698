"""A Reshape whose target follows the input's length (computed from ``Shape`` in the file, a
constant at the example's sizes) imports with -1 there, so the project runs at any length:
a second run of the file at another length tells the length from a size equal to it by chance
(a head size of 16 beside an example length of 16)."""

from __future__ import annotations

import torch
from torch import nn

from dlstudio.compile.importers.verify_onnx import import_verified


class _Heads(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(64, 64)

    def forward(self, x):
        n, t, _ = x.shape
        return self.proj(x).reshape(n, t, 4, 16).transpose(1, 2)


def test_a_reshape_to_heads_keeps_the_length_free(tmp_path) -> None:
    torch.manual_seed(0)
    path = tmp_path / "heads.onnx"
    torch.onnx.export(
        _Heads().eval(),
        (torch.randn(2, 16, 64),),
        str(path),
        input_names=["x"],
        dynamic_axes={"x": {0: "N", 1: "T"}},
        dynamo=False,
    )
    result, check = import_verified(path)  # checked at lengths 16 and 9
    assert result.ok and check.ok, (result.report_lines(), check.lines())
    assert any("length 9" in label for label in check.sets)
    (reshape,) = [n for n in result.graph if n.type_id == "reshape"]
    assert reshape.params["shape"] == [-1, 4, 16]

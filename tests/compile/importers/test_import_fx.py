"""The fx importer on small hand-written modules: functions and methods, recurrent and
attention modules, the honest report, and the errors people see."""

from __future__ import annotations

import re

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from dlstudio.analysis import analyze
from dlstudio.compile.importers import ImportFailed, InputSpec, compile_import, import_module


def _check_same(model: nn.Module, result, *inputs: torch.Tensor) -> None:
    assert result.ok, result.report_lines()
    compiled = compile_import(result).module.eval()
    with torch.no_grad():
        want, got = model.eval()(*inputs), compiled(*inputs)
    assert torch.allclose(got, want, atol=1e-5, rtol=0), (got - want).abs().max()


class Functional(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        y = F.relu6(self.conv(x))
        z = torch.cat([y, F.silu(y)], dim=1)  # (N, 16, H, W)
        z = z[:, :8] if False else z.transpose(1, 2).transpose(1, 2)
        z = F.max_pool2d(z, 2)
        z = z.mean(dim=(2, 3))
        z = z.view(z.size(0), 2, 8).mean(dim=1)
        return F.softmax(self.fc(z), dim=-1) * torch.sigmoid(self.fc(z))


def test_functions_and_methods_map_to_layers() -> None:
    model = Functional()
    result = import_module(model, [InputSpec((3, 8, 8))])
    types = {n.type_id for n in result.graph}
    assert {"relu6", "silu", "concat", "permute", "maxpool2d", "global_avgpool"} <= types
    assert {"reshape", "mean_over_time", "softmax", "sigmoid", "multiply"} <= types
    _check_same(model, result, torch.randn(2, 3, 8, 8))


class Recurrent(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(30, 8)
        self.lstm = nn.LSTM(8, 6, batch_first=True)
        self.attn = nn.MultiheadAttention(6, 2, batch_first=True)
        self.head = nn.Linear(6, 3)

    def forward(self, tokens):
        seq, (h_n, _) = self.lstm(self.embed(tokens))
        mixed, _ = self.attn(seq, seq, seq, need_weights=False)
        return self.head(mixed[:, -1] + h_n[-1])


def test_lstm_and_attention_modules_keep_their_weights() -> None:
    model = Recurrent()
    result = import_module(model, [InputSpec(("T",), "int64", seq_len=5, vocab_size=30)])
    types = [n.type_id for n in result.graph]
    assert "lstm" in types and "multihead_attention" in types and "select_step" in types
    _check_same(model, result, torch.randint(0, 30, (3, 7)))


class CellState(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(4, 6, batch_first=True)
        self.head = nn.Linear(6, 2)

    def forward(self, x):
        _, (h_n, c_n) = self.lstm(x)
        return self.head(h_n[-1] * c_n[-1])


def test_torch_lstm_cell_state_maps_to_the_cell_port() -> None:
    model = CellState()
    result = import_module(model, [InputSpec(("T", 4), seq_len=5)])
    lstm = next(n for n in result.graph if n.type_id == "lstm")
    ports = {e.src.port for e in result.graph.edges if e.src.node == lstm.id}
    assert ports == {"state", "cell"}
    _check_same(model, result, torch.randn(3, 7, 4))


class Shifty(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.shuffle = nn.PixelShuffle(1)

    def forward(self, x):
        return torch.roll(self.shuffle(self.conv(x)), 1, dims=2).flatten(1)


def test_unsupported_operations_become_named_placeholders() -> None:
    result = import_module(Shifty(), [InputSpec((1, 6, 6))])
    assert not result.ok
    ops = {(i.op, i.where) for i in result.issues}
    assert ("nn.PixelShuffle", "shuffle") in ops
    assert ("torch.roll", "roll") in ops
    placeholders = [n for n in result.graph if n.type_id == "placeholder"]
    assert {n.params["op"] for n in placeholders} == {"nn.PixelShuffle", "torch.roll"}
    assert all(i.node_id in result.graph for i in result.issues)
    # Nothing is dropped: the flatten after the placeholder is still there, wired to it.
    flatten = next(n for n in result.graph if n.type_id == "flatten")
    (edge,) = result.graph.edges_into(flatten.id)
    assert result.graph.node(edge.src.node).type_id == "placeholder"
    errors = analyze(result.graph).errors
    assert any("torch.roll" in d.message and "replace it" in d.message for d in errors)
    assert "shuffle: nn.PixelShuffle has no DL Studio layer" in "\n".join(result.report_lines())


def test_an_option_we_lack_is_reported_with_the_reason() -> None:
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, padding_mode="reflect"))
    result = import_module(model, [InputSpec((1, 5, 5))])
    (issue,) = result.issues
    assert issue.where == "0" and "padding_mode='reflect'" in issue.detail


class Branchy(nn.Module):
    def forward(self, x):
        if x.sum() > 0:
            return x
        return -x


def test_untraceable_model_gives_a_clear_error() -> None:
    # torch.export's own words, and the line of the model that stopped it.
    with pytest.raises(ImportFailed, match=r"torch\.export could not capture Branchy: ") as info:
        import_module(Branchy(), [InputSpec((3,))])
    assert "data-dependent" in str(info.value)
    assert re.search(r"test_import_fx.py\", line \d+, in forward", str(info.value))


def test_wrong_input_shape_says_so() -> None:
    with pytest.raises(ImportFailed, match=r"does not run on inputs of shape \(2, 5\)"):
        import_module(nn.Linear(4, 2), [InputSpec((5,))])

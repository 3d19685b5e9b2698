"""Every import proves itself: the built project runs beside the source at two batch sizes (and
two lengths), the largest difference per output is reported, and a wrong import names the first
module whose output departs."""

from __future__ import annotations

import json

import numpy as np
import torch
from torch import nn

from dlstudio.cli import main
from dlstudio.compile.importers import InputSpec, import_module
from dlstudio.compile.importers.verify import compare, example_sets, first_departure
from dlstudio.compile.importers.verify_torch import verify_import


def _double(arrays):
    return [arrays[0] * 2.0]


def test_example_sets_vary_batch_and_length() -> None:
    sets = example_sets([InputSpec(("T", 4)), InputSpec(("T",), "int64", vocab_size=7)])
    assert [s.label for s in sets] == ["batch 1, length 16", "batch 3, length 9"]
    assert [a.shape for a in sets[1].arrays] == [(3, 9, 4), (3, 9)]
    ids = sets[0].arrays[1]
    assert ids.dtype == np.int64 and ids.min() >= 0 and ids.max() < 7
    again = example_sets([InputSpec(("T", 4)), InputSpec(("T",), "int64", vocab_size=7)])
    assert np.array_equal(sets[1].arrays[0], again[1].arrays[0])  # seeded


def test_compare_reports_the_largest_difference_against_the_outputs_scale() -> None:
    sets = example_sets([InputSpec((5,))])
    same = compare(_double, _double, sets, ["y"])
    assert same.ok and same.outputs[0].difference == 0.0
    scale = max(float(np.abs(s.arrays[0] * 2).max()) for s in sets)
    assert same.outputs[0].scale == scale

    def nudged(arrays):
        out = arrays[0] * 2.0
        out.flat[0] += 1e-3 * scale  # ten times the tolerance
        return [out]

    check = compare(_double, nudged, sets, ["y"])
    assert not check.ok
    assert abs(check.outputs[0].difference - 1e-3 * scale) < 1e-6 * scale
    assert "y: DIFFERS" in "\n".join(check.lines())
    tiny = compare(_double, lambda a: [a[0] * 2.0 * (1 + 1e-6)], sets, ["y"])
    assert tiny.ok  # float noise far below 1e-4 of the scale passes


def test_compare_turns_failures_and_shape_changes_into_reasons() -> None:
    sets = example_sets([InputSpec((5,))])

    def broken(arrays):
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    check = compare(_double, broken, sets)
    assert not check.ok
    assert check.error == (
        "the imported project failed on batch 1: RuntimeError: mat1 and mat2 shapes cannot be "
        "multiplied"
    )
    wrong = compare(_double, lambda a: [a[0][:, :4]], sets, ["y"])
    assert not wrong.ok and "y has shape (1, 4) in the imported project, (1, 5)" in wrong.error


def test_first_departure_is_the_first_differing_value_in_source_order() -> None:
    a = np.ones(3, np.float32)
    source = {"stem": a, "layer1.0": a * 2, "layer1": a * 3, "fc": a * 4}
    built = {"stem": a, "layer1.0": a * 2.5, "layer1": a * 3.5, "fc": a * 4}
    name, detail = first_departure(source, built)
    assert name == "layer1.0" and "largest difference 0.5" in detail
    assert first_departure(source, source) == ("", "")


class _Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)

    def forward(self, x):
        return torch.relu(self.bn(self.conv(x))) + x


class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.layer = nn.Sequential(_Block(), _Block())
        self.fc = nn.Linear(4, 5)

    def forward(self, x):
        return self.fc(self.layer(self.stem(x)).mean(dim=(2, 3)))


def test_a_correct_import_verifies_and_a_tampered_one_names_its_first_departure() -> None:
    torch.manual_seed(0)
    model = _Net().eval()
    specs = [InputSpec((3, 8, 8))]
    result = import_module(model, specs)
    check = verify_import(model, result, specs)
    assert check.ok, check.lines()
    assert check.sets == ["batch 1", "batch 3"]
    assert check.outputs[0].difference <= 1e-4 * check.outputs[0].scale
    # Change one weight of the second block: everything before it still agrees.
    result.keyed_weights["layer.1.conv.weight"] = result.keyed_weights["layer.1.conv.weight"] + 0.5
    check = verify_import(model, result, specs)
    assert not check.ok
    assert check.first_departure == "layer.1.conv"
    assert check.metadata()["first_departure"] == "layer.1.conv"


MODEL_FILE = """
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 3)

    def forward(self, x):
        return torch.tanh(self.fc(x))


def broken():
    raise ValueError("checkpoint folder ./ckpt is empty")
"""


def test_the_command_keeps_the_figures_and_never_shows_a_traceback(tmp_path, capsys) -> None:
    path = tmp_path / "model.py"
    path.write_text(MODEL_FILE)
    out = tmp_path / "net.json"
    assert main(["import", f"{path}:Net", "--input-shape", "6", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "checked against the source on: batch 1; batch 3" in printed
    assert "output: matches, largest difference" in printed
    figures = json.loads(out.read_text())["metadata"]["import_check"]
    assert figures["ok"] is True and figures["relative_tolerance"] == 1e-4
    assert set(figures["outputs"]) == {"output"}
    assert figures["outputs"]["output"]["largest_difference"] <= 1e-4

    bad = tmp_path / "bad.json"
    assert main(["import", f"{path}:broken", "--out", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "broken() raised ValueError: checkpoint folder ./ckpt is empty" in err
    assert "Traceback" not in err
    assert not bad.exists()

"""Weights: safetensors and .pt round trips, safe loading, and a report by node name."""

from __future__ import annotations

import pickle

import pytest
import torch
from graph_builders import lenet5, mlp

from dlstudio.compile import ExportError, compile_graph, load_weights, save_weights


@pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
def test_round_trip(tmp_path, suffix: str) -> None:
    torch.manual_seed(0)
    trained = compile_graph(lenet5()).module
    path = save_weights(trained, tmp_path / f"lenet{suffix}")
    fresh = compile_graph(lenet5()).module
    report = load_weights(fresh, path)
    assert report.ok and len(report.loaded) == 10
    for key, value in trained.state_dict().items():
        assert torch.equal(fresh.state_dict()[key], value)


def test_mismatches_are_reported_by_node(tmp_path) -> None:
    path = save_weights(compile_graph(mlp((784, 16, 16, 10))).module, tmp_path / "w.safetensors")
    other = compile_graph(mlp((784, 16, 10))).module
    report = load_weights(other, path)
    assert not report.ok
    assert ("fc2.weight", (16, 16), (10, 16)) in report.mismatched
    assert "fc3.weight" in report.unexpected
    text = "\n".join(report.messages())
    assert "fc2: weight has shape (16, 16) in the file but (10, 16) in the model" in text
    assert "fc1" not in text  # fc1 fits and was loaded
    assert "fc1.weight" in report.loaded


def test_a_training_checkpoint_is_accepted(tmp_path) -> None:
    module = compile_graph(lenet5()).module
    torch.save(
        {"version": 1, "model": module.state_dict(), "progress": {"epoch": 3}}, tmp_path / "ckpt.pt"
    )
    assert load_weights(compile_graph(lenet5()).module, tmp_path / "ckpt.pt").ok


class _Evil:
    def __reduce__(self):
        return (print, ("unpickled code ran",))


def test_pickled_code_is_refused(tmp_path) -> None:
    path = tmp_path / "evil.pt"
    with open(path, "wb") as fh:
        pickle.dump({"fc1.weight": _Evil()}, fh)
    with pytest.raises(ExportError, match="safely"):
        load_weights(compile_graph(lenet5()).module, path)


def test_unknown_suffix_and_missing_file(tmp_path) -> None:
    module = compile_graph(lenet5()).module
    with pytest.raises(ExportError, match=r"\.safetensors or \.pt"):
        save_weights(module, tmp_path / "weights.bin")
    with pytest.raises(ExportError, match="does not exist"):
        load_weights(module, tmp_path / "nothing.pt")

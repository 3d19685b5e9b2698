"""validate refuses what train refuses, with the same words: settings, memory at the batch
size, target shapes, and data paths taken from the project's folder as train takes them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from graph_builders import ChainBuilder
from test_train_cli import _run as run_train
from train_projects import iris_mlp_project, parity_transfer, save, write_parity_data

from dlstudio.cli import main
from dlstudio.compile.limits import LIMIT_ENV


def _validate(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["validate", str(path)])
    return code, capsys.readouterr().out


def _train(path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = run_train(["train", str(path), "--out", str(tmp_path / "run")])
    return code, capsys.readouterr().err


def test_relative_data_paths_are_the_projects_not_the_working_folders(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    write_parity_data(folder / "parity.npz")
    project = save(parity_transfer("parity.npz"), folder / "parity.json")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, out = _validate(project, capsys)
    assert code == 0, out
    assert "0 error(s)" in out


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"ignore_index": "pad"}, "ignore_index must be a whole number"),
        ({"ignore_index": 1.5}, "ignore_index must be a whole number"),
        ({"batch_size": 4096}, "cannot train 'Iris': it needs about"),
    ],
    ids=["text ignore_index", "fractional ignore_index", "batch beyond memory"],
)
def test_settings_train_refuses_are_validate_errors(
    settings: dict,
    words: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    graph = iris_mlp_project(epochs=1)
    graph.metadata["training"].update(settings)
    if "batch_size" in settings:
        # 4096 examples of 4 -> 16 -> 3 need about 1 MiB of activations; allow 256 KiB.
        monkeypatch.setenv(LIMIT_ENV, "256K")
    project = save(graph, tmp_path / "iris.json")
    code, out = _validate(project, capsys)
    assert code == 1 and words in out, out
    code, err = _train(project, tmp_path, capsys)
    assert code != 0 and words in err, err


def test_a_target_shape_train_rejects_is_a_validate_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Iris has one class id per example; a model giving (3, 2) scores per example cannot
    be trained on it with cross-entropy."""
    b = ChainBuilder("iris-grid")
    b.chain(
        ("input", "features", {"shape": (4,)}),
        ("dense", "fc1", {"units": 6}),
        ("reshape", "grid", {"shape": (3, 2)}),
        ("output", "logits", {}),
    )
    b.graph.metadata["training"] = {"dataset": "iris", "epochs": 1, "batch_size": 16}
    project = save(b.graph, tmp_path / "grid.json")
    words = "cross_entropy: the model outputs (N, 3, 2) but the targets are (N,)"
    code, out = _validate(project, capsys)
    assert code == 1 and words in out, out
    code, err = _train(project, tmp_path, capsys)
    assert code != 0 and words in err, err
    assert os.path.isdir(tmp_path) and not (tmp_path / "run" / "checkpoint.pt").exists()

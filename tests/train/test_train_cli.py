"""``train`` and ``datasets`` commands, run through their argparse parsers on a real template."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pytest

from dlstudio.train import load_weights
from dlstudio.train.cli_commands import add_datasets_parser, add_train_parser

REPO = Path(__file__).resolve().parents[2]


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    add_train_parser(sub)
    add_datasets_parser(sub)
    args = parser.parse_args(argv)
    return args.handler(args)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The LeNet-5 template (digits resized to 28 by its own settings)."""
    template = REPO / "templates" / "lenet5.json"
    if not template.exists():
        pytest.skip("templates are not built")
    return Path(shutil.copy(template, tmp_path / "lenet.json"))


def test_train_writes_metrics_checkpoint_and_weights_then_resumes(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    assert (
        _run(["train", str(project), "--epochs", "1", "--batch-size", "128", "--out", str(out)])
        == 0
    )
    err = capsys.readouterr().err
    assert "digits: 1797 samples, inputs (N, 1, 28, 28)" in err and "epoch 1/1" in err
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["event"] for r in records if r["event"] in ("epoch", "finished")] == [
        "epoch",
        "finished",
    ]
    assert records[-1]["reason"] == "completed" and "accuracy" in records[-2]["val"]
    assert (out / "checkpoint.pt").exists()

    from dlstudio.compile import compile_graph
    from dlstudio.core import load_project

    fresh = compile_graph(load_project(project)).module
    report = load_weights(fresh, out / "weights.safetensors")
    assert not report.missing and not report.mismatched and len(report.loaded) == 10

    resumed = tmp_path / "resumed"
    code = _run(
        [
            "train",
            str(project),
            "--epochs",
            "2",
            "--batch-size",
            "128",
            "--out",
            str(resumed),
            "--resume",
            str(out / "checkpoint.pt"),
        ]
    )
    assert code == 0
    epochs = [
        json.loads(line)["epoch"]
        for line in (resumed / "metrics.jsonl").read_text().splitlines()
        if json.loads(line)["event"] == "epoch"
    ]
    assert epochs == [2]  # epoch 1 came from the checkpoint


def test_train_reports_a_data_mismatch_with_the_fix(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _run(["train", str(project), "--dataset", "iris", "--out", str(tmp_path / "o")])
    assert code == 1
    err = capsys.readouterr().err
    assert "iris gives (N, 4) but image expects (N, 1, 28, 28)" in err


def test_train_names_a_missing_project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["train", str(tmp_path / "nope.json")]) == 2
    assert "nope.json" in capsys.readouterr().err


def test_datasets_lists_builtins(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["datasets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("digits") and "resize" in lines[0]
    assert any(line.startswith("binary_to_decimal") for line in lines)

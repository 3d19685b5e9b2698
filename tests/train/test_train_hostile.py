"""Training on hostile input: wrong-typed settings, out-of-range data-set options, crafted
weights, unwritable --out and models too large for memory all give one message and the
documented exit code; checkpoints are written atomically and killed writes are cleaned up."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from dlstudio.compile.limits import LIMIT_ENV
from dlstudio.compile.weights import WeightsFileError, save_weights
from dlstudio.core.files import TEMP_SUFFIX
from dlstudio.train import TrainConfig, load_weights, read_state_dict, resolve_run
from dlstudio.train.checkpoint import load_checkpoint, save_checkpoint
from dlstudio.train.cli_commands import add_train_parser
from dlstudio.train.data import load_dataset
from dlstudio.train.errors import DatasetError, TrainError

REPO = Path(__file__).resolve().parents[2]


def _train(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    add_train_parser(parser.add_subparsers())
    args = parser.parse_args(["train", *argv])
    return args.handler(args)


def _project(tmp_path: Path, training) -> Path:
    doc = json.loads((REPO / "templates" / "mlp-mnist.json").read_text(encoding="utf-8"))
    doc["metadata"]["training"] = training
    path = tmp_path / "p.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("training", "words"),
    [
        (["digits"], "metadata.training must be a mapping"),
        ("digits", "metadata.training must be a mapping"),
        ({"dataset": "digits", "dataset_options": ["resize"]}, "dataset_options must be a mapping"),
        (
            {"dataset": "digits", "dataset_options": "resize=28"},
            "dataset_options must be a mapping",
        ),
        ({"dataset": ["digits"]}, "must be a name or a path"),
    ],
)
def test_wrongly_typed_settings_are_train_errors(tmp_path, capsys, training, words):
    with pytest.raises(TrainError, match=words):
        resolve_run(training)
    assert _train([str(_project(tmp_path, training)), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


def test_config_from_metadata_refuses_non_mappings():
    with pytest.raises(TrainError, match="mapping"):
        TrainConfig.from_metadata(["x"])  # type: ignore[arg-type]
    with pytest.raises(TrainError, match="dataset_options must be a mapping"):
        TrainConfig.from_metadata({"dataset_options": [1]})


@pytest.mark.parametrize(
    ("name", "options", "words"),
    [
        ("digits", {"resize": 100000}, "resize must be a whole number from 1 to 512"),
        ("digits", {"resize": "lots"}, "resize must be a whole number"),
        ("sine", {"period": "x"}, "period must be a number"),
        ("sine", {"noise": float("inf")}, "noise must be a number"),
        ("sine", {"seed": -1}, "seed must be a whole number"),
        ("sentiment", {"seq_len": 10**9}, "seq_len must be a whole number"),
        ("digits", [1, 2], "must be a mapping"),
    ],
)
def test_data_set_options_are_range_checked(name, options, words):
    with pytest.raises(DatasetError, match=words):
        load_dataset(name, options)


def test_digits_resize_still_accepts_sensible_values():
    assert load_dataset("digits", {"resize": "12"}).input_specs[0].shape == (1, 12, 12)


def test_crafted_weights_are_weights_file_errors(tmp_path):
    model = torch.nn.Linear(3, 2)
    good = tmp_path / "good.safetensors"
    save_weights(model, good)
    (tmp_path / "cut.safetensors").write_bytes(good.read_bytes()[:30])
    torch.save({0: torch.zeros(2)}, tmp_path / "ints.pt")
    torch.save({"weight": torch.zeros(2, 3, dtype=torch.complex64)}, tmp_path / "complex.pt")
    for name in ("cut.safetensors", "ints.pt"):
        with pytest.raises(WeightsFileError, match=name):
            read_state_dict(tmp_path / name)
    with pytest.raises(WeightsFileError, match="complex64 values, which cannot be copied"):
        load_weights(model, tmp_path / "complex.pt")


def test_out_under_a_regular_file_exits_3(tmp_path, capsys):
    project = _project(tmp_path, {"dataset": "digits", "dataset_options": {"flatten": True}})
    (tmp_path / "afile").write_text("x")
    assert _train([str(project), "--epochs", "1", "--out", str(tmp_path / "afile" / "run")]) == 3
    err = capsys.readouterr().err
    assert "afile is a file, not a folder" in err and "Traceback" not in err


def test_a_run_that_cannot_fit_exits_1_with_both_figures(tmp_path, monkeypatch, capsys):
    options = {"flatten": True, "resize": 28}
    project = _project(tmp_path, {"dataset": "digits", "dataset_options": options})
    monkeypatch.setenv(LIMIT_ENV, "100K")  # the weights fit; with Adam and activations they do not
    assert _train([str(project), "--epochs", "1", "--out", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    assert "cannot train" in err and "only 100.0 KiB of memory is available" in err
    assert "13,002 parameters" in err and "at batch 64" in err


def _checkpoint(path: Path) -> Path:
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1)
    return save_checkpoint(
        path, model=model, optimizer=optimizer, scheduler=scheduler, scaler=None, progress={}
    )


@pytest.mark.skipif(os.name == "nt", reason="POSIX process ids")
def test_a_killed_checkpoint_write_is_cleaned_by_the_next_one(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    stale = tmp_path / f".checkpoint.pt.{proc.pid}-00ff00ff{TEMP_SUFFIX}"
    legacy = tmp_path / "checkpoint.pt.tmp"  # what older versions left after a kill
    for path in (stale, legacy):
        path.write_bytes(b"half a checkpoint")
    os.utime(legacy, (0, 0))
    _checkpoint(tmp_path / "checkpoint.pt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt"]
    assert load_checkpoint(tmp_path / "checkpoint.pt")["version"] == 1


def test_a_failed_checkpoint_write_keeps_the_old_one(tmp_path, monkeypatch):
    path = _checkpoint(tmp_path / "checkpoint.pt")
    before = path.read_bytes()

    def broken_save(_obj, target):
        Path(target).write_bytes(b"partial")
        raise RuntimeError("writer died")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(RuntimeError, match="writer died"):
        _checkpoint(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt"]


def test_a_folder_given_as_checkpoint_is_a_train_error(tmp_path):
    shutil.rmtree(tmp_path)
    tmp_path.mkdir()
    with pytest.raises(TrainError, match="not a file"):
        load_checkpoint(tmp_path)

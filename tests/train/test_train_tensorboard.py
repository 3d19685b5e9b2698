"""``train --tensorboard DIR``, read back with TensorBoard's own event reader."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from train_projects import iris_mlp_project, save

from dlstudio.cli import main


def _accumulator(folder: Path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(folder), size_guidance={"scalars": 0, "tensors": 0})
    accumulator.Reload()
    return accumulator


def test_train_writes_scalars_hparams_and_graph(tmp_path: Path) -> None:
    project = save(iris_mlp_project(epochs=3), tmp_path / "iris.json")
    board = tmp_path / "board"
    assert main(["train", str(project), "--tensorboard", str(board), "--threads", "1"]) == 0
    events = _accumulator(board)
    scalars = set(events.Tags()["scalars"])
    assert {
        "step/loss",
        "step/lr",
        "epoch/train_loss",
        "epoch/val_loss",
        "epoch/val_accuracy",
    } <= scalars
    # The same figures as metrics.jsonl, written by another writer.
    records = [json.loads(line) for line in (tmp_path / "iris_run" / "metrics.jsonl").open()]
    epochs = [r for r in records if r["event"] == "epoch"]
    val_loss = events.Scalars("epoch/val_loss")
    assert [s.step for s in val_loss] == [1, 2, 3]
    assert [s.value for s in val_loss] == pytest.approx(
        [e["val"]["loss"] for e in epochs], rel=1e-6
    )
    steps = [r for r in records if r["event"] == "step"]
    assert [s.step for s in events.Scalars("step/loss")] == [r["step"] for r in steps]
    # Hyper-parameters: TensorBoard's hparams plugin data, with the run's settings.
    from tensorboard.plugins.hparams import plugin_data_pb2

    content = events.PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(
        content["_hparams_/session_start_info"]
    ).session_start_info
    assert start.hparams["lr"].number_value == pytest.approx(0.05)
    assert start.hparams["optimizer"].string_value == "sgd"
    assert start.hparams["dataset"].string_value == "iris"
    best = events.Scalars("hparam/val_accuracy")[-1].value
    finished = next(r for r in records if r["event"] == "finished")
    assert best == pytest.approx(finished["best"]["accuracy"])
    # The model graph, traced: the two Linear layers are in it.
    graph = events.Graph()
    names = " ".join(node.name for node in graph.node)
    assert "fc1" in names and "fc2" in names


def test_unwritable_tensorboard_folder_is_refused(tmp_path: Path, capsys) -> None:
    project = save(iris_mlp_project(epochs=1), tmp_path / "iris.json")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["train", str(project), "--tensorboard", str(blocker / "board")]) == 3
    assert "--tensorboard cannot write" in capsys.readouterr().err

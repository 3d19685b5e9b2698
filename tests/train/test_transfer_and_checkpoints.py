"""The lectures' transfer recipe from the command line, weight matching, and kept checkpoints."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
from test_train_cli import _run
from train_projects import (
    FROZEN_NODES,
    digits_cnn,
    iris_mlp_project,
    parity_transfer,
    save,
    write_parity_data,
)

from dlstudio.compile import compile_graph
from dlstudio.compile.weights import WeightsMismatchError, load_weights
from dlstudio.train import TrainConfig, Trainer, load_checkpoint, load_dataset

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_transfer_recipe_frozen_features_and_a_new_head_from_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = save(digits_cnn(epochs=3), tmp_path / "digits.json")
    assert _run(["train", str(source), "--out", str(tmp_path / "digits_run")]) == 0
    trained = load_file(str(tmp_path / "digits_run" / "weights.safetensors"))

    folder = tmp_path / "parity"
    folder.mkdir()
    write_parity_data(folder / "parity.npz")
    # The data path is relative to the project file, not to the current folder.
    project = save(parity_transfer("parity.npz"), folder / "parity.json")
    capsys.readouterr()
    code = _run(
        [
            "train",
            str(project),
            "--init-weights",
            str(tmp_path / "digits_run" / "weights.safetensors"),
            "--out",
            str(folder / "run"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 0, err
    assert "loaded 9 tensors" in err and "fc2: not in the model (ignored)" in err
    assert "head: not in the file (kept as initialised): weight, bias" in err
    after = load_file(str(folder / "run" / "weights.safetensors"))
    frozen = [k for k in after if k.split(".")[0] in FROZEN_NODES]
    assert {"bn1.running_mean", "bn1.running_var", "bn1.num_batches_tracked"} <= set(frozen)
    assert len(frozen) == 9
    for key in frozen:
        assert torch.equal(after[key], trained[key]), key
    records = [json.loads(line) for line in (folder / "run" / "metrics.jsonl").open()]
    last_epoch = [r for r in records if r["event"] == "epoch"][-1]
    assert last_epoch["val"]["accuracy"] >= 0.90


def test_nothing_matching_is_an_error_naming_resume(tmp_path: Path) -> None:
    save_file({"encoder.weight": torch.zeros(3, 3)}, str(tmp_path / "w.safetensors"))
    module = compile_graph(digits_cnn()).module
    with pytest.raises(WeightsMismatchError, match=r"(?s)none of its 1 tensors matches.*--resume"):
        load_weights(module, tmp_path / "w.safetensors")


def test_strict_refuses_a_partial_match_and_loads_nothing(tmp_path: Path) -> None:
    source = compile_graph(digits_cnn()).module
    state = {k: v for k, v in source.state_dict().items() if not k.startswith("fc2.")}
    state["extra.weight"] = torch.ones(2)
    torch.save(state, tmp_path / "w.pt")
    target = compile_graph(digits_cnn()).module
    before = target.state_dict()["conv1.weight"].clone()
    with pytest.raises(WeightsMismatchError, match="do not fit the model exactly") as info:
        load_weights(target, tmp_path / "w.pt", fit="all")
    assert "fc2: not in the file" in str(info.value) and "extra: not in the model" in str(
        info.value
    )
    assert torch.equal(target.state_dict()["conv1.weight"], before)
    report = load_weights(target, tmp_path / "w.pt")
    assert torch.equal(target.state_dict()["conv1.weight"], source.state_dict()["conv1.weight"])
    assert "fc2.weight" in report.missing and report.by_node()["extra"]["unexpected"] == ["weight"]


def test_mis_shaped_tensors_are_reported_by_node(tmp_path: Path) -> None:
    module = compile_graph(digits_cnn()).module
    state = dict(module.state_dict())
    state["module.fc2.weight"] = torch.zeros(5, 32)  # DDP prefix is stripped
    del state["fc2.weight"]
    torch.save(state, tmp_path / "w.pt")
    report = load_weights(compile_graph(digits_cnn()).module, tmp_path / "w.pt")
    assert report.mismatched == [("fc2.weight", (5, 32), (10, 32))]
    assert "fc2.bias" in report.loaded
    assert (
        "fc2: weight has shape (5, 32) in the file but (10, 32) in the model (kept as initialised)"
        in report.summary()
    )


def test_resume_of_another_model_points_to_init_weights(tmp_path: Path) -> None:
    module = compile_graph(digits_cnn()).module
    Trainer(module, TrainConfig(epochs=1, batch_size=512), checkpoint_dir=tmp_path).run(
        load_dataset("digits")
    )
    other = compile_graph(iris_mlp_project()).module
    result = Trainer(other, TrainConfig(epochs=1)).run(
        load_dataset("iris"), resume_from=tmp_path / "checkpoint.pt"
    )
    assert result.status == "failed" and "--init-weights" in result.message


def test_nan_in_validation_stops_the_run_and_keeps_a_checkpoint_that_resumes(
    tmp_path: Path,
) -> None:
    """One batch per epoch; after two epochs the step schedule multiplies the rate by 1e30: the
    update of step 3 leaves NaN weights, seen first by validation."""
    data = load_dataset("iris")
    graph = iris_mlp_project()
    config = TrainConfig(
        epochs=6,
        batch_size=200,
        optimizer="sgd",
        lr=0.05,
        momentum=0.0,
        schedule="step",
        step_size=2,
        gamma=1e30,
        seed=3,
        device="cpu",
    )
    module = compile_graph(graph).module
    result = Trainer(module, config, checkpoint_dir=tmp_path).run(data)
    assert result.status == "failed"
    assert "the validation loss became nan after step 3" in result.message
    assert f"checkpoint {tmp_path / 'checkpoint.pt'} is kept" in result.message
    kept = load_checkpoint(tmp_path / "checkpoint.pt")
    assert kept["progress"]["step"] == 2 == result.history[-1].step
    assert all(torch.isfinite(v).all() for v in kept["model"].values())
    assert not (tmp_path / "checkpoint.prev.pt").exists()
    assert all(torch.equal(module.state_dict()[k], v) for k, v in kept["model"].items())
    # Resuming from the kept checkpoint works: the run continues exactly as before, through a
    # finite step 3 training loss, and fails again only where the schedule breaks it.
    steps: list[float] = []
    again = compile_graph(graph).module
    resumed = Trainer(
        again, config, callbacks=[lambda e: steps.append(getattr(e, "loss", 0.0))]
    ).run(data, resume_from=tmp_path / "checkpoint.pt")
    assert "the validation loss became nan after step 3" in resumed.message
    assert steps and math.isfinite(steps[0])


def test_a_nan_training_loss_drops_the_checkpoint_holding_the_weights_it_was_computed_on(
    tmp_path: Path,
) -> None:
    """No validation split, lr 1e10: the loss of step 3 is computed on the weights saved after
    step 2 and is not finite, so the checkpoint of step 1 is the last good one."""
    config = TrainConfig(
        epochs=5,
        batch_size=200,
        optimizer="sgd",
        lr=1e10,
        momentum=0.0,
        seed=3,
        val_fraction=0.0,
        device="cpu",
    )
    from dlstudio.train.reproducible import seeded_build

    module = seeded_build(lambda: compile_graph(iris_mlp_project()), 3).module
    result = Trainer(module, config, checkpoint_dir=tmp_path).run(load_dataset("iris"))
    assert result.status == "failed" and "at step 3" in result.message, result.message
    assert len(result.history) == 2
    assert load_checkpoint(tmp_path / "checkpoint.pt")["progress"]["step"] == 1


def test_validation_nan_right_after_a_checkpoint_puts_the_previous_one_back(
    tmp_path: Path,
) -> None:
    """A step checkpoint written on the epoch's last step has exactly the weights validation
    found NaN: it is dropped for the one before."""
    from dlstudio.train.kept_checkpoint import CheckpointKeeper

    keeper = CheckpointKeeper(tmp_path)
    module = torch.nn.Linear(2, 2)
    opt = torch.optim.SGD(module.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    for step in (4, 8):
        keeper.save(
            step, model=module, optimizer=opt, scheduler=sched, scaler=None, progress={"step": step}
        )
    assert keeper.reject_weights_of(7) == tmp_path / "checkpoint.pt"  # loss at 8 was on step 7
    assert load_checkpoint(tmp_path / "checkpoint.pt")["progress"]["step"] == 8
    assert keeper.reject_weights_of(8) == tmp_path / "checkpoint.pt"
    assert load_checkpoint(tmp_path / "checkpoint.pt")["progress"]["step"] == 4
    assert keeper.reject_weights_of(4) is None and not (tmp_path / "checkpoint.pt").exists()


def test_ctrl_c_during_start_up_ends_with_one_line_and_exit_130(tmp_path: Path) -> None:
    project = save(digits_cnn(epochs=1), tmp_path / "cnn.json")
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    process = subprocess.Popen(
        [sys.executable, "-m", "dlstudio", "train", str(project), "--out", str(tmp_path / "r")],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )
    # Interrupt while torch is being imported: its library is mapped, its Python modules (the
    # long part of the import) are still loading. Polling makes this independent of speed.
    maps = Path(f"/proc/{process.pid}/maps")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if "libtorch" in maps.read_text():
                break
        except OSError:
            pass
        time.sleep(0.005)
    process.send_signal(signal.SIGINT)
    _out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert err.strip().splitlines() == ["interrupted (Ctrl-C); nothing more was written"]

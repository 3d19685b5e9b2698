"""A run killed at any moment leaves a loadable checkpoint.pt: first a crash simulated before
every file-system step of a checkpoint save, then real kill -9s of a process saving in a loop."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import dlstudio.train.checkpoint as checkpoint_module
from dlstudio.train.checkpoint import load_checkpoint
from dlstudio.train.kept_checkpoint import CHECKPOINT_NAME, CheckpointKeeper

REPO = Path(__file__).resolve().parents[2]
STEPS = ("link", "replace", "fsync", "chmod", "unlink", "rename")
"""The os calls a save is made of; the simulated crash lands before each of them in turn."""


class Crash(BaseException):
    """The process dying (BaseException: nothing in the writer may swallow it)."""


def _save(keeper: CheckpointKeeper, step: int) -> None:
    module = torch.nn.Linear(3, 2)
    torch.nn.init.constant_(module.weight, float(step))
    opt = torch.optim.SGD(module.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)
    keeper.save(
        step, model=module, optimizer=opt, scheduler=sched, scaler=None, progress={"step": step}
    )


def _crash_at(number: int, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make the ``number``-th os call (counted from 1) raise :class:`Crash`; returns the log."""
    calls: list[str] = []

    def wrap(name: str, real):
        def step(*args, **kwargs):
            calls.append(name)
            if len(calls) == number:
                raise Crash(name)
            return real(*args, **kwargs)

        return step

    for name in STEPS:
        monkeypatch.setattr(os, name, wrap(name, getattr(os, name)))
    real_save = checkpoint_module.torch.save

    def save(*args, **kwargs):  # the bytes of the new checkpoint: one more step
        calls.append("torch.save")
        if len(calls) == number:
            raise Crash("torch.save")
        return real_save(*args, **kwargs)

    monkeypatch.setattr(checkpoint_module.torch, "save", save)
    return calls


def _step_on_disk(folder: Path) -> int:
    payload = load_checkpoint(folder / CHECKPOINT_NAME)
    assert torch.all(payload["model"]["weight"] == payload["progress"]["step"])
    return payload["progress"]["step"]


def test_a_crash_before_any_step_of_a_save_leaves_a_loadable_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crashed_at: list[str] = []
    for number in range(1, 100):
        folder = tmp_path / f"crash-{number}"
        keeper = CheckpointKeeper(folder)
        _save(keeper, 1)
        _save(keeper, 2)
        _crash_at(number, monkeypatch)
        try:
            _save(keeper, 3)
            keeper.reject_weights_of(3)  # a NaN on the new weights: put step 2 back
        except Crash as crash:
            crashed_at.append(str(crash))
        else:
            monkeypatch.undo()
            assert _step_on_disk(folder) == 2
            break
        finally:
            monkeypatch.undo()
        assert _step_on_disk(folder) in (2, 3), f"crash before {crashed_at[-1]} (call {number})"
    # The save was really cut at every kind of step (else this test proves nothing).
    assert {"link", "replace", "fsync", "torch.save"} <= set(crashed_at), crashed_at


KILLER = r"""
import json, os, random, signal, sys, time
import torch
torch.set_num_threads(1)
sys.path.insert(0, sys.argv[1])
from dlstudio.train.checkpoint import load_checkpoint
from dlstudio.train.kept_checkpoint import CheckpointKeeper

folder, kills = sys.argv[2], int(sys.argv[3])
module = torch.nn.Linear(256, 256)  # ~256 KiB: a save takes long enough for kills to land inside
opt = torch.optim.Adam(module.parameters())
sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)
rng = random.Random(5)
steps, missing, inside = [], 0, 0
step = 0
for kill in range(kills):
    pid = os.fork()
    if pid == 0:  # the trainer: saves checkpoints until it is killed
        keeper = CheckpointKeeper(__import__("pathlib").Path(folder))
        path = os.path.join(folder, "checkpoint.pt")
        if os.path.exists(path):
            keeper.resumed_from(__import__("pathlib").Path(path))
            step = load_checkpoint(path)["progress"]["step"]
        while True:
            step += 1
            keeper.save(step, model=module, optimizer=opt, scheduler=sched, scaler=None,
                        progress={"step": step})
    time.sleep(rng.uniform(0.02, 0.15))
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    inside += any(n.endswith(".dlstudio-tmp") for n in os.listdir(folder))
    try:
        steps.append(load_checkpoint(os.path.join(folder, "checkpoint.pt"))["progress"]["step"])
    except Exception:
        missing += 1
print(json.dumps({"steps": steps, "missing": missing, "inside": inside}))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_kill_9_at_random_moments_always_leaves_a_loadable_checkpoint(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    env = dict(os.environ, OMP_NUM_THREADS="1")
    result = subprocess.run(
        [sys.executable, "-c", KILLER, str(REPO), str(folder), "12"],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout.strip().splitlines()[-1])
    assert stats["missing"] == 0, stats
    assert stats["inside"] > 0, "no kill landed inside a save: the test proves nothing"
    # Each run resumed from the last one and went on: the step never goes back.
    assert stats["steps"] == sorted(stats["steps"]) and stats["steps"][-1] > 12, stats

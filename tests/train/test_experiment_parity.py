"""The exported training script repeats ``python -m dlstudio train``: the same loss at every
step of the first epoch (CPU, one thread), for an MLP, a CNN, an LSTM and a Transformer."""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import pytest
from repo_paths import TEMPLATES_DIR

from dlstudio.cli import main as cli

# Data trimmed through the project's own settings, so a whole first epoch stays quick.
CASES = {
    "mlp-mnist": {"val_fraction": 0.8},
    "lenet5": {"val_fraction": 0.85},
    "lstm-classifier": {"dataset_options": {"seq_len": 12, "n_samples": 400}},
    "transformer-classifier": {"dataset_options": {"seq_len": 12, "n_samples": 400}},
    # Regression (MSE) with warm-up, a cosine schedule and gradient clipping.
    "gru-forecaster": {
        "dataset_options": {"window": 20, "horizon": 1, "n_points": 600},
        "schedule": "cosine",
        "warmup_steps": 3,
        "grad_clip": 1.0,
    },
    # Frozen layers: a BatchNorm (its statistics must hold) and a whole block instance.
    "resnet-cifar": {"val_fraction": 0.85, "frozen": ["bn1", "layer1"]},
}


def trimmed_project(template: str, folder: Path, frozen: tuple = (), **training: object) -> Path:
    """A copy of a template with one epoch, the given training settings and ``frozen`` layers
    (Trainable off)."""
    data = json.loads((TEMPLATES_DIR / f"{template}.json").read_text(encoding="utf-8"))
    data["metadata"]["training"].update({"epochs": 1, **training})
    for node in data["nodes"]:
        if node["name"] in frozen:
            node["trainable"] = False
    path = folder / f"{template}.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def step_losses(metrics: Path, key: str = "loss") -> list[float]:
    """The per-step losses of a metrics.jsonl (DL Studio's and the script's share the form)."""
    records = [json.loads(line) for line in metrics.read_text(encoding="utf-8").splitlines()]
    return [r[key] for r in records if r["event"] == "step"]


def run_script(script: Path, *argv: str) -> None:
    """Run an exported script as ``python train.py ARGV`` would, in this process."""
    saved = sys.argv
    sys.argv = [str(script), *argv]
    try:
        runpy.run_path(str(script), run_name="__main__")
    finally:
        sys.argv = saved


@pytest.mark.parametrize("template", list(CASES))
def test_script_repeats_train_loss_for_loss(template: str, tmp_path: Path) -> None:
    project = trimmed_project(template, tmp_path, **CASES[template])
    studio = tmp_path / "studio"
    argv = ["--out", str(studio), "--threads", "1", "--device", "cpu", "--report-every", "1"]
    assert cli(["train", str(project), *argv]) == 0
    expected = step_losses(studio / "metrics.jsonl")

    script = tmp_path / "train.py"
    assert cli(["export", str(project), "--train-script", str(script)]) == 0
    if CASES[template].get("frozen"):
        assert 'frozen = [model.get_submodule(name) for name in ["bn1", "layer1"]]' in (
            script.read_text(encoding="utf-8")
        )
    out = tmp_path / "script"
    run_script(script, "--out", str(out), "--threads", "1", "--device", "cpu", "--log-every", "0")
    got = step_losses(out / "metrics.jsonl")

    assert len(expected) >= 8  # the whole first epoch, one value per step
    assert len(got) == len(expected)
    worst = max(abs(a - b) for a, b in zip(got, expected, strict=True))
    assert worst <= 1e-5, f"{template}: largest loss difference {worst:.2e}"
    assert (out / "weights.pt").is_file() and (out / "checkpoint.pt").is_file()

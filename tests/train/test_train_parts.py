"""Settings, losses, metrics, schedules, devices and weight loading."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dlstudio.compile.weights import WeightsFileError
from dlstudio.train import (
    MetricTracker,
    TrainConfig,
    TrainError,
    compute_loss,
    load_weights,
    resolve_device,
    save_weights,
)
from dlstudio.train.devices import choose_precision
from dlstudio.train.optim import lr_factor

CONTRACT_EXAMPLE = {
    "dataset": "digits",
    "dataset_options": {"resize": 28},
    "task": "classification",
    "loss": "cross_entropy",
    "metric": "accuracy",
    "optimizer": "adam",
    "lr": 0.001,
    "momentum": 0.9,
    "weight_decay": 0,
    "schedule": "none",
    "warmup_steps": 0,
    "epochs": 5,
    "batch_size": 64,
    "val_fraction": 0.2,
    "seed": 0,
    "grad_clip": 0,
    "ignore_index": -100,
    "early_stopping_patience": 0,
}


def test_config_from_contract_metadata_round_trips() -> None:
    config = TrainConfig.from_metadata(CONTRACT_EXAMPLE, epochs=2, lr=None)
    assert config.epochs == 2 and config.lr == 0.001 and config.dataset_options == {"resize": 28}
    assert isinstance(config.weight_decay, float)
    again = TrainConfig.from_metadata(config.to_metadata())
    assert again == config


def test_config_names_every_bad_value() -> None:
    with pytest.raises(TrainError) as info:
        TrainConfig.from_metadata({"optimizer": "lbfgs", "epochs": 0, "val_fraction": 1.5})
    text = str(info.value)
    assert "optimizer is 'lbfgs'; choose one of sgd, adam, adamw" in text
    assert "epochs must be a whole number of at least 1, got 0" in text
    assert "val_fraction must be at least 0 and below 1, got 1.5" in text
    with pytest.raises(TrainError, match="unknown training settings: epoch"):
        TrainConfig.from_metadata({}, epoch=3)
    assert TrainConfig.from_metadata({"future_key": 1}).epochs == 5  # unknown project keys ignored


def test_sequence_cross_entropy_matches_per_step_loss_and_ignores_padding() -> None:
    torch.manual_seed(0)
    logits = torch.randn(2, 3, 5)
    target = torch.tensor([[1, 2, -100], [4, -100, -100]])
    expected = F.cross_entropy(logits[[0, 0, 1], [0, 1, 0]], torch.tensor([1, 2, 4]))
    assert torch.allclose(compute_loss("cross_entropy", logits, target), expected)
    with pytest.raises(TrainError, match=r"outputs \(2, 3, 5\) but the targets are \(2, 4\)"):
        compute_loss("cross_entropy", logits, torch.zeros(2, 4, dtype=torch.long))


def test_mse_and_bce_accept_a_trailing_one() -> None:
    out = torch.tensor([[1.0], [2.0]])
    assert float(compute_loss("mse", out, torch.tensor([0.0, 0.0]))) == pytest.approx(2.5)
    bce = compute_loss("bce_with_logits", torch.zeros(2, 1), torch.tensor([1.0, 0.0]))
    assert float(bce) == pytest.approx(0.6931, abs=1e-4)


def test_token_accuracy_and_exact_match() -> None:
    target = torch.tensor([[1, 2, -100], [3, 3, 3]])
    predicted = torch.tensor([[1, 2, 0], [3, 0, 3]])
    logits = F.one_hot(predicted, 5).float()
    tracker = MetricTracker(["token_accuracy", "exact_match"], "cross_entropy")
    tracker.update(logits, target)
    result = tracker.result()
    assert result["token_accuracy"] == pytest.approx(4 / 5)  # the padded position is not counted
    assert result["exact_match"] == pytest.approx(1 / 2)


def test_accuracy_mae_and_binary_accuracy() -> None:
    acc = MetricTracker(["accuracy"], "cross_entropy")
    acc.update(torch.tensor([[0.0, 1.0], [1.0, 0.0]]), torch.tensor([1, 1]))
    acc.update(torch.tensor([[0.0, 1.0]]), torch.tensor([1]))
    assert acc.result()["accuracy"] == pytest.approx(2 / 3)
    mae = MetricTracker(["mae"], "mse")
    mae.update(torch.tensor([[1.0], [3.0]]), torch.tensor([2.0, 2.0]))
    assert mae.result()["mae"] == pytest.approx(1.0)
    binary = MetricTracker(["accuracy"], "bce_with_logits")
    binary.update(torch.tensor([2.0, -1.0, 0.5]), torch.tensor([1.0, 1.0, 0.0]))
    assert binary.result()["accuracy"] == pytest.approx(1 / 3)


def test_schedules_with_warmup() -> None:
    base = {"epochs": 10, "warmup_steps": 4}
    cosine = lr_factor(TrainConfig(schedule="cosine", **base), steps_per_epoch=10)
    assert [cosine(s) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert cosine(4) == pytest.approx(1.0) and cosine(100) == pytest.approx(0.0, abs=1e-9)
    assert 0.4 < cosine(52) < 0.6
    step = lr_factor(TrainConfig(schedule="step", step_size=2, gamma=0.5, epochs=10), 10)
    assert [step(0), step(19), step(20), step(45)] == [1.0, 1.0, 0.5, 0.25]
    onecycle = lr_factor(TrainConfig(schedule="onecycle", epochs=10), 10)
    assert onecycle(0) == pytest.approx(1 / 25) and onecycle(30) == pytest.approx(1.0)
    assert onecycle(100) < 1e-4
    none = lr_factor(TrainConfig(), 10)
    assert {none(s) for s in range(50)} == {1.0}


def test_devices() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else None
    if expected is None:
        assert resolve_device("auto").type in ("cpu", "mps")
        with pytest.raises(TrainError, match="device cuda was asked for but"):
            resolve_device("cuda")
    with pytest.raises(TrainError, match="unknown device 'tpu'"):
        resolve_device("tpu")
    precision = choose_precision(torch.device("cpu"))
    assert precision.autocast_dtype is None and not precision.use_scaler


class Net(nn.Module):
    """Two layers named like generated code."""

    def __init__(self, hidden: int = 4) -> None:
        super().__init__()
        self.fc1 = nn.Linear(3, hidden)
        self.fc2 = nn.Linear(hidden, 2)


@pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
def test_load_weights_matches_by_key_and_shape(tmp_path: Path, suffix: str) -> None:
    torch.manual_seed(0)
    source = Net(hidden=4)
    path = save_weights(source, tmp_path / f"w{suffix}")
    torch.manual_seed(1)
    target = Net(hidden=5)  # fc1 is 5x3 and fc2 2x5 now: only fc2.bias fits
    report = load_weights(target, path)
    assert report.loaded == ["fc2.bias"]
    assert sorted(m[0] for m in report.mismatched) == ["fc1.bias", "fc1.weight", "fc2.weight"]
    assert torch.equal(target.fc2.bias, source.fc2.bias)
    assert "(kept as initialised)" in report.summary()

    same = Net(hidden=4)
    report = load_weights(same, path)
    assert len(report.loaded) == 4 and not report.missing and not report.unexpected
    assert torch.equal(same.fc1.weight, source.fc1.weight)


def test_load_weights_reports_missing_and_unexpected(tmp_path: Path) -> None:
    path = tmp_path / "w.pt"
    torch.save({"module.fc1.weight": torch.ones(4, 3), "head.weight": torch.ones(1)}, path)
    report = load_weights(Net(), path)
    assert report.loaded == ["fc1.weight"]  # the DataParallel prefix is dropped
    assert report.unexpected == ["head.weight"]
    assert report.missing == ["fc1.bias", "fc2.weight", "fc2.bias"]


class NotWeights:
    """An arbitrary object: must never be unpickled."""


def test_pickled_objects_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.pt"
    torch.save({"x": NotWeights()}, path)
    with pytest.raises(WeightsFileError, match=r"evil\.pt is not a weights file .* read safely"):
        load_weights(Net(), path)


def test_resolve_run_takes_loss_and_metric_from_the_data_set_when_unset() -> None:
    from dlstudio.train.session import resolve_run

    config, dataset = resolve_run({"epochs": 3}, dataset="sine")
    assert (config.loss, config.metric, config.task) == ("mse", "mae", "regression")
    assert config.epochs == 3 and dataset.name == "sine"
    project = {"dataset": "digits", "dataset_options": {"resize": 28}, "metric": "accuracy"}
    config, dataset = resolve_run(project, epochs=None)
    assert config.dataset_options == {"resize": 28} and dataset.input_specs[0].shape == (1, 28, 28)
    config, _ = resolve_run(project, dataset="iris")
    assert config.dataset_options == {}  # the project's options belong to its own data set
    with pytest.raises(TrainError, match="no data set chosen"):
        resolve_run({})


def test_nll_loss_takes_log_probabilities_like_cross_entropy_takes_scores() -> None:
    from dlstudio.train.objectives import compute_loss, metrics_for

    scores = torch.randn(4, 5, 7)
    target = torch.randint(0, 7, (4, 5))
    target[0, :2] = -100  # padding, ignored by both
    expected = compute_loss("cross_entropy", scores, target)
    got = compute_loss("nll", torch.log_softmax(scores, dim=-1), target)
    assert torch.allclose(got, expected, atol=1e-6)
    assert metrics_for("nll", "exact_match", True) == ["exact_match", "token_accuracy"]

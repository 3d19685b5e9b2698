"""The Trainer: events, exact resume, frozen layers, faults, stop and pause."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import torch
from torch import nn

from dlstudio.train import (
    CHECKPOINT_NAME,
    EpochEvent,
    Event,
    FailedEvent,
    FinishedEvent,
    NoticeEvent,
    PausedEvent,
    RunControl,
    StepEvent,
    TrainConfig,
    Trainer,
    load_checkpoint,
    load_dataset,
)
from dlstudio.train.data.base import DataSplit


def _blobs(n: int = 256, features: int = 8, seed: int = 0) -> DataSplit:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, features, generator=gen)
    y = (x[:, 0] + x[:, 1] > 0).long() + (x[:, 2] > 1).long()
    return DataSplit((x,), y)


class Small(nn.Module):
    """Two layers with dropout, so resuming must restore the random state too."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(8, 16)
        self.drop = nn.Dropout(0.3)
        self.fc2 = nn.Linear(16, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.drop(torch.relu(self.fc1(x))))


def _small(seed: int = 0) -> Small:
    torch.manual_seed(seed)
    return Small()


def _config(**changes: object) -> TrainConfig:
    base = {"epochs": 3, "batch_size": 32, "val_fraction": 0.25, "report_every_steps": 1}
    base.update(changes)
    return TrainConfig(**base)  # type: ignore[arg-type]


def test_events_arrive_in_order_and_are_frozen() -> None:
    events: list[Event] = []
    config = _config(report_every_steps=3, report_every_s=3600.0)
    result = Trainer(_small(), config, callbacks=[events.append]).run(
        (_blobs(120), _blobs(40, seed=1))
    )
    steps = [e for e in events if isinstance(e, StepEvent)]
    epochs = [e for e in events if isinstance(e, EpochEvent)]
    assert result.status == "completed" and isinstance(events[-1], FinishedEvent)
    assert [e.epoch for e in epochs] == [1, 2, 3]
    # 120 training samples / 32 = 4 steps an epoch, reported every 3 steps and at epoch ends.
    assert [e.step for e in steps] == [3, 4, 7, 8, 11, 12]
    assert all(e.samples_per_s > 0 and e.lr == pytest.approx(1e-3) for e in steps)
    assert set(epochs[0].val) == {"loss", "accuracy"} and set(epochs[0].train) == {
        "loss",
        "accuracy",
    }
    with pytest.raises(AttributeError):
        steps[0].loss = 0.0  # type: ignore[misc]


def test_interrupted_and_resumed_run_ends_with_the_same_weights(tmp_path: Path) -> None:
    data = (_blobs(), _blobs(64, seed=1))
    config = _config(
        epochs=3,
        optimizer="sgd",
        lr=0.05,
        schedule="cosine",
        warmup_steps=3,
        grad_clip=1.0,
        weight_decay=1e-4,
    )
    straight = _small()
    assert Trainer(straight, config).run(data).status == "completed"

    control = RunControl()

    def stop_at_step_11(event: Event) -> None:
        if isinstance(event, StepEvent) and event.step == 11:
            control.stop()

    first = _small()
    interrupted = Trainer(first, config, [stop_at_step_11], control, tmp_path).run(data)
    assert interrupted.status == "stopped" and interrupted.steps == 11
    saved = load_checkpoint(tmp_path / CHECKPOINT_NAME)
    assert saved["progress"]["epoch"] == 1 and saved["progress"]["position"] == 96

    torch.manual_seed(123)  # a different global state before resuming must not matter
    resumed_model = _small(seed=99)
    resumed = Trainer(resumed_model, config, checkpoint_dir=tmp_path).run(
        data, resume_from=tmp_path / CHECKPOINT_NAME
    )
    assert resumed.status == "completed" and resumed.steps == 24
    for key, value in straight.state_dict().items():
        assert torch.equal(value, resumed_model.state_dict()[key]), key
    # ...and the interrupted weights really were different before resuming.
    assert not torch.equal(first.fc1.weight, straight.fc1.weight)


def test_frozen_layer_is_not_updated_nor_given_to_the_optimizer() -> None:
    model = _small()
    model.fc1.requires_grad_(False)
    before = model.fc1.weight.clone()
    trainer = Trainer(model, _config(epochs=2))
    assert trainer.run((_blobs(), None)).status == "completed"
    assert torch.equal(model.fc1.weight, before)
    optimised = {id(p) for group in trainer.optimizer.param_groups for p in group["params"]}
    assert id(model.fc1.weight) not in optimised and id(model.fc2.weight) in optimised


def test_all_frozen_fails_with_advice() -> None:
    model = _small().requires_grad_(False)
    events: list[Event] = []
    result = Trainer(model, _config(), [events.append]).run((_blobs(), None))
    assert result.status == "failed" and "every layer is frozen" in result.message
    assert isinstance(events[-1], FailedEvent)


class NaNAfter(nn.Module):
    """Outputs NaN from the ``bad_call``-th training call on."""

    def __init__(self, bad_call: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(8, 3)
        self.calls = 0
        self.bad_call = bad_call

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.calls += 1
        out = self.fc1(x)
        return out * float("nan") if self.calls >= self.bad_call else out


def test_non_finite_loss_names_the_step_and_keeps_the_last_good_checkpoint(tmp_path: Path) -> None:
    model = NaNAfter(bad_call=11)  # 8 steps an epoch: fails in epoch 2, at step 11
    events: list[Event] = []
    config = _config(epochs=3, report_every_steps=5, val_fraction=0.0)
    result = Trainer(model, config, [events.append], checkpoint_dir=tmp_path).run((_blobs(), None))
    failed = events[-1]
    assert isinstance(failed, FailedEvent) and failed.step == 11
    assert "at step 11" in failed.message and "last good checkpoint" in failed.message
    saved = load_checkpoint(tmp_path / CHECKPOINT_NAME)
    assert saved["progress"]["step"] == 8
    assert torch.isfinite(saved["model"]["fc1.weight"]).all()
    assert torch.equal(model.fc1.weight, saved["model"]["fc1.weight"])  # restored in memory
    assert result.status == "failed"


class BrokenMiddle(nn.Module):
    """fc2 expects 20 features but fc1 gives 16: fails inside fc2."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(8, 16)
        self.block = nn.Sequential(nn.ReLU(), nn.Linear(20, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(self.fc1(x))


def test_exception_in_forward_names_the_layer() -> None:
    events: list[Event] = []
    result = Trainer(BrokenMiddle(), _config(), [events.append]).run((_blobs(), None))
    failed = events[-1]
    assert isinstance(failed, FailedEvent) and failed.layer == "block"
    assert failed.message.startswith("layer block failed in the forward pass at step 1")
    assert "mat1 and mat2" in failed.message and "Traceback" in failed.details
    assert result.steps == 0


class OutOfMemoryAbove(nn.Module):
    """Raises a CUDA out-of-memory error for batches above ``limit``, as a real GPU would."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(8, 3)
        self.limit = limit

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] > self.limit:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return self.fc1(x)


def test_out_of_memory_retries_at_half_the_batch() -> None:
    events: list[Event] = []
    result = Trainer(OutOfMemoryAbove(10), _config(epochs=1), [events.append]).run((_blobs(), None))
    notices = [e.message for e in events if isinstance(e, NoticeEvent)]
    assert result.status == "completed"
    assert notices == [
        "out of device memory at step 1: retrying with batch size 16",
        "out of device memory at step 1: retrying with batch size 8",
    ]
    assert result.steps == 32  # 256 samples in batches of 8


def test_schedule_follows_samples_after_the_batch_is_halved() -> None:
    events: list[Event] = []
    config = _config(epochs=2, schedule="cosine", val_fraction=0.0)
    Trainer(OutOfMemoryAbove(10), config, [events.append]).run((_blobs(), None))
    lrs = {e.step: e.lr for e in events if isinstance(e, StepEvent)}
    assert len(lrs) == 64  # 2 epochs of 256 samples in batches of 8
    assert lrs[32] == pytest.approx(0.5e-3, rel=0.05)  # half way through the cosine
    assert lrs[63] > 0 and lrs[64] == pytest.approx(0.0, abs=1e-9)


def test_out_of_memory_without_retry_gives_advice() -> None:
    events: list[Event] = []
    config = _config(oom_retry=False)
    Trainer(OutOfMemoryAbove(10), config, [events.append]).run((_blobs(), None))
    failed = events[-1]
    assert isinstance(failed, FailedEvent) and failed.layer is None
    assert "out of device memory" in failed.message and "lower the batch size" in failed.message


def test_stop_takes_effect_within_one_batch() -> None:
    control = RunControl()
    seen: list[int] = []

    def on_event(event: Event) -> None:
        if isinstance(event, StepEvent):
            seen.append(event.step)
            if event.step == 3:
                control.stop()

    result = Trainer(_small(), _config(epochs=5), [on_event], control).run((_blobs(), None))
    assert result.status == "stopped" and result.steps == 3 and seen == [1, 2, 3]


def test_stop_in_an_epochs_last_batch_skips_validation_and_resumes_exactly(
    tmp_path: Path,
) -> None:
    data = (_blobs(), _blobs(64, seed=1))
    config = _config(epochs=3, optimizer="sgd", lr=0.05)
    straight = _small()
    assert Trainer(straight, config).run(data).status == "completed"

    control = RunControl()
    events: list[Event] = []

    def stop_at_step_16(event: Event) -> None:  # 8 steps an epoch: the last of epoch 2
        events.append(event)
        if isinstance(event, StepEvent) and event.step == 16:
            control.stop()

    stopped = Trainer(_small(), config, [stop_at_step_16], control, tmp_path).run(data)
    assert stopped.status == "stopped" and stopped.steps == 16
    assert [e.epoch for e in events if isinstance(e, EpochEvent)] == [1]  # not validated
    saved = load_checkpoint(tmp_path / CHECKPOINT_NAME)
    assert saved["progress"]["epoch"] == 1 and saved["progress"]["position"] == 256

    resumed_events: list[Event] = []
    resumed_model = _small(seed=99)
    resumed = Trainer(resumed_model, config, [resumed_events.append], checkpoint_dir=tmp_path).run(
        data, resume_from=tmp_path / CHECKPOINT_NAME
    )
    assert resumed.status == "completed" and resumed.steps == 24
    epochs = [e for e in resumed_events if isinstance(e, EpochEvent)]
    assert [e.epoch for e in epochs] == [2, 3] and "loss" in epochs[0].val
    for key, value in straight.state_dict().items():
        assert torch.equal(value, resumed_model.state_dict()[key]), key


def test_stop_during_validation_ends_it_before_its_next_batch() -> None:
    control = RunControl()
    model = _small()
    eval_batches: list[int] = []

    def count_eval_batch(module: nn.Module, _args: object, _output: object) -> None:
        if not module.training:
            eval_batches.append(1)
            control.stop()  # pressed while the first validation batch runs

    model.register_forward_hook(count_eval_batch)
    data = (_blobs(), _blobs(600, seed=1))  # validation: three batches of 256
    result = Trainer(model, _config(epochs=2), [], control).run(data)
    assert result.status == "stopped" and result.steps == 8 and len(eval_batches) == 1


def test_pause_waits_between_batches_until_resumed() -> None:
    """The trainer runs in a thread, as in the GUI; the test waits on events, never sleeps."""
    control = RunControl()
    paused = threading.Event()
    events: list[Event] = []

    def on_event(event: Event) -> None:
        events.append(event)
        if isinstance(event, StepEvent) and event.step == 2:
            control.pause()
        if isinstance(event, PausedEvent):
            paused.set()

    result_box: list[object] = []
    worker = threading.Thread(
        target=lambda: result_box.append(
            Trainer(_small(), _config(epochs=1), [on_event], control).run((_blobs(), None))
        )
    )
    worker.start()
    assert paused.wait(timeout=60)
    steps_while_paused = [e.step for e in events if isinstance(e, StepEvent)]
    assert steps_while_paused[-1] == 2 and worker.is_alive()
    control.resume()
    worker.join(timeout=60)
    assert not worker.is_alive()
    assert result_box[0].status == "completed"  # type: ignore[attr-defined]
    assert [e.step for e in events if isinstance(e, StepEvent)][:3] == [1, 2, 3]


def test_stop_while_paused_ends_the_run() -> None:
    control = RunControl()

    def on_event(event: Event) -> None:
        if isinstance(event, StepEvent) and event.step == 1:
            control.pause()
        if isinstance(event, PausedEvent):
            control.stop()  # e.g. the user presses Stop while paused

    result = Trainer(_small(), _config(), [on_event], control).run((_blobs(), None))
    assert result.status == "stopped" and result.steps == 1


class Constant(nn.Module):
    """Its output never changes (the only trainable weight is unused): nothing improves."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(8, 3).requires_grad_(False)
        self.unused = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc1(x) + 0 * self.unused


def test_early_stopping_after_patience_epochs() -> None:
    events: list[Event] = []
    config = _config(epochs=10, early_stopping_patience=2)
    result = Trainer(Constant(), config, [events.append]).run((_blobs(), _blobs(64, seed=1)))
    assert result.status == "early_stopping" and result.epochs == 3
    finished = events[-1]
    assert isinstance(finished, FinishedEvent) and finished.reason == "early_stopping"


def test_incompatible_data_is_reported_before_training() -> None:
    events: list[Event] = []
    trainer = Trainer(
        _small(),
        _config(),
        [events.append],
        expected_inputs=[(("N", 1, 28, 28), "float32")],
        input_names=["image"],
    )
    result = trainer.run(load_dataset("digits"))
    assert result.status == "failed" and result.steps == 0
    assert (
        "digits gives (N, 1, 8, 8) but image expects (N, 1, 28, 28): turn on resize"
        in result.message
    )
    assert [type(e) for e in events] == [FailedEvent]


def test_wrong_loss_for_targets_is_explained() -> None:
    result = Trainer(_small(), _config(loss="mse")).run(load_dataset("iris"))
    assert result.status == "failed" and "set loss to cross_entropy" in result.message


def test_resume_from_a_foreign_checkpoint_fails_clearly(tmp_path: Path) -> None:
    path = tmp_path / "x.pt"
    torch.save({"fc1.weight": torch.zeros(2)}, path)
    result = Trainer(_small(), _config()).run((_blobs(), None), resume_from=path)
    assert result.status == "failed" and "not a DL Studio training checkpoint" in result.message


def test_same_seed_same_weights_other_seed_other_weights() -> None:
    def train(seed: int) -> Small:
        model = _small()  # the same initial weights every time
        Trainer(model, _config(epochs=2, seed=seed)).run((_blobs(), None))
        return model

    first, again, other = train(0), train(0), train(1)
    assert torch.equal(first.fc1.weight, again.fc1.weight)
    assert not torch.equal(first.fc1.weight, other.fc1.weight)

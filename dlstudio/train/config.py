"""Training settings: one dataclass, read from and written to ``graph.metadata["training"]``."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from dlstudio.train.errors import TrainError

TASKS = ("classification", "sequence_classification", "regression", "language_model")
LOSSES = ("cross_entropy", "nll", "mse", "bce_with_logits")
CLASS_LOSSES = ("cross_entropy", "nll")
"""Losses on class ids: cross_entropy takes raw scores (logits), nll log-probabilities."""
METRICS = ("accuracy", "token_accuracy", "exact_match", "mae")
OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("none", "step", "cosine", "onecycle")
DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "off", "bf16", "fp16")


@dataclass(frozen=True)
class TrainConfig:
    """Every setting of a training run; defaults train a small classifier sensibly.

    The first block mirrors the ``graph.metadata["training"]`` schema in docs/contracts.md; the
    rest are run-time settings that projects do not store.
    """

    dataset: str | None = None
    dataset_options: dict[str, Any] = field(default_factory=dict)
    task: str = "classification"
    loss: str = "cross_entropy"
    metric: str = "accuracy"
    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str = "none"
    warmup_steps: int = 0
    epochs: int = 5
    batch_size: int = 64
    val_fraction: float = 0.2
    seed: int = 0
    grad_clip: float = 0.0
    ignore_index: int = -100
    early_stopping_patience: int = 0
    # Step schedule: multiply the learning rate by ``gamma`` every ``step_size`` epochs.
    step_size: int = 0
    gamma: float = 0.1
    # Reproducibility and speed: torch's deterministic algorithms, torch.compile of the model.
    deterministic: bool = False
    compile: bool = False
    # Run-time settings.
    device: str = "auto"
    mixed_precision: str = "auto"
    report_every_steps: int = 20
    report_every_s: float = 0.1
    eval_batch_size: int = 0
    checkpoint_every_steps: int = 0
    oom_retry: bool = True
    train_metric: bool = True
    threads: int = 0
    """CPU threads for torch; 0 chooses (see :func:`dlstudio.train.threads.choose_threads`)."""
    sync_batchnorm: bool = False
    """With several processes: BatchNorm statistics over the global batch (SyncBatchNorm)."""

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise TrainError("training settings: " + "; ".join(problems))

    def problems(self) -> list[str]:
        """Each invalid setting, with its value and what is allowed."""
        out: list[str] = []
        for name, allowed in (
            ("task", TASKS),
            ("loss", LOSSES),
            ("metric", METRICS),
            ("optimizer", OPTIMIZERS),
            ("schedule", SCHEDULES),
            ("device", DEVICES),
            ("mixed_precision", PRECISIONS),
        ):
            value = getattr(self, name)
            if value not in allowed:
                out.append(f"{name} is {value!r}; choose one of {', '.join(allowed)}")
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                out.append(f"{name} must be a whole number of at least 1, got {value!r}")
        for name in (
            "warmup_steps",
            "early_stopping_patience",
            "step_size",
            "eval_batch_size",
            "checkpoint_every_steps",
            "report_every_steps",
            "threads",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                out.append(f"{name} must be a whole number of 0 or more, got {value!r}")
        for name in ("lr", "momentum", "weight_decay", "grad_clip", "gamma", "report_every_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                out.append(f"{name} must be a number of 0 or more, got {value!r}")
        if isinstance(self.ignore_index, bool) or not isinstance(self.ignore_index, int):
            out.append(
                "ignore_index must be a whole number (the target class the loss skips, -100 by "
                f"default), got {self.ignore_index!r}"
            )
        if isinstance(self.lr, int | float) and self.lr == 0:
            out.append("lr must be above 0, got 0")
        if not isinstance(self.val_fraction, int | float) or not 0 <= self.val_fraction < 1:
            out.append(f"val_fraction must be at least 0 and below 1, got {self.val_fraction!r}")
        for name in ("deterministic", "compile", "oom_retry", "train_metric", "sync_batchnorm"):
            if not isinstance(getattr(self, name), bool):
                out.append(f"{name} must be true or false, got {getattr(self, name)!r}")
        if not isinstance(self.dataset_options, dict):
            out.append(f"dataset_options must be a mapping, got {self.dataset_options!r}")
        return out

    @classmethod
    def from_metadata(cls, metadata: dict[str, Any] | None, **overrides: Any) -> TrainConfig:
        """Settings from a project's ``metadata["training"]``; ``overrides`` that are not None win.

        Unknown keys are ignored (a newer program may have written them); wrong values raise
        :class:`TrainError` naming each one.
        """
        if metadata is not None and not isinstance(metadata, dict):
            raise TrainError(
                f"training settings must be a mapping of names to values, got {metadata!r}"
            )
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in (metadata or {}).items() if k in names}
        values.update({k: v for k, v in overrides.items() if v is not None})
        unknown = [k for k in overrides if k not in names]
        if unknown:
            raise TrainError(f"unknown training settings: {', '.join(unknown)}")
        for key in ("lr", "momentum", "weight_decay", "grad_clip", "gamma", "val_fraction"):
            # JSON writes 1.0 as 1; accept whole numbers where a float is meant.
            if isinstance(values.get(key), int) and not isinstance(values.get(key), bool):
                values[key] = float(values[key])
        options = values.get("dataset_options")
        if options is not None and not isinstance(options, dict):
            raise TrainError(
                f"dataset_options must be a mapping of option names to values, got {options!r}"
            )
        if "dataset_options" in values:
            values["dataset_options"] = dict(options or {})
        return cls(**values)

    def to_metadata(self) -> dict[str, Any]:
        """The project-stored part of the settings, as plain JSON values."""
        data = dataclasses.asdict(self)
        run_time = (
            "device",
            "mixed_precision",
            "report_every_steps",
            "report_every_s",
            "eval_batch_size",
            "checkpoint_every_steps",
            "oom_retry",
            "train_metric",
            "threads",
            "sync_batchnorm",
        )
        return {k: v for k, v in data.items() if k not in run_time}

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with some settings changed (validated again)."""
        return dataclasses.replace(self, **changes)

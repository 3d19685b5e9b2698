"""Results of a trained model on a split: metrics, confusion matrix and sample predictions.

Pure torch + numpy (no Qt), so the worker thread computes it and the views only draw it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from dlstudio.train import Dataset, DataSplit, TrainConfig, compute_loss
from dlstudio.train.config import CLASS_LOSSES
from dlstudio.train.objectives import MetricTracker, metrics_for

MAX_SAMPLES = 24
"""Sample predictions kept for the grid."""


@dataclass(frozen=True)
class SamplePrediction:
    """One example: an image (H x W or H x W x 3 in 0..1) or input text, and both labels."""

    truth: str
    predicted: str
    correct: bool
    image: np.ndarray | None = None
    text: str = ""
    inputs: tuple[torch.Tensor, ...] | None = field(default=None, repr=False, compare=False)
    """The sample's model inputs (batch of one), so the prediction can be explained."""
    target_index: int | None = None
    """The true class, for classifiers."""


@dataclass(frozen=True)
class Predictions:
    """How a model did on one split; ``confusion[i][j]`` counts true class i predicted as j."""

    split: str
    size: int
    metrics: dict[str, float]
    kind: str = "classification"
    """``classification``, ``sequence`` or ``values``."""
    class_names: list[str] = field(default_factory=list)
    confusion: list[list[int]] | None = None
    samples: tuple[SamplePrediction, ...] = ()
    weights: str = ""
    """Which weights made these predictions, e.g. ``epoch 3 (last)`` or ``epoch 2 (best)``."""
    cell_samples: dict[tuple[int, int], SamplePrediction] = field(
        default_factory=dict, repr=False, compare=False
    )
    """The first sample of each (true, predicted) cell of the confusion matrix."""


def choose_split(dataset: Dataset, config: TrainConfig, test: bool) -> tuple[str, DataSplit]:
    """The test split when asked and present, else the run's validation split (or training)."""
    if test and dataset.test is not None and len(dataset.test):
        return "test", dataset.test
    train, val = dataset.split(config.val_fraction, config.seed)
    if val is not None and len(val):
        return ("validation (this data set has no test split)" if test else "validation"), val
    return "training (no validation split)", train


@torch.no_grad()
def evaluate_model(
    module: torch.nn.Module,
    split: DataSplit,
    dataset: Dataset,
    config: TrainConfig,
    split_name: str,
    max_samples: int = MAX_SAMPLES,
) -> Predictions:
    """Loss, metrics, confusion matrix (class targets) and a few decoded sample predictions."""
    device = next((p.device for p in module.parameters()), torch.device("cpu"))
    was_training = module.training
    module.eval()
    sequence = split.target.dim() >= 2 and config.loss in CLASS_LOSSES
    tracker = MetricTracker(
        metrics_for(config.loss, config.metric, sequence), config.loss, config.ignore_index
    )
    batch = max(256, 4 * config.batch_size)
    loss_sum = 0.0
    outputs: list[torch.Tensor] = []
    for start in range(0, len(split), batch):
        inputs = tuple(x[start : start + batch].to(device) for x in split.inputs)
        target = split.target[start : start + batch].to(device)
        output = module(*inputs)
        if isinstance(output, tuple | list):
            output = output[0]
        loss_sum += float(compute_loss(config.loss, output, target, config.ignore_index)) * len(
            target
        )
        tracker.update(output, target)
        outputs.append(output.detach().float().cpu())
    module.train(was_training)
    metrics = {"loss": loss_sum / max(1, len(split)), **tracker.result()}
    output = torch.cat(outputs) if outputs else torch.empty(0)
    target = split.target.cpu()
    classes = _class_targets(output, target, config)
    if classes:
        return _classification(split, dataset, split_name, metrics, output, target, max_samples)
    if sequence and output.dim() == target.dim() + 1:
        samples = _sequence_samples(split, dataset, output, target, config, max_samples)
        return Predictions(split_name, len(split), metrics, "sequence", samples=samples)
    samples = tuple(
        SamplePrediction(_values(target[i]), _values(output[i]), False, _image(split.inputs[0][i]))
        for i in range(min(max_samples, len(split)))
    )
    return Predictions(split_name, len(split), metrics, "values", samples=samples)


def mistakes_first(wrong: torch.Tensor, count: int) -> list[int]:
    """Up to ``count`` sample indices: the wrongly predicted ones first (in split order), then
    right ones, so the sample grid opens on what the model gets wrong."""
    order = torch.cat([wrong.nonzero().flatten(), (~wrong).nonzero().flatten()])
    return [int(i) for i in order[:count]]


def _class_targets(output: torch.Tensor, target: torch.Tensor, config: TrainConfig) -> bool:
    return (
        config.loss in CLASS_LOSSES
        and target.dim() == 1
        and not target.is_floating_point()
        and output.dim() == 2
    )


def _classification(
    split: DataSplit,
    dataset: Dataset,
    split_name: str,
    metrics: dict[str, float],
    output: torch.Tensor,
    target: torch.Tensor,
    max_samples: int,
) -> Predictions:
    n_classes = output.shape[1]
    names = list(dataset.class_names or [])
    names += [str(i) for i in range(len(names), n_classes)]
    predicted = output.argmax(dim=1)
    valid = (target >= 0) & (target < n_classes)
    pairs = target[valid] * n_classes + predicted[valid]
    counts = torch.bincount(pairs, minlength=n_classes * n_classes).reshape(n_classes, n_classes)

    def sample(i: int) -> SamplePrediction:
        t, p = int(target[i]), int(predicted[i])
        truth = names[t] if 0 <= t < len(names) else str(t)
        inputs = tuple(x[i : i + 1] for x in split.inputs)
        return SamplePrediction(
            truth, names[p], t == p, _image(split.inputs[0][i]), _text(split, dataset, i), inputs, t
        )

    samples = [sample(i) for i in mistakes_first(predicted != target, max_samples)]
    first_of_cell: dict[tuple[int, int], int] = {}
    for i in valid.nonzero().flatten().tolist():
        first_of_cell.setdefault((int(target[i]), int(predicted[i])), i)
    cells = {cell: sample(i) for cell, i in first_of_cell.items()}
    return Predictions(
        split_name,
        len(split),
        metrics,
        "classification",
        names,
        counts.tolist(),
        tuple(samples),
        cell_samples=cells,
    )


def _sequence_samples(
    split: DataSplit,
    dataset: Dataset,
    output: torch.Tensor,
    target: torch.Tensor,
    config: TrainConfig,
    max_samples: int,
) -> tuple[SamplePrediction, ...]:
    predicted = output.argmax(dim=-1)
    wrong = ((predicted != target) & (target != config.ignore_index)).flatten(1).any(dim=1)
    samples = []
    for i in mistakes_first(wrong, max_samples):
        keep = target[i] != config.ignore_index
        truth = _decode(target[i][keep], dataset.vocab)
        guess = _decode(predicted[i][keep], dataset.vocab)
        samples.append(
            SamplePrediction(truth, guess, truth == guess, None, _text(split, dataset, i))
        )
    return tuple(samples)


def _decode(ids: torch.Tensor, vocab: list[str] | None) -> str:
    tokens = [vocab[i] if vocab and 0 <= i < len(vocab) else str(i) for i in ids.tolist()]
    tokens = [t for t in tokens if t not in ("<pad>", "<bos>", "<eos>")]
    joined = "".join(tokens) if all(len(t) == 1 for t in tokens) else " ".join(tokens)
    return joined or "∅"


def _text(split: DataSplit, dataset: Dataset, index: int) -> str:
    """The first input decoded as tokens, when it holds token ids."""
    first = split.inputs[0][index]
    if first.is_floating_point() or first.dim() != 1:
        return ""
    return _decode(first, dataset.vocab)


def _image(x: torch.Tensor) -> np.ndarray | None:
    """An input as a picture in 0..1: (1, H, W), (3, H, W), (H, W) or a flattened square."""
    if not x.is_floating_point():
        return None
    x = x.detach().float().cpu()
    if x.dim() == 1:
        side = round(x.numel() ** 0.5)
        if side * side != x.numel() or side < 4:
            return None
        x = x.reshape(side, side)
    elif x.dim() == 3 and x.shape[0] in (1, 3):
        x = x[0] if x.shape[0] == 1 else x.permute(1, 2, 0)
    elif x.dim() != 2:
        return None
    low, high = float(x.min()), float(x.max())
    return ((x - low) / (high - low if high > low else 1.0)).numpy()


def _values(x: Any) -> str:
    flat = torch.as_tensor(x).reshape(-1).tolist()
    shown = ", ".join(f"{v:.3g}" for v in flat[:4])
    return shown + (", …" if len(flat) > 4 else "")

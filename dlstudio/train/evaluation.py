"""Running the model forward (with mixed precision when chosen) and evaluating a split."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from dlstudio.train.config import TrainConfig
from dlstudio.train.data.base import DataSplit
from dlstudio.train.devices import Precision
from dlstudio.train.objectives import MetricTracker, compute_loss
from dlstudio.train.run_state import LayerFailure


def forward(
    model: nn.Module, inputs: tuple[torch.Tensor, ...], device: torch.device, precision: Precision
) -> torch.Tensor:
    """``model(*inputs)``; with several Output nodes the first one is the trained output."""
    try:
        if precision.autocast_dtype is not None:
            with torch.autocast(device.type, dtype=precision.autocast_dtype):
                output = model(*inputs)
        else:
            output = model(*inputs)
    except Exception as exc:
        raise LayerFailure(exc, "forward") from exc
    if isinstance(output, tuple | list):
        output = output[0]
    return output


class EvaluationStopped(Exception):
    """Stop was asked for during an evaluation pass (raised before its next batch)."""


@torch.no_grad()
def evaluate(
    model: nn.Module,
    split: DataSplit,
    config: TrainConfig,
    metric_names: list[str],
    device: torch.device,
    precision: Precision,
    stop: Callable[[], bool] | None = None,
) -> dict[str, float]:
    """Loss and metrics of ``model`` on ``split`` in eval mode (one device sync at the end).
    With ``stop``, it is asked before every batch; when true, :class:`EvaluationStopped`."""
    was_training = model.training
    model.eval()
    tracker = MetricTracker(metric_names, config.loss, config.ignore_index)
    batch = config.eval_batch_size or max(256, 4 * config.batch_size)
    loss_sum: torch.Tensor | float = 0.0
    try:
        for start in range(0, len(split), batch):
            if stop is not None and stop():
                raise EvaluationStopped
            inputs = tuple(x[start : start + batch].to(device) for x in split.inputs)
            target = split.target[start : start + batch].to(device)
            output = forward(model, inputs, device, precision)
            loss = compute_loss(config.loss, output, target, config.ignore_index)
            loss_sum = loss_sum + loss * len(target)
            tracker.update(output, target)
    finally:
        model.train(was_training)
    return {"loss": float(loss_sum) / max(1, len(split)), **tracker.result()}

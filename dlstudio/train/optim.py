"""Optimizers over the trainable parameters only, and learning-rate schedules with warm-up."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from dlstudio.train.config import TrainConfig
from dlstudio.train.errors import TrainError


def trainable_parameters(model: nn.Module) -> list[nn.Parameter]:
    """Parameters with ``requires_grad``; frozen layers are left out so they cannot change."""
    return [p for p in model.parameters() if p.requires_grad]


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """SGD (with momentum), Adam or AdamW over the trainable parameters."""
    params = trainable_parameters(model)
    if not params:
        raise TrainError(
            "nothing to train: every layer is frozen (or the model has no weights); "
            "make at least one layer trainable"
        )
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
        )
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    raise TrainError(f"unknown optimizer {config.optimizer!r}; choose sgd, adam or adamw")


def lr_factor(config: TrainConfig, steps_per_epoch: int) -> Callable[[int], float]:
    """The learning rate at step ``s`` is ``lr * factor(s)``: warm-up, then the schedule.

    A pure function of the step, so a resumed run continues on exactly the same curve.
    """
    total = max(1, config.epochs * steps_per_epoch)
    warmup = config.warmup_steps
    schedule = config.schedule
    step_size = (config.step_size or max(1, config.epochs // 3)) * steps_per_epoch
    gamma = config.gamma

    def factor(step: int) -> float:
        if schedule == "onecycle":
            # One-cycle: rise from lr/25 to lr over the warm-up (30% by default), then a cosine
            # fall to lr/25e4, as in Smith & Topin and torch's OneCycleLR.
            rise = warmup or max(1, int(0.3 * total))
            if step < rise:
                return 1 / 25 + (1 - 1 / 25) * step / rise
            progress = min(1.0, (step - rise) / max(1, total - rise))
            low = 1 / 25e4
            return low + (1 - low) * 0.5 * (1 + math.cos(math.pi * progress))
        if step < warmup:
            return (step + 1) / warmup
        if schedule == "step":
            return gamma ** ((step - warmup) // step_size)
        if schedule == "cosine":
            progress = min(1.0, (step - warmup) / max(1, total - warmup))
            return 0.5 * (1 + math.cos(math.pi * progress))
        return 1.0

    return factor


def make_scheduler(
    optimizer: torch.optim.Optimizer, config: TrainConfig, steps_per_epoch: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """A per-step scheduler; its state is only the step count (safe to save and resume)."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor(config, steps_per_epoch))

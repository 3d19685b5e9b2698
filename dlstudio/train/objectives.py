"""Losses and metrics, computed on the device and read back only when asked."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from dlstudio.core.tensor_spec import format_shape
from dlstudio.train.config import CLASS_LOSSES
from dlstudio.train.errors import TrainError


def _shape_error(loss: str, output: torch.Tensor, target: torch.Tensor, fix: str) -> TrainError:
    return TrainError(
        f"{loss}: the model outputs {format_shape(tuple(output.shape))} but the targets are "
        f"{format_shape(tuple(target.shape))}; {fix}"
    )


def compute_loss(
    kind: str, output: torch.Tensor, target: torch.Tensor, ignore_index: int = -100
) -> torch.Tensor:
    """Mean loss of a batch. Cross-entropy also works per time step: (N, T, V) vs (N, T).

    ``nll`` is the same on log-probabilities (the output of a LogSoftmax), as PyTorch's
    ``F.nll_loss``; cross-entropy applies the log-softmax itself."""
    if kind in CLASS_LOSSES:
        loss = F.cross_entropy if kind == "cross_entropy" else F.nll_loss
        if target.is_floating_point():
            raise _shape_error(kind, output, target, f"{kind} needs class ids; use mse")
        if output.dim() == 2 and target.dim() == 1 and output.shape[0] == target.shape[0]:
            return loss(output.float(), target, ignore_index=ignore_index)
        if output.dim() == target.dim() + 1 and output.shape[:-1] == target.shape:
            # Flatten (N, T, V) to (N*T, V) so every time step counts as one prediction.
            return loss(
                output.reshape(-1, output.shape[-1]).float(),
                target.reshape(-1),
                ignore_index=ignore_index,
            )
        raise _shape_error(
            kind, output, target, "the output needs one score per class as its last dimension"
        )
    if kind in ("mse", "bce_with_logits"):
        target = _match_values(kind, output, target)
        if kind == "mse":
            return F.mse_loss(output.float(), target)
        return F.binary_cross_entropy_with_logits(output.float(), target)
    raise TrainError(f"unknown loss {kind!r}; choose cross_entropy, nll, mse or bce_with_logits")


def ignore_padded_targets(
    target: torch.Tensor,
    inputs: tuple[torch.Tensor, ...],
    padding: tuple[int, int] | None,
    ignore_index: int = -100,
) -> torch.Tensor:
    """Targets with the padded steps set to ``ignore_index``, so the loss and the metrics skip
    them. ``padding`` is (input position, padding id) of the padded Input whose mask reaches
    the output; it applies to per-step class targets of the same (N, T) shape as that input."""
    if padding is None or target.is_floating_point():
        return target
    position, pad = padding
    if position >= len(inputs) or inputs[position].shape != target.shape:
        return target
    return target.masked_fill(inputs[position] == pad, ignore_index)


def _match_values(kind: str, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    if output.shape != target.shape:
        if output.numel() != target.numel():
            raise _shape_error(
                kind, output, target, "make the last layer give one value per target"
            )
        # (N, 1) against (N,) and the like: same values, different bookkeeping.
        target = target.reshape(output.shape)
    return target.float()


def metrics_for(loss: str, metric: str, sequence: bool) -> list[str]:
    """The metrics worth reporting for a loss and output kind; ``metric`` first."""
    if loss in CLASS_LOSSES:
        names = ["token_accuracy", "exact_match"] if sequence else ["accuracy"]
    elif loss == "bce_with_logits":
        names = ["accuracy"]
    else:
        names = ["mae"]
    return [metric, *(n for n in names if n != metric)] if metric in names else names


class MetricTracker:
    """Per-batch sums kept as device tensors; read back (one sync) only in :meth:`result`.

    Appending a batch's sum to a list costs no extra device operation; lists are folded into one
    tensor now and then so memory stays bounded.
    """

    _FOLD_AT = 256

    def __init__(self, names: list[str], loss: str, ignore_index: int = -100) -> None:
        self.names = list(names)
        self.loss = loss
        self.ignore_index = ignore_index
        # Plain accuracy on class ids is by far the most common case: give it a short path.
        self._plain_accuracy = self.names == ["accuracy"] and loss in CLASS_LOSSES
        self.reset()

    def reset(self) -> None:
        """Forget everything counted so far."""
        self._sums: dict[str, list[torch.Tensor | float]] = {n: [] for n in self.names}
        self._counts: dict[str, list[torch.Tensor | float]] = {n: [] for n in self.names}

    def state(self) -> dict[str, list[float]]:
        """Plain numbers for a checkpoint (syncs)."""
        return {n: [self._total(self._sums[n]), self._total(self._counts[n])] for n in self.names}

    def load_state(self, state: dict[str, list[float]]) -> None:
        """Continue counting from :meth:`state`."""
        for name, (total, count) in state.items():
            if name in self._sums:
                self._sums[name], self._counts[name] = [float(total)], [float(count)]

    def update(self, output: torch.Tensor, target: torch.Tensor) -> None:
        """Count one batch (device operations only, no sync)."""
        if self._plain_accuracy and target.dim() == 1:
            sums = self._sums["accuracy"]
            # The per-sample hits, summed only when folded: one device operation fewer a step.
            sums.append(output.argmax(dim=-1) == target)
            self._counts["accuracy"].append(target.shape[0])
            if len(sums) >= self._FOLD_AT:
                self._fold()
            return
        with torch.no_grad():
            output = output.detach()
            for name in self.names:
                total, count = self._measure(name, output, target)
                self._sums[name].append(total)
                self._counts[name].append(count)
        if len(self._sums[self.names[0]]) >= self._FOLD_AT:
            self._fold()

    def _fold(self) -> None:
        for table in (self._sums, self._counts):
            for name, parts in table.items():
                tensors = [t for t in parts if isinstance(t, torch.Tensor)]
                numbers = sum(float(t) for t in parts if not isinstance(t, torch.Tensor))
                table[name] = [numbers, _reduce(tensors)] if tensors else [numbers]

    @staticmethod
    def _total(parts: list[torch.Tensor | float]) -> float:
        tensors = [t for t in parts if isinstance(t, torch.Tensor)]
        total = math.fsum(float(t) for t in parts if not isinstance(t, torch.Tensor))
        return total + (float(_reduce(tensors)) if tensors else 0.0)

    def _measure(
        self, name: str, output: torch.Tensor, target: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | int]:
        if name == "mae":
            target = _match_values("mae", output, target)
            return (output.float() - target).abs().sum(), target.numel()
        if self.loss == "bce_with_logits":
            target = _match_values("accuracy", output, target)
            return ((output > 0) == (target > 0.5)).sum(), target.numel()
        predicted = output.argmax(dim=-1)
        if name == "accuracy" and target.dim() == 1:
            return (predicted == target).sum(), target.numel()
        keep = target != self.ignore_index
        right = (predicted == target) & keep
        if name == "exact_match":
            # A sequence counts only when every non-padding token is right.
            whole = (right | ~keep).reshape(target.shape[0], -1).all(dim=1)
            return whole.sum(), target.shape[0]
        return right.sum(), keep.sum()

    def result(self) -> dict[str, float]:
        """Each metric's mean so far (one device sync)."""
        out = {}
        for name in self.names:
            count = self._total(self._counts[name])
            out[name] = self._total(self._sums[name]) / count if count else float("nan")
        return out


def _reduce(tensors: list[torch.Tensor]) -> torch.Tensor:
    """The sum of every element of every tensor, as one device tensor (int64 or float32; MPS
    has no float64)."""
    floating = any(t.is_floating_point() for t in tensors)
    dtype = torch.float32 if floating else torch.int64
    return torch.cat([t.reshape(-1).to(dtype) for t in tensors]).sum()

"""How much memory a task needs, from the analysis's parameter and activation counts.

Pure arithmetic (no torch): ``compile`` holds the weights once; ``export`` a copy of the module
plus its serialised weights and a forward pass at the check's batch of 3; ``train`` the weights,
their gradients and the optimizer's state (two buffers for Adam/AdamW, one for SGD momentum) plus
each layer's output at the batch size twice (kept for backward, and its gradient). The figures
are float32 lower bounds: a model refused by them cannot fit.
"""

from __future__ import annotations

from dataclasses import dataclass

from dlstudio.analysis.result import AnalysisResult

BYTES_PER_PARAM = 4
TASKS = ("compile", "train", "export")
_OPTIMIZER_STATES = {"adam": 2, "adamw": 2, "sgd": 1}
EXPORT_CHECK_BATCH = 3


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes a task needs: parameter-sized buffers and layer outputs."""

    task: str
    params: int
    weight_copies: int
    """Parameter-sized buffers held at once (weights, gradients, optimizer state, copies)."""
    activation_bytes: int
    batch_size: int

    @property
    def weights_bytes(self) -> int:
        """Memory of the parameter-sized buffers."""
        return self.params * BYTES_PER_PARAM * self.weight_copies

    @property
    def total_bytes(self) -> int:
        """Everything the task needs at once."""
        return self.weights_bytes + self.activation_bytes

    def describe(self) -> str:
        """``12.0 GiB (8.0 GiB for 1,073,741,824 parameters ... + 4.0 GiB of activations ...)``."""
        what = {
            "compile": "the weights of",
            "train": "weights, gradients and optimizer state of",
            "export": "two copies of the weights of",
        }[self.task]
        parts = f"{format_bytes(self.weights_bytes)} for {what} {self.params:,} parameters"
        if self.activation_bytes:
            parts += (
                f" + {format_bytes(self.activation_bytes)} of layer outputs at batch "
                f"{self.batch_size}"
            )
        return f"{format_bytes(self.total_bytes)} ({parts})"


def estimate_memory(
    result: AnalysisResult, task: str, batch_size: int = 1, optimizer: str = "adam"
) -> MemoryEstimate:
    """The memory ``task`` (compile, train or export) needs for the analysed graph."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
    per_example = result.activation_bytes // max(1, result.batch_size)
    if task == "compile":
        copies, batch, activations = 1, 1, 0
    elif task == "export":
        copies, batch = 2, EXPORT_CHECK_BATCH
        activations = per_example * batch
    else:
        copies, batch = 2 + _OPTIMIZER_STATES.get(optimizer, 2), max(1, batch_size)
        activations = 2 * per_example * batch
    return MemoryEstimate(task, result.total_params, copies, activations, batch)


def format_bytes(count: int | float) -> str:
    """``512 B``, ``3.2 MiB``, ``8.6 GiB``, ``4.0 TiB``."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if value < 1024 or unit == "PiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")

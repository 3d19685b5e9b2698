"""What the lens shows of one node's output: its statistics, how to draw it, and a thumbnail.

Summaries are small immutable records (they cross from the worker to the window); full tensors
stay with the engine and are fetched for the node the user opens.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from itertools import accumulate
from typing import NamedTuple

import numpy as np
import torch

VIEW_KINDS = ("image", "feature_maps", "sequence", "classes", "histogram")
"""How a value is drawn: the image itself (1 or 3 channels), a grid of feature maps (C, H, W),
a T x E heat strip with the tokens on the axis, a bar chart of the top classes, or a histogram."""

CLASS_LAYERS = ("softmax", "log_softmax")
"""Layers whose (N, K) output is a distribution over classes."""


class NodeView(NamedTuple):
    """One node's output on the pinned example (the first sample of the batch).

    A named tuple rather than a frozen dataclass: a lens run makes one per node, and a frozen
    dataclass takes microseconds to build (each field set through ``object.__setattr__``)."""

    node_id: str
    name: str
    port: str
    shape: tuple[int, ...]
    """Without the batch axis."""
    dtype: str
    minimum: float
    maximum: float
    mean: float
    std: float
    kind: str
    thumbnail: np.ndarray | None = None
    """(H, W, 3) uint8, at most :data:`THUMBNAIL` pixels on its longer side."""

    def stats_text(self) -> str:
        """The range, mean and standard deviation in one line, as every view shows them."""
        return (
            f"range {self.minimum:.4g} .. {self.maximum:.4g}, mean {self.mean:.4g}, "
            f"std {self.std:.4g}"
        )

    def as_dict(self) -> dict[str, object]:
        """The JSON form ``inspect`` writes to ``index.json``."""
        return {
            "node": self.name,
            "port": self.port,
            "shape": list(self.shape),
            "dtype": self.dtype,
            "min": self.minimum,
            "max": self.maximum,
            "mean": self.mean,
            "std": self.std,
            "kind": self.kind,
        }


def view_kind(shape: tuple[int, ...], dtype: str, layer: str, feeds_output: bool) -> str:
    """How to draw a value of ``shape`` (without the batch axis) written by ``layer``."""
    floating = dtype.startswith(("float", "bfloat"))
    if len(shape) == 3 and floating:
        return "image" if shape[0] in (1, 3) else "feature_maps"
    if len(shape) == 2 and floating:
        return "sequence"
    scores = layer in CLASS_LAYERS or layer == "output" or feeds_output
    if len(shape) == 1 and floating and scores and shape[0] > 1:
        return "classes"
    return "histogram"


def statistics(value: torch.Tensor) -> tuple[float, float, float, float]:
    """(min, max, mean, std) of a tensor, NaN-free: non-finite entries are left out."""
    return many_statistics([value])[0]


SMALL = 1 << 16
"""Up to this many values a tensor joins the one numpy pass over all small tensors; larger
ones are reduced by torch on their own (its per-call cost is then negligible)."""

Statistics = tuple[float, float, float, float]
"""(min, max, mean, std)."""


def many_statistics(values: Sequence[torch.Tensor | np.ndarray]) -> list[Statistics]:
    """(min, max, mean, std) of each value, NaN-free: non-finite entries are left out.

    A lens run has one value per node, most of them small: numpy's and torch's per-call cost
    (microseconds a reduction) would outweigh the arithmetic, so the small values are flattened
    into one float64 array and reduced per segment (``reduceat``) in a few calls for all of
    them. Only a value holding something non-finite is filtered on its own."""
    results: list[Statistics | None] = [None] * len(values)
    small: list[int] = []
    arrays: list[np.ndarray] = []
    for index, value in enumerate(values):
        array = value if isinstance(value, np.ndarray) else numpy_view(value)
        if array is None:
            results[index] = _torch_statistics(value)  # type: ignore[arg-type]
        elif array.size == 0:
            results[index] = _NOTHING
        elif array.size <= SMALL:
            small.append(index)
            arrays.append(array.reshape(-1))
        else:
            results[index] = _torch_statistics(torch.from_numpy(array))
    if arrays:
        for index, stats in zip(small, _segment_statistics(arrays), strict=True):
            results[index] = stats
    return [r if r is not None else _NOTHING for r in results]


def numpy_view(value: torch.Tensor) -> np.ndarray | None:
    """The tensor's data as a numpy array without a copy, or None where numpy cannot share
    it (another device, bfloat16 or complex, a tensor that records gradients)."""
    if value.is_cpu and value.dtype in _NUMPY_READY and not value.requires_grad:
        return value.numpy()
    return None


_NOTHING: Statistics = (float("nan"),) * 4

_NUMPY_READY = frozenset(
    {torch.float16, torch.float32, torch.float64, torch.bool}
    | {torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64}
)
"""Dtypes numpy reads without a copy (bfloat16 and complex take the torch path)."""


def _segment_statistics(arrays: list[np.ndarray]) -> list[Statistics]:
    """Statistics of each non-empty array, by reductions over their concatenation.

    Sums accumulate in float64; the data stays in its own precision (a float64 copy of it
    would cost more in memory traffic than the reductions themselves). Few numpy calls in
    all: right after a forward pass each one costs microseconds however small its array."""
    sizes = [a.size for a in arrays]
    starts = np.fromiter(accumulate(sizes[:-1], initial=0), dtype=np.intp, count=len(sizes))
    kind = np.result_type(*arrays)
    if kind not in (np.float32, np.float64):
        kind = np.dtype(np.float64)  # integers and booleans: their squares must not wrap
    flat = _scratch(sum(sizes), kind)
    np.concatenate(arrays, out=flat)
    with np.errstate(over="ignore", invalid="ignore"):  # inf and NaN: handled below
        lows = np.minimum.reduceat(flat, starts).tolist()
        highs = np.maximum.reduceat(flat, starts).tolist()
        sums = np.add.reduceat(flat, starts, dtype=np.float64).tolist()
        squares = np.add.reduceat(np.square(flat, out=flat), starts, dtype=np.float64).tolist()
    out: list[Statistics] = []
    for array, size, low, high, total, square in zip(
        arrays, sizes, lows, highs, sums, squares, strict=True
    ):
        if not (math.isfinite(low) and math.isfinite(high)):
            out.append(_finite_statistics(array))
            continue
        mean = total / size
        variance = square / size - mean * mean
        # E[x^2] - E[x]^2 loses digits when the mean is large against the spread (and float32
        # squares carry a rounding of 6e-8 of E[x^2]): such a value, a constant one included,
        # is taken again in two passes, as numpy's std does.
        if not (variance > mean * mean / 16 and math.isfinite(variance)):
            deviations = array.astype(np.float64) - mean
            variance = float(np.dot(deviations, deviations)) / size
        out.append((low, high, mean, math.sqrt(variance)))
    return out


_SCRATCH = threading.local()
_SCRATCH_LIMIT = 1 << 20
"""Values kept in a thread's reusable buffer at most (8 MB in float64)."""


def _scratch(size: int, dtype: np.dtype) -> np.ndarray:
    """A buffer of ``size`` values for this thread to overwrite: a fresh array of a few
    hundred kilobytes costs more in page faults than the reductions over it (tens of
    microseconds against a few)."""
    if size > _SCRATCH_LIMIT:
        return np.empty(size, dtype)
    buffers: dict[np.dtype, np.ndarray] = _SCRATCH.__dict__.setdefault("buffers", {})
    buffer = buffers.get(dtype)
    if buffer is None or buffer.size < size:
        buffer = buffers[dtype] = np.empty(max(size, 1 << 14), dtype)
    return buffer[:size]


def _finite_statistics(array: np.ndarray) -> Statistics:
    """Statistics of the finite entries of an array that holds NaN or infinity."""
    data = array.astype(np.float64)
    data = data[np.isfinite(data)]
    if data.size == 0:
        return _NOTHING
    return float(data.min()), float(data.max()), float(data.mean()), float(data.std())


def _torch_statistics(value: torch.Tensor) -> Statistics:
    """Statistics of a large tensor (or one on another device) by torch reductions."""
    data = value.detach()
    if data.numel() == 0:
        return _NOTHING
    if data.dtype not in (torch.float32, torch.float64):
        data = data.to(torch.float64)  # integers, and half floats that would sum coarsely
    data = data.flatten()
    low, high = torch.aminmax(data)
    if not (torch.isfinite(low) and torch.isfinite(high)):
        data = data[torch.isfinite(data)]
        if data.numel() == 0:
            return _NOTHING
        low, high = torch.aminmax(data)
    std, mean = torch.std_mean(data, correction=0)
    return float(low), float(high), float(mean), float(std)

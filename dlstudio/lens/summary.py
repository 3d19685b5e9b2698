"""What the lens shows of one node's output: its statistics, how to draw it, and a thumbnail.

Summaries are small frozen dataclasses (they cross from the worker to the window); full tensors
stay with the engine and are fetched for the node the user opens.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

VIEW_KINDS = ("image", "feature_maps", "sequence", "classes", "histogram")
"""How a value is drawn: the image itself (1 or 3 channels), a grid of feature maps (C, H, W),
a T x E heat strip with the tokens on the axis, a bar chart of the top classes, or a histogram."""

CLASS_LAYERS = ("softmax", "log_softmax")
"""Layers whose (N, K) output is a distribution over classes."""


@dataclass(frozen=True)
class NodeView:
    """One node's output on the pinned example (the first sample of the batch)."""

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
    """(min, max, mean, std) of a tensor, NaN-free: non-finite entries are left out.

    Two passes over the data in the usual case (all finite); the filtered copy is made only
    when something is not."""
    data = value.detach()
    if data.numel() <= SMALL and data.device.type == "cpu":
        return _small_statistics(
            data.numpy() if data.is_floating_point() else data.double().numpy()
        )
    if not data.is_floating_point():
        data = data.to(torch.float64)
    data = data.flatten()
    if data.numel() == 0:
        return (float("nan"),) * 4
    low, high = torch.aminmax(data)
    if not (torch.isfinite(low) and torch.isfinite(high)):
        data = data[torch.isfinite(data)]
        if data.numel() == 0:
            return (float("nan"),) * 4
        low, high = torch.aminmax(data)
    std, mean = torch.std_mean(data, correction=0)
    return float(low), float(high), float(mean), float(std)


SMALL = 1 << 16
"""Up to this many values, numpy's per-call cost (microseconds) beats torch's dispatch."""


def _small_statistics(array: np.ndarray) -> tuple[float, float, float, float]:
    if array.size == 0:
        return (float("nan"),) * 4
    low, high = array.min(), array.max()
    if not (np.isfinite(low) and np.isfinite(high)):
        array = array[np.isfinite(array)]
        if array.size == 0:
            return (float("nan"),) * 4
        low, high = array.min(), array.max()
    return float(low), float(high), float(array.mean()), float(array.std())

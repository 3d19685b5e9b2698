"""``shapes``: generated colour images of four shapes at any size, so the ImageNet-sized
templates (224x224 inputs) have a data set that trains on a CPU out of the box.

Each image is a circle, square, triangle or cross of a random bright colour, position and size
on a dark noisy background; the label is the shape. The same seed gives the same images.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from dlstudio.core.tensor_spec import TensorSpec
from dlstudio.train.data.base import Dataset, DataSplit
from dlstudio.train.data.options import MAX_SEED, int_option
from dlstudio.train.errors import DatasetError

SHAPES = ("circle", "square", "triangle", "cross")
MAX_PIXELS = 300_000_000
"""Largest n_samples x channels x size x size (1.2 GB of float32)."""


def load_shapes(options: dict[str, Any]) -> Dataset:
    """Options: ``size`` (side in pixels, default 32), ``n_samples`` (default 1000),
    ``channels`` (3 colour, or 1 grey), ``seed``."""
    size = int_option(options, "size", 32, 8, 512)
    count = int_option(options, "n_samples", 1000, 4, 100_000)
    channels = int_option(options, "channels", 3, 1, 3)
    seed = int_option(options, "seed", 0, 0, MAX_SEED)
    if channels not in (1, 3):
        raise DatasetError(f"option channels must be 1 or 3, got {channels}")
    if count * channels * size * size > MAX_PIXELS:
        raise DatasetError(
            f"shapes with n_samples={count} at {size}x{size} would take "
            f"{count * channels * size * size * 4 / 1e9:.1f} GB; lower n_samples or size"
        )
    rng = np.random.default_rng(seed)
    grid_y, grid_x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    images = np.empty((count, channels, size, size), dtype=np.float32)
    labels = rng.integers(0, len(SHAPES), count)
    for index, label in enumerate(labels):
        background = rng.uniform(0.0, 0.35, (3, 1, 1)).astype(np.float32)
        colour = rng.uniform(0.55, 1.0, (3, 1, 1)).astype(np.float32)
        radius = rng.uniform(0.18, 0.32)
        cx, cy = rng.uniform(radius, 1 - radius, 2)
        mask = _mask(int(label), grid_x - cx, grid_y - cy, radius).astype(np.float32)
        out = images[index]
        if channels == 1:
            low, high = float(background.mean()), float(colour.mean())
            np.multiply(mask, high - low, out=out[0])
            out += low
        else:
            np.multiply(mask[None], colour - background, out=out)
            out += background
        noise = rng.random(out.shape, dtype=np.float32)  # uniform: 3x cheaper than normal
        noise -= np.float32(0.5)
        noise *= np.float32(0.16)
        out += noise
    # Standardise with the set's own statistics, as the other image sets do.
    tensor = torch.from_numpy(images)
    mean, std = float(tensor.mean()), float(tensor.std())
    tensor.sub_(mean).div_(std)
    return Dataset(
        name="shapes",
        description=(
            f"Generated {size}x{size} {'colour' if channels == 3 else 'grey'} images of a "
            f"circle, square, triangle or cross, {count} samples."
        ),
        data=DataSplit((tensor,), torch.from_numpy(labels.astype(np.int64))),
        input_specs=[TensorSpec((channels, size, size), "float32")],
        input_names=["image"],
        target_kind="class",
        num_classes=len(SHAPES),
        class_names=list(SHAPES),
        options={"size": size, "channels": channels},
    )


def _mask(label: int, dx: np.ndarray, dy: np.ndarray, radius: float) -> np.ndarray:
    if label == 0:
        return dx * dx + dy * dy < radius * radius
    if label == 1:
        side = radius * 0.85
        return (np.abs(dx) < side) & (np.abs(dy) < side)
    if label == 2:
        inside = (dy > -radius) & (dy < radius)
        return inside & (np.abs(dx) < (dy + radius) * 0.6)
    arm = radius / 3
    return ((np.abs(dx) < arm) & (np.abs(dy) < radius)) | (
        (np.abs(dy) < arm) & (np.abs(dx) < radius)
    )

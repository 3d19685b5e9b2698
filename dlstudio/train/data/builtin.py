"""Small built-in data sets that ship with scikit-learn: ``digits`` and ``iris``."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from dlstudio.core.tensor_spec import TensorSpec
from dlstudio.train.data.base import Dataset, DataSplit
from dlstudio.train.data.options import int_option

MAX_RESIZE = 512
"""Largest side ``resize`` accepts (1797 images of 512x512 floats are 1.9 GB)."""


def load_digits(options: dict[str, Any]) -> Dataset:
    """8x8 handwritten digits (1797 images); ``resize`` (e.g. 28) and ``flatten`` options."""
    resize = options.get("resize")
    size = int_option(options, "resize", 8, 1, MAX_RESIZE) if resize else None  # before any data
    flatten = bool(options.get("flatten", False))
    from sklearn.datasets import load_digits as sk_digits

    bunch = sk_digits()
    # Pixel values are 0..16; scale to 0..1 first so resizing interpolates real intensities.
    images = torch.from_numpy(bunch.images.astype(np.float32) / 16.0).unsqueeze(1)
    if size:
        images = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False)
    # Normalise with the set's own statistics so every layout starts at mean 0, std 1.
    images = (images - images.mean()) / images.std()
    if flatten:
        images = images.reshape(images.shape[0], -1)
    target = torch.from_numpy(bunch.target.astype(np.int64))
    shape = tuple(images.shape[1:])

    def hint(index: int, expected: tuple[Any, ...]) -> str | None:
        return _digits_hint(expected, resize, flatten)

    return Dataset(
        name="digits",
        description="Handwritten digits 0-9, 8x8 grey images (scikit-learn), 1797 samples.",
        data=DataSplit((images,), target),
        input_specs=[TensorSpec(shape, "float32")],
        input_names=["image"],
        target_kind="class",
        num_classes=10,
        class_names=[str(i) for i in range(10)],
        options={"resize": resize, "flatten": flatten},
        fix_hint=hint,
    )


def _digits_hint(expected: tuple[Any, ...], resize: Any, flatten: bool) -> str | None:
    dims = [d for d in expected[1:]]
    if len(dims) == 3 and isinstance(dims[1], int) and dims[1] == dims[2] and dims[0] == 1:
        side = dims[1]
        if flatten:
            return f"turn off flatten and set resize to {side}x{side}"
        return f"turn on resize to {side}x{side}" if side != 8 else "turn off resize"
    if len(dims) == 1 and isinstance(dims[0], int):
        side = round(dims[0] ** 0.5)
        if side * side == dims[0]:
            size_fix = "" if side == 8 else f" and resize to {side}x{side}"
            return f"turn on flatten{size_fix} (or add a Flatten layer after the Input)"
    return None


def load_iris(options: dict[str, Any]) -> Dataset:
    """Iris flowers: 4 measurements -> 3 species (150 samples), features standardised."""
    from sklearn.datasets import load_iris as sk_iris

    bunch = sk_iris()
    x = bunch.data.astype(np.float32)
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    return Dataset(
        name="iris",
        description="Iris flowers: 4 measurements -> 3 species, 150 samples.",
        data=DataSplit((torch.from_numpy(x),), torch.from_numpy(bunch.target.astype(np.int64))),
        input_specs=[TensorSpec((4,), "float32")],
        input_names=["features"],
        target_kind="class",
        num_classes=3,
        class_names=[str(n) for n in bunch.target_names],
    )

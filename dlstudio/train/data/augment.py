"""Image augmentation for training batches: random resized crop and horizontal flip.

torchvision's transforms are the reference, but torchvision is not a dependency of the program
(and the build that pairs with a given torch may not load on another build of it), so the two
transforms are written here in torch with torchvision's sampling algorithm and resampling
(bilinear with antialiasing); tests compare both, box for box and pixel for pixel, with
``torchvision.transforms.v2``. Normalisation is per channel and happens when images load,
which commutes with both transforms (crop, flip and bilinear resampling are affine in the
pixel values).

Each batch draws from its own generator seeded by the run's seed and the step, so the same seed
gives the same augmented batches, also after resuming from a checkpoint.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from dlstudio.train.data.options import float_option
from dlstudio.train.errors import DatasetError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
"""The statistics torchvision's pretrained models were trained with."""

_DEFAULT_RATIO = (3 / 4, 4 / 3)


def crop_box(
    height: int,
    width: int,
    scale: tuple[float, float],
    ratio: tuple[float, float],
    generator: torch.Generator | None = None,
) -> tuple[int, int, int, int]:
    """(top, left, height, width) of a random crop covering ``scale`` of the area with an aspect
    ratio in ``ratio``: ten tries, then a centre crop (torchvision's RandomResizedCrop)."""
    area = height * width
    log_ratio = torch.log(torch.tensor(ratio))
    for _ in range(10):
        target_area = area * torch.empty(1).uniform_(scale[0], scale[1], generator=generator).item()
        aspect = math.exp(
            torch.empty(1)
            .uniform_(float(log_ratio[0]), float(log_ratio[1]), generator=generator)
            .item()
        )
        w = round(math.sqrt(target_area * aspect))
        h = round(math.sqrt(target_area / aspect))
        if 0 < w <= width and 0 < h <= height:
            top = int(torch.randint(0, height - h + 1, size=(1,), generator=generator).item())
            left = int(torch.randint(0, width - w + 1, size=(1,), generator=generator).item())
            return top, left, h, w
    in_ratio = width / height
    if in_ratio < min(ratio):
        w, h = width, round(width / min(ratio))
    elif in_ratio > max(ratio):
        h, w = height, round(height * max(ratio))
    else:
        w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w


def resized_crop(
    image: torch.Tensor, box: tuple[int, int, int, int], size: tuple[int, int]
) -> torch.Tensor:
    """The ``box`` of a (C, H, W) image, resized to ``size`` (bilinear, antialiased)."""
    top, left, h, w = box
    patch = image[..., top : top + h, left : left + w].unsqueeze(0)
    return F.interpolate(patch, size=size, mode="bilinear", antialias=True, align_corners=False)[0]


@dataclass(frozen=True)
class ImageAugment:
    """What to do to each training image: a random resized crop (``crop_scale`` set) back to the
    image's size, and a horizontal flip with probability ``flip``."""

    crop_scale: tuple[float, float] | None = None
    crop_ratio: tuple[float, float] = _DEFAULT_RATIO
    flip: float = 0.0

    @property
    def active(self) -> bool:
        """True when it changes anything."""
        return self.crop_scale is not None or self.flip > 0

    def images(self, batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """A (N, C, H, W) batch with each image augmented on its own."""
        out = []
        size = (int(batch.shape[-2]), int(batch.shape[-1]))
        for image in batch:
            if self.crop_scale is not None:
                box = crop_box(size[0], size[1], self.crop_scale, self.crop_ratio, generator)
                image = resized_crop(image, box, size)
            if self.flip > 0 and torch.rand(1, generator=generator).item() < self.flip:
                image = image.flip(-1)
            out.append(image)
        return torch.stack(out) if out else batch

    def __call__(
        self, inputs: tuple[torch.Tensor, ...], generator: torch.Generator
    ) -> tuple[torch.Tensor, ...]:
        """The batch's inputs with the images (4-D float inputs) augmented."""
        return tuple(
            self.images(x, generator) if x.ndim == 4 and x.is_floating_point() else x
            for x in inputs
        )

    def describe(self) -> dict[str, Any]:
        """The options that make this augmentation, as stored in a data set's options."""
        out: dict[str, Any] = {}
        if self.crop_scale is not None:
            out["crop_scale"] = list(self.crop_scale)
            out["crop_ratio"] = [round(v, 6) for v in self.crop_ratio]
        if self.flip:
            out["flip"] = self.flip
        return out


def augment_from_options(options: dict[str, Any]) -> ImageAugment | None:
    """``crop_scale: [low, high]`` (area fractions, e.g. ``[0.08, 1]``), ``crop_ratio``
    (default ``[0.75, 1.333]``) and ``flip`` (a probability, or true for 0.5); None when off."""
    scale = _pair(options, "crop_scale", 0.0, 1.0)
    ratio = _pair(options, "crop_ratio", 0.0, 100.0) or _DEFAULT_RATIO
    flip_value = options.get("flip", 0.0)
    flip = 0.5 if flip_value is True else 0.0 if flip_value is False else None
    if flip is None:
        flip = float_option(options, "flip", 0.0, 0.0, 1.0)
    augment = ImageAugment(scale, ratio, flip)
    return augment if augment.active else None


def _pair(options: dict[str, Any], key: str, low: float, high: float) -> tuple[float, float] | None:
    value = options.get(key)
    if value is None:
        return None
    ok = (
        isinstance(value, list | tuple)
        and len(value) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    )
    if not ok or not low < value[0] <= value[1] <= high:
        raise DatasetError(
            f"option {key} must be two numbers [low, high] with {low:g} < low <= high <= "
            f"{high:g}, got {value!r}"
        )
    return float(value[0]), float(value[1])


def batch_generator(seed: int, rank: int, step: int) -> torch.Generator:
    """The generator of one training batch: the same seed and step give the same draws."""
    return torch.Generator().manual_seed((seed * 1_000_003 + rank * 7_919 + step) % (2**63))


def normalisation(options: dict[str, Any], channels: int) -> tuple[list[float], list[float]] | None:
    """(mean, std) per channel from ``normalize: imagenet`` or ``mean`` / ``std`` lists; None
    for none."""
    mode = options.get("normalize")
    if mode in (None, False, "none") and options.get("mean") is None:
        return None
    if mode == "imagenet":
        if channels != 3:
            raise DatasetError("normalize: imagenet needs colour images (channels: 3)")
        return list(IMAGENET_MEAN), list(IMAGENET_STD)
    if mode not in (None, True, "custom"):
        raise DatasetError(f"option normalize must be imagenet or none, got {mode!r}")
    mean, std = options.get("mean"), options.get("std")
    valid = all(
        isinstance(v, list | tuple)
        and len(v) in (1, channels)
        and all(isinstance(x, int | float) and not isinstance(x, bool) for x in v)
        for v in (mean, std)
    )
    if not valid or any(s <= 0 for s in std):  # type: ignore[union-attr]
        raise DatasetError(
            f"options mean and std must be lists of {channels} numbers (std above 0), got mean "
            f"{mean!r} and std {std!r}"
        )
    return [float(v) for v in mean], [float(v) for v in std]  # type: ignore[union-attr]


def preview(dataset: Any, count: int = 8, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(originals, augmented) of the first ``count`` training images with pixel values in 0..1
    (the normalisation undone), drawn as the first training batch of a run with ``seed`` would
    draw them; without augmentation both are the originals."""
    images = dataset.data.inputs[0][:count]
    if images.ndim != 4:
        raise DatasetError(
            f"{dataset.name} holds no images to preview (inputs {tuple(images.shape)})"
        )
    augment = getattr(dataset, "augment", None)
    changed = augment((images,), batch_generator(seed, 0, 0))[0] if augment else images

    def visible(x: torch.Tensor) -> torch.Tensor:
        mean, std = dataset.options.get("mean"), dataset.options.get("std")
        if mean is not None and std is not None:
            x = x * torch.tensor(std).reshape(-1, 1, 1) + torch.tensor(mean).reshape(-1, 1, 1)
        return x.clamp(0.0, 1.0)

    return visible(images), visible(changed)

"""Image folders with splits, normalisation and augmentation; the crops and flips are compared
with torchvision.transforms (loaded through the test shim), box for box and pixel for pixel."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dlstudio.train import DatasetError, TrainConfig, Trainer, load_dataset
from dlstudio.train.data.augment import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    ImageAugment,
    crop_box,
    preview,
    resized_crop,
)


def _torchvision_transforms():
    name = "torchvision._meta_registrations"
    if "torchvision" not in sys.modules:
        sys.modules.setdefault(name, types.ModuleType(name))
    try:
        import torchvision.transforms as v1
        from torchvision.transforms import v2
    except Exception as exc:
        pytest.skip(f"torchvision is not usable here ({type(exc).__name__}: {exc})")
    return v1, v2


def make_two_class_folder(folder: Path, per_class: int, size: int = 24, seed: int = 0) -> Path:
    """Class ``bright``: a light square on dark; class ``dark``: a dark square on light."""
    rng = np.random.default_rng(seed)
    for label in ("bright", "dark"):
        (folder / label).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            base = rng.integers(0, 60, size=(size, size, 3))
            if label == "dark":
                base = 255 - base
            top, left = rng.integers(0, size // 2, size=2)
            value = 230 if label == "bright" else 20
            base[top : top + size // 2, left : left + size // 2] = value
            Image.fromarray(base.astype(np.uint8)).save(folder / label / f"{i}.png")
    return folder


@pytest.mark.parametrize(
    ("scale", "ratio"),
    [((0.08, 1.0), (3 / 4, 4 / 3)), ((0.5, 1.0), (1.0, 1.0)), ((0.9, 1), (8, 9))],
)
def test_crop_boxes_are_torchvisions(scale, ratio) -> None:
    v1, _v2 = _torchvision_transforms()
    image = torch.zeros(3, 40, 60)
    for seed in range(20):
        torch.manual_seed(seed)
        expected = v1.RandomResizedCrop.get_params(image, list(scale), list(ratio))
        ours = crop_box(40, 60, scale, ratio, torch.Generator().manual_seed(seed))
        assert ours == tuple(expected), (seed, ours, expected)


def test_resized_crop_and_flip_are_torchvisions() -> None:
    _v1, v2 = _torchvision_transforms()
    image = torch.rand(3, 32, 32, generator=torch.Generator().manual_seed(0))
    for box in [(0, 0, 32, 32), (3, 5, 11, 20), (10, 2, 22, 7)]:
        ours = resized_crop(image, box, (32, 32))
        theirs = v2.functional.resized_crop(image, *box, size=[32, 32], antialias=True)
        assert torch.allclose(ours, theirs, atol=1e-5)
    flipped = ImageAugment(flip=1.0).images(image[None], torch.Generator())[0]
    assert torch.equal(flipped, v2.functional.horizontal_flip(image))


def test_split_folders_normalisation_and_augmentation(tmp_path: Path) -> None:
    make_two_class_folder(tmp_path / "pets" / "train", 6, seed=1)
    make_two_class_folder(tmp_path / "pets" / "val", 2, seed=2)
    options = {"size": 16, "normalize": "imagenet", "crop_scale": [0.5, 1.0], "flip": 0.5}
    data = load_dataset(tmp_path / "pets", options)
    assert data.class_names == ["bright", "dark"]
    assert len(data) == 12 and len(data.validation) == 4
    train, val = data.split(0.2, seed=0)
    assert train is data.data
    assert val is data.validation
    # Normalised with ImageNet's statistics, as torchvision's normalize does.
    _v1, v2 = _torchvision_transforms()
    with Image.open(tmp_path / "pets" / "val" / "dark" / "1.png") as img:
        raw = img.convert("RGB").resize((16, 16), Image.Resampling.BILINEAR)
    pixels = torch.from_numpy(np.asarray(raw, dtype=np.float32) / 255).permute(2, 0, 1)
    expected = v2.functional.normalize(pixels, list(IMAGENET_MEAN), list(IMAGENET_STD))
    assert torch.allclose(data.validation.inputs[0][3], expected, atol=1e-5)
    assert data.options["crop_scale"] == [0.5, 1.0] and data.options["flip"] == 0.5
    # The preview shows what training sees: originals back in 0..1 and changed copies.
    originals, augmented = preview(data, count=4, seed=0)
    assert torch.allclose(
        originals[0], data.data.inputs[0][0].new_tensor(0) + _unnormalised(data, 0)
    )
    assert augmented.shape == originals.shape and not torch.equal(augmented, originals)
    assert float(augmented.min()) >= 0 and float(augmented.max()) <= 1


def _unnormalised(data, index: int) -> torch.Tensor:
    mean = torch.tensor(IMAGENET_MEAN).reshape(-1, 1, 1)
    std = torch.tensor(IMAGENET_STD).reshape(-1, 1, 1)
    return (data.data.inputs[0][index] * std + mean).clamp(0, 1)


def test_bad_augmentation_options_are_explained(tmp_path: Path) -> None:
    make_two_class_folder(tmp_path / "f", 1)
    with pytest.raises(DatasetError, match=r"option crop_scale must be two numbers"):
        load_dataset(tmp_path / "f", {"crop_scale": [0.5]})
    with pytest.raises(DatasetError, match=r"option flip must be a number from 0 to 1"):
        load_dataset(tmp_path / "f", {"flip": 2})
    with pytest.raises(DatasetError, match=r"normalize must be imagenet or none"):
        load_dataset(tmp_path / "f", {"normalize": "cifar"})


class _Recorder:
    """Wraps an augmentation and keeps every batch it saw."""

    def __init__(self, augment: ImageAugment) -> None:
        self.augment = augment
        self.batches: list[torch.Tensor] = []

    def __call__(self, inputs, generator):
        out = self.augment(inputs, generator)
        self.batches.append(out[0].clone())
        return out


def test_training_batches_are_augmented_the_same_for_the_same_seed(tmp_path: Path) -> None:
    """Only training batches pass through the augmentation, and one seed gives one sequence."""
    make_two_class_folder(tmp_path / "f", 8)
    runs = []
    for _ in range(2):
        data = load_dataset(tmp_path / "f", {"size": 12, "crop_scale": [0.3, 1.0], "flip": True})
        recorder = _Recorder(data.augment)
        data.augment = recorder
        model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 12 * 12, 2))
        config = TrainConfig(epochs=2, batch_size=4, val_fraction=0.25, device="cpu", seed=3)
        result = Trainer(model, config).run(data)
        assert result.status == "completed"
        runs.append(recorder.batches)
    assert len(runs[0]) == 2 * 3  # 12 training images in batches of 4, two epochs
    assert all(torch.equal(a, b) for a, b in zip(runs[0], runs[1], strict=True))
    assert not torch.equal(runs[0][0], runs[0][3])  # other steps draw other crops


def test_worker_processes_decode_the_same_pixels(tmp_path: Path) -> None:
    make_two_class_folder(tmp_path / "f", 3)
    one = load_dataset(tmp_path / "f", {"size": 10})
    two = load_dataset(tmp_path / "f", {"size": 10, "workers": 2})
    assert torch.equal(one.data.inputs[0], two.data.inputs[0])
    assert torch.equal(one.data.target, two.data.target)

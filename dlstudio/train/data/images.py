"""Image data from user files: MNIST-style IDX files (raw or ``.gz``) and class folders."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dlstudio.core.tensor_spec import TensorSpec
from dlstudio.train.data.base import Dataset, DataSplit
from dlstudio.train.data.options import int_option
from dlstudio.train.errors import DatasetError
from dlstudio.train.image_decode import decode_all

MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
"""The canonical MNIST / Fashion-MNIST file names (each may also end in ``.gz``)."""

FASHION_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
_IDX_DTYPES: dict[int, str] = {
    0x08: "u1",
    0x09: "i1",
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}
_MNIST_MEAN, _MNIST_STD = 0.1307, 0.3081


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (the MNIST format) as an array; ``.gz`` files are decompressed on the fly."""
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found") from None
    except (OSError, EOFError) as exc:
        raise DatasetError(
            f"{path}: cannot be read or unpacked ({exc}); download it again"
        ) from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DatasetError(
            f"{path}: not an IDX file (bad magic number at byte 0); expected MNIST-format data"
        )
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetError(f"{path}: the header is cut short; download the file again")
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = int(np.prod(dims)) * dtype.itemsize
    if len(raw) - header != expected:
        raise DatasetError(
            f"{path}: header says {dims} values ({expected} bytes) but the file holds "
            f"{len(raw) - header} bytes; the file is damaged or cut short, download it again"
        )
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)


def _find(folder: Path, stem: str) -> Path | None:
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.exists():
            return candidate
    return None


def _images_to_tensor(images: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    return (x - _MNIST_MEAN) / _MNIST_STD


def load_idx_folder(folder: Path, options: dict[str, Any], name: str | None = None) -> Dataset:
    """MNIST or Fashion-MNIST from a folder with the canonical file names (test files optional)."""
    train_images = _find(folder, MNIST_FILES["train_images"])
    train_labels = _find(folder, MNIST_FILES["train_labels"])
    if train_images is None or train_labels is None:
        raise DatasetError(
            f"{folder}: needs {MNIST_FILES['train_images']}(.gz) and "
            f"{MNIST_FILES['train_labels']}(.gz); put the MNIST files there or download them"
        )
    x, y = read_idx(train_images), read_idx(train_labels)
    if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
        raise DatasetError(
            f"{folder}: images {x.shape} and labels {y.shape} do not pair up "
            "(expected (count, rows, cols) and (count,))"
        )
    test = None
    test_images = _find(folder, MNIST_FILES["test_images"])
    test_labels = _find(folder, MNIST_FILES["test_labels"])
    if test_images is not None and test_labels is not None:
        tx, ty = read_idx(test_images), read_idx(test_labels)
        test = DataSplit((_images_to_tensor(tx),), torch.from_numpy(ty.astype(np.int64)))
    fashion = bool(options.get("fashion", "fashion" in folder.as_posix().lower()))
    label = name or ("fashion_mnist" if fashion else "mnist")
    return Dataset(
        name=label,
        description=f"{'Fashion-MNIST' if fashion else 'MNIST'}: 28x28 grey images, 10 classes.",
        data=DataSplit((_images_to_tensor(x),), torch.from_numpy(y.astype(np.int64))),
        input_specs=[TensorSpec((1, x.shape[1], x.shape[2]), "float32")],
        input_names=["image"],
        target_kind="class",
        num_classes=10,
        class_names=FASHION_CLASSES if fashion else [str(i) for i in range(10)],
        test=test,
        options={"fashion": fashion},
    )


_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


_SPLIT_FOLDERS = {
    "train": ("train", "training"),
    "validation": ("val", "valid", "validation"),
    "test": ("test", "testing"),
}
"""Sub-folder names of a folder already split (``train/<class>/``, ``val/<class>/``, ...)."""


def _class_folders(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _split_folders(folder: Path) -> dict[str, Path] | None:
    """The split folders when ``folder`` holds ``train/`` (and maybe ``val/``, ``test/``)."""
    found: dict[str, Path] = {}
    for role, names in _SPLIT_FOLDERS.items():
        for name in names:
            if (folder / name).is_dir():
                found[role] = folder / name
                break
    return found if "train" in found and _class_folders(found["train"]) else None


def _image_files(folder: Path, classes: list[str], where: Path) -> list[tuple[Path, int]]:
    files: list[tuple[Path, int]] = []
    for label, cls in enumerate(classes):
        class_dir = folder / cls
        if not class_dir.is_dir():
            continue  # a held-out split may lack a class
        found = sorted(p for p in class_dir.iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES)
        if not found and folder == where:
            raise DatasetError(f"{class_dir}: no images (.png, .jpg, ...) in this class folder")
        files.extend((p, label) for p in found)
    return files


def _to_tensor(images: list[np.ndarray], channels: int) -> torch.Tensor:
    x = torch.from_numpy(np.stack(images)).float().div_(255.0).permute(0, 3, 1, 2)
    if channels == 1:  # ITU-R 601 luma, as PIL's convert("L")
        x = (x * torch.tensor([0.299, 0.587, 0.114]).reshape(1, 3, 1, 1)).sum(1, keepdim=True)
    return x.contiguous()


def load_image_folder(folder: Path, options: dict[str, Any]) -> Dataset:
    """One sub-folder per class; images are resized to ``size`` (default 32) and scaled to 0..1.

    A folder holding ``train/`` (and ``val/`` or ``validation/``, ``test/``), each with the class
    sub-folders, gives those splits. ``channels`` is 1 (grey) or 3 (colour); by default 1 when
    every image is grey. ``normalize: imagenet`` (or ``mean`` / ``std`` lists) normalises per
    channel; ``crop_scale``, ``crop_ratio`` and ``flip`` augment training batches (see
    :mod:`dlstudio.train.data.augment`).
    """
    from dlstudio.train.data.augment import augment_from_options, normalisation

    splits = _split_folders(folder) or {"train": folder}
    classes = _class_folders(splits["train"])
    if not classes:
        raise DatasetError(
            f"{folder}: no class folders; put each class's images in its own sub-folder "
            "(or in train/<class>/ and val/<class>/)"
        )
    size = int_option(options, "size", 32, 1, 1024)
    augment = augment_from_options(options)
    for role, split_dir in splits.items():
        extra = sorted(set(_class_folders(split_dir)) - set(classes))
        if role != "train" and extra:
            raise DatasetError(
                f"{split_dir}: class folders {', '.join(extra)} are not in {splits['train']}; "
                "every class needs training images"
            )
    decoded: dict[str, tuple[list[np.ndarray], torch.Tensor]] = {}
    grey = True
    listed = {role: _image_files(d, classes, splits["train"]) for role, d in splits.items()}
    total = sum(len(files) for files in listed.values())
    # One process unless asked: benchmarks/bench_data_loading.py found spawned decoders slower
    # on a small machine (see dlstudio.train.image_decode).
    workers = int_option(options, "workers", 0, 0, 64) if total > 1 else 0
    for role, files in listed.items():
        pictures = []
        results = decode_all([p for p, _label in files], size, workers)
        for (path, _label), (pixels, is_grey, error) in zip(files, results, strict=True):
            if pixels is None:
                raise DatasetError(f"{path}: not a readable image ({error}); remove or replace it")
            grey = grey and is_grey
            pictures.append(pixels)
        labels = torch.tensor([label for _p, label in files], dtype=torch.int64)
        decoded[role] = (pictures, labels)
    channels = int_option(options, "channels", 1 if grey else 3, 1, 3)
    if channels not in (1, 3):
        raise DatasetError(f"option channels must be 1 or 3, got {channels}")
    stats = normalisation(options, channels)

    def split_of(role: str) -> DataSplit | None:
        if role not in decoded or not decoded[role][0]:
            return None
        x = _to_tensor(decoded[role][0], channels)
        if stats is not None:
            mean = torch.tensor(stats[0]).reshape(-1, 1, 1)
            std = torch.tensor(stats[1]).reshape(-1, 1, 1)
            x = (x - mean) / std
        return DataSplit((x,), decoded[role][1])

    train = split_of("train")
    stored: dict[str, Any] = {"size": size, "channels": channels}
    if stats is not None:
        stored.update(mean=stats[0], std=stats[1])
    if augment is not None:
        stored.update(augment.describe())
    count = sum(len(d[0]) for d in decoded.values())
    return Dataset(
        name=folder.name,
        description=f"{folder.name}: {count} images in {len(classes)} class folders",
        data=train,  # type: ignore[arg-type]
        validation=split_of("validation"),
        test=split_of("test"),
        input_specs=[TensorSpec((channels, size, size), "float32")],
        input_names=["image"],
        target_kind="class",
        num_classes=len(classes),
        class_names=classes,
        options=stored,
        augment=augment,
    )

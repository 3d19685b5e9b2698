"""CIFAR-10 and CIFAR-100: download of the python-format tarballs and a reader that never runs
code from them.

The tarballs hold Python pickles. A pickle can name any function to call, so they are read with
an unpickler that allows only what the CIFAR files use (numpy's array rebuild), and read straight
from the archive, never extracted.
"""

from __future__ import annotations

import io
import pickle
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from dlstudio.core.tensor_spec import TensorSpec
from dlstudio.train.data.base import Dataset, DataSplit
from dlstudio.train.data.download import user_data_dir
from dlstudio.train.data.fetch import (
    CancelToken,
    Checksum,
    ProgressCallback,
    check_file,
    fetch_file,
    mirror_url,
)
from dlstudio.train.errors import DatasetError


@dataclass(frozen=True)
class CifarSource:
    """Where one CIFAR set comes from, its published MD5, and the members of its tarball."""

    name: str
    url: str
    archive: str
    md5: str
    folder: str
    train_members: tuple[str, ...]
    test_member: str
    meta_member: str


CIFAR_BASE_URL = "https://www.cs.toronto.edu/~kriz/"
# MD5 digests published on the CIFAR page (https://www.cs.toronto.edu/~kriz/cifar.html) and used
# by torchvision to check the same archives.
CIFAR_SOURCES = {
    "cifar10": CifarSource(
        "cifar10",
        CIFAR_BASE_URL,
        "cifar-10-python.tar.gz",
        "c58f30108f718f92721af3b95e74349a",
        "cifar-10-batches-py",
        tuple(f"data_batch_{i}" for i in range(1, 6)),
        "test_batch",
        "batches.meta",
    ),
    "cifar100": CifarSource(
        "cifar100",
        CIFAR_BASE_URL,
        "cifar-100-python.tar.gz",
        "eb9058c3a382ffc7106e4002c42a8d85",
        "cifar-100-python",
        ("train",),
        "test",
        "meta",
    ),
}


def cifar_archive(name: str, dest: Path | None = None) -> Path:
    """Where the tarball of ``name`` (``cifar10`` or ``cifar100``) is kept."""
    source = _source(name)
    return (Path(dest) if dest is not None else user_data_dir() / name) / source.archive


def download_cifar(
    name: str = "cifar10",
    dest: Path | None = None,
    base_url: str | None = None,
    checksum: Checksum | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    timeout_s: float = 30.0,
) -> Path:
    """Fetch the CIFAR-10 or CIFAR-100 tarball once (resuming a broken download) and return it.

    The archive is checked against the published MD5 unless ``base_url`` names another server,
    whose files are then checked against ``checksum`` (or the sha256 recorded at the first
    download). ``progress(file, done, total)`` reports bytes; setting ``cancel`` (a
    :class:`threading.Event`) stops with :class:`DownloadCancelled`, keeping the part fetched.
    """
    source = _source(name)
    target = cifar_archive(name, dest)
    if checksum is None and base_url is None:
        checksum = Checksum("md5", source.md5)
    if not target.exists():
        url = base_url or mirror_url(source.name) or source.url
        url = url if url.endswith("/") else url + "/"
        fetch_file(url + source.archive, target, checksum, progress, cancel, timeout_s)
    check_file(target, checksum)
    return target


def _source(name: str) -> CifarSource:
    if name not in CIFAR_SOURCES:
        raise DatasetError(f"no CIFAR set called {name!r}; choose cifar10 or cifar100")
    return CIFAR_SOURCES[name]


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Rebuilds dicts, lists, numbers, bytes and numpy arrays; refuses every other global."""

    _ALLOWED: ClassVar[set[tuple[str, str]]] = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),  # how Python 3 writes bytes at pickle protocol 2
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a CIFAR file")
        if module == "_codecs":
            import codecs

            return codecs.encode
        if name == "_reconstruct":
            from numpy._core.multiarray import _reconstruct  # numpy.core is a deprecated alias

            return _reconstruct
        return getattr(np, name)


def _read_member(archive: tarfile.TarFile, path: Path, member: str) -> dict[bytes, Any]:
    try:
        handle = archive.extractfile(member)
    except KeyError:
        handle = None
    if handle is None:
        raise DatasetError(
            f"{path}: {member} is missing from the archive; it is not a CIFAR python-format "
            "tarball, or it is damaged; download it again"
        )
    try:
        data = _ArrayOnlyUnpickler(io.BytesIO(handle.read()), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as exc:
        raise DatasetError(f"{path}: {member} cannot be read ({exc}); download it again") from None
    if not isinstance(data, dict):
        raise DatasetError(f"{path}: {member} does not hold a CIFAR batch (a dictionary)")
    return data


def _batch(
    path: Path, member: str, data: dict[bytes, Any], label_key: bytes
) -> tuple[np.ndarray, np.ndarray]:
    images, labels = data.get(b"data"), data.get(label_key)
    if not isinstance(images, np.ndarray) or labels is None:
        raise DatasetError(
            f"{path}: {member} lacks its images (data) or labels ({label_key.decode()})"
        )
    labels = np.asarray(labels, dtype=np.int64)
    if images.dtype != np.uint8 or images.ndim != 2 or images.shape[1] != 3072:
        raise DatasetError(
            f"{path}: {member} images are {images.dtype} {images.shape}; CIFAR stores uint8 rows "
            "of 3072 values (3 x 32 x 32)"
        )
    if len(labels) != len(images):
        raise DatasetError(f"{path}: {member} has {len(images)} images but {len(labels)} labels")
    return images.reshape(-1, 3, 32, 32), labels


def load_cifar_archive(path: Path, options: dict[str, Any], name: str | None = None) -> Dataset:
    """A CIFAR-10 or CIFAR-100 python tarball as a data set (test split included).

    CIFAR-100's ``labels`` option is ``fine`` (100 classes, default) or ``coarse`` (20).
    Images are scaled to 0..1 and normalised per channel with the training images' statistics.
    """
    source = next((s for s in CIFAR_SOURCES.values() if path.name == s.archive), None)
    if source is None:
        raise DatasetError(
            f"{path}: not a CIFAR tarball name; expected "
            + " or ".join(s.archive for s in CIFAR_SOURCES.values())
        )
    fine = source.name == "cifar10" or options.get("labels", "fine") == "fine"
    if options.get("labels", "fine") not in ("fine", "coarse"):
        raise DatasetError(f"option labels must be fine or coarse, got {options.get('labels')!r}")
    label_key = (
        b"labels" if source.name == "cifar10" else b"fine_labels" if fine else b"coarse_labels"
    )
    names_key = (
        b"label_names"
        if source.name == "cifar10"
        else b"fine_label_names"
        if fine
        else b"coarse_label_names"
    )
    try:
        archive = tarfile.open(path, "r:*")  # noqa: SIM115 - closed by the with below
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise DatasetError(f"{path}: not a readable tarball ({exc}); download it again") from None
    with archive:
        member = f"{source.folder}/{{}}".format
        parts = [
            _batch(path, m, _read_member(archive, path, member(m)), label_key)
            for m in source.train_members
        ]
        test_images, test_labels = _batch(
            path,
            source.test_member,
            _read_member(archive, path, member(source.test_member)),
            label_key,
        )
        meta = _read_member(archive, path, member(source.meta_member))
    class_names = [n.decode() if isinstance(n, bytes) else str(n) for n in meta.get(names_key, [])]
    train_images = np.concatenate([p[0] for p in parts])
    train_labels = np.concatenate([p[1] for p in parts])
    pixels = torch.from_numpy(train_images).float().div_(255.0)
    mean = pixels.mean(dim=(0, 2, 3))
    std = pixels.std(dim=(0, 2, 3)).clamp_min(1e-6)

    def normalised(images: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(images).float().div_(255.0)
        return x.sub_(mean[:, None, None]).div_(std[:, None, None])

    classes = len(class_names) or int(train_labels.max()) + 1
    label = name or source.name
    return Dataset(
        name=label,
        description=f"{label}: 32x32 colour images, {classes} classes, {len(train_labels)} for "
        f"training and {len(test_labels)} for testing.",
        data=DataSplit(
            (pixels.sub_(mean[:, None, None]).div_(std[:, None, None]),),
            torch.from_numpy(train_labels),
        ),
        input_specs=[TensorSpec((3, 32, 32), "float32")],
        input_names=["image"],
        target_kind="class",
        num_classes=classes,
        class_names=class_names or [str(i) for i in range(classes)],
        test=DataSplit((normalised(test_images),), torch.from_numpy(test_labels)),
        options={
            "labels": "fine" if fine else "coarse",
            "mean": [round(float(v), 6) for v in mean],
            "std": [round(float(v), 6) for v in std],
        },
    )

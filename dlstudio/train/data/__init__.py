"""Data sets: built-in, generated and from user files, all behind :func:`load_dataset`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlstudio.train.data import (
    builtin,
    cifar,
    generated,
    images,
    language,
    lessons,
    shapes,
    tables,
    tabular,
)
from dlstudio.train.data.base import TARGET_KINDS, Dataset, DataSplit
from dlstudio.train.data.cifar import download_cifar
from dlstudio.train.data.download import download_mnist, user_data_dir
from dlstudio.train.data.fetch import DownloadCancelled
from dlstudio.train.errors import DatasetError


@dataclass(frozen=True)
class DatasetInfo:
    """A built-in data set's name, one-line description and the options it understands."""

    name: str
    description: str
    options: str


def _mnist(fashion: bool) -> Callable[[dict[str, Any]], Dataset]:
    def load(options: dict[str, Any]) -> Dataset:
        folder = user_data_dir() / ("fashion_mnist" if fashion else "mnist")
        has_files = images._find(folder, images.MNIST_FILES["train_images"]) is not None
        if not has_files:
            if not options.get("download", False):
                name = "fashion_mnist" if fashion else "mnist"
                raise DatasetError(
                    f"{name} is not in {folder} yet; download it (the Training panel's Download "
                    f"button, `python -m dlstudio datasets --download {name}`, or the option "
                    "download=true), or choose the folder holding its IDX files"
                )
            download_mnist(fashion=fashion, progress=options.get("progress"))
        return images.load_idx_folder(folder, {"fashion": fashion})

    return load


def _cifar(name: str) -> Callable[[dict[str, Any]], Dataset]:
    def load(options: dict[str, Any]) -> Dataset:
        archive = cifar.cifar_archive(name)
        if not archive.exists():
            if not options.get("download", False):
                raise DatasetError(
                    f"{name} is not in {archive.parent} yet; download it (the Training panel's "
                    f"Download button, `python -m dlstudio datasets --download {name}`, or the "
                    "option download=true), or put "
                    f"{archive.name} there"
                )
            download_cifar(name, progress=options.get("progress"), cancel=options.get("cancel"))
        return cifar.load_cifar_archive(archive, options)

    return load


_BUILTINS: dict[str, tuple[Callable[[dict[str, Any]], Dataset], str, str]] = {
    "digits": (builtin.load_digits, "8x8 handwritten digits, 10 classes", "resize, flatten"),
    "iris": (builtin.load_iris, "iris flowers, 4 features, 3 classes", ""),
    "shapes": (
        shapes.load_shapes,
        "generated colour images of 4 shapes at any size (e.g. 224x224)",
        "size, n_samples, channels, seed",
    ),
    "binary_to_decimal": (
        generated.binary_to_decimal,
        "binary digit strings -> decimal digit strings",
        "bits, n_samples, out_len, teacher_forcing, seed",
    ),
    "copy": (
        lambda o: generated.copy_or_reverse(o, "copy"),
        "copy a symbol string (seq2seq, teacher forcing)",
        "seq_len, symbols, n_samples, teacher_forcing, seed",
    ),
    "reverse": (
        lambda o: generated.copy_or_reverse(o, "reverse"),
        "reverse a symbol string (seq2seq, teacher forcing)",
        "seq_len, symbols, n_samples, teacher_forcing, seed",
    ),
    "sine": (
        generated.noisy_sine,
        "noisy sine wave, forecast the next value(s)",
        "window, horizon, n_points, period, noise, seed",
    ),
    "sentiment": (
        generated.toy_sentiment,
        "generated review sentences -> negative/positive",
        "n_samples, seq_len, seed",
    ),
    "skipgram": (
        generated.skipgram,
        "center word -> context word pairs (built-in text, or generated sentences)",
        "window, sentences, seed",
    ),
    "tagging": (
        lessons.tagging,
        "generated sentences -> the part of speech of every word (many-to-many)",
        "n_samples, seq_len, seed",
    ),
    "first_token": (
        lessons.first_token,
        "long padded sequences whose label is their first token (long-range memory)",
        "n_samples, seq_len, classes, fillers, seed",
    ),
    "next_token": (
        language.next_token,
        "generated sentences, predict the next word at every position (language model)",
        "seq_len, n_sentences, seed",
    ),
    "mnist": (_mnist(False), "MNIST 28x28 digits (download once)", "download"),
    "fashion_mnist": (_mnist(True), "Fashion-MNIST 28x28 clothes (download once)", "download"),
    "cifar10": (
        _cifar("cifar10"),
        "CIFAR-10 32x32 colour images, 10 classes (download once)",
        "download",
    ),
    "cifar100": (
        _cifar("cifar100"),
        "CIFAR-100 32x32 colour images, 100 classes (download once)",
        "download, labels (fine or coarse)",
    ),
}


def list_datasets() -> list[DatasetInfo]:
    """The built-in data sets, in a stable order."""
    return [DatasetInfo(name, desc, opts) for name, (_f, desc, opts) in _BUILTINS.items()]


def load_dataset(name_or_path: str | Path, options: dict[str, Any] | None = None) -> Dataset:
    """A built-in data set by name, or a user file / folder by path.

    Files: ``.csv`` (a table; one with ``text`` and ``label`` columns, or ``kind: text``, is text
    classification; with a ``tokenizer`` option it is read like the next ones), ``.tsv``,
    ``.json``, ``.jsonl``, ``.parquet``, ``.arrow`` and ``save_to_disk`` folders (Hugging Face
    ``datasets``; ``hf:NAME`` for the hub), ``.npy`` / ``.npz``, MNIST-style IDX files (a folder,
    or one of the files), CIFAR python tarballs, and folders of images with one sub-folder per
    class.
    """
    if options is not None and not isinstance(options, dict):
        raise DatasetError(
            f"data-set options must be a mapping of option names to values, got {options!r}"
        )
    opts = dict(options or {})
    key = str(name_or_path)
    if key in _BUILTINS:
        return _BUILTINS[key][0](opts)
    if key.startswith(tables.HUB_PREFIX):
        return tables.load_table(key, opts)
    path = Path(key).expanduser()
    if not path.exists():
        if path.suffix == "" and "/" not in key and "\\" not in key:
            names = ", ".join(_BUILTINS)
            raise DatasetError(
                f"no data set called {key!r}; built-in ones are {names}, or give a file path"
            )
        raise DatasetError(f"{path}: no such file or folder; check the path")
    if path.is_dir():
        if tables.is_table_source(path):
            return tables.load_table(path, opts)
        if images._find(path, images.MNIST_FILES["train_images"]) is not None:
            return images.load_idx_folder(path, opts)
        return images.load_image_folder(path, opts)
    name = path.name.lower()
    if any(path.name == source.archive for source in cifar.CIFAR_SOURCES.values()):
        return cifar.load_cifar_archive(path, opts)
    if "idx" in name and ("ubyte" in name or name.endswith(".gz")):
        return images.load_idx_folder(path.parent, opts)
    if name.endswith(".csv") and not opts.get("tokenizer") and not opts.get("split_files"):
        kind = opts.get("kind")
        if kind is None:
            header = path.read_text(encoding="utf-8-sig", errors="replace").splitlines()[:1]
            columns = {c.strip().lower() for c in header[0].split(",")} if header else set()
            kind = "text" if {"text", "label"} <= columns else "table"
        return tabular.load_text_csv(path, opts) if kind == "text" else tabular.load_csv(path, opts)
    if name.endswith((".npy", ".npz")):
        return tabular.load_numpy(path, opts)
    if tables.is_table_source(path):
        return tables.load_table(path, opts)
    raise DatasetError(
        f"{path}: unknown data file type; use .csv, .tsv, .json, .jsonl, .parquet, .arrow, "
        ".npy, .npz, MNIST IDX files, a CIFAR tarball, or a folder of class sub-folders with "
        "images"
    )


__all__ = [
    "TARGET_KINDS",
    "DataSplit",
    "Dataset",
    "DatasetInfo",
    "DownloadCancelled",
    "download_cifar",
    "download_mnist",
    "list_datasets",
    "load_dataset",
    "user_data_dir",
]

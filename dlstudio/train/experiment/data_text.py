"""The data section of a training script: DL Studio's loaders, imported or written in.

Importing from an installed ``dlstudio`` is the default: the script stays short, it reads the
data exactly as DL Studio does today, and a loader fixed in DL Studio is fixed for the script.
``embed=True`` writes the loader modules into the script instead, for a machine without DL
Studio; the script then needs only torch, NumPy and the data's own readers (scikit-learn for
``digits`` and ``iris``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dlstudio.train.data import images
from dlstudio.train.errors import TrainError
from dlstudio.train.experiment.bundle import COMMON_MODULES, bundle_modules

_DATA = "dlstudio.train.data."
# Built-in name -> (modules holding its loader, dependencies first; the call that loads it).
EMBEDDED_LOADERS: dict[str, tuple[tuple[str, ...], str]] = {
    "digits": (("builtin",), "load_digits(options)"),
    "iris": (("builtin",), "load_iris(options)"),
    "binary_to_decimal": (("generated",), "binary_to_decimal(options)"),
    "copy": (("generated",), 'copy_or_reverse(options, "copy")'),
    "reverse": (("generated",), 'copy_or_reverse(options, "reverse")'),
    "sine": (("generated",), "noisy_sine(options)"),
    "sentiment": (("generated",), "toy_sentiment(options)"),
    "skipgram": (("generated",), "skipgram(options)"),
    "next_token": (("language",), "next_token(options)"),
    "tagging": (("language", "lessons"), "tagging(options)"),
    "first_token": (("language", "lessons"), "first_token(options)"),
}


@dataclass(frozen=True)
class DataSection:
    """The imports and code that give the script ``load_data(settings)``."""

    imports: list[str]
    code: str
    embedded: bool


def data_section(dataset: str, embed: bool, options: dict | None = None) -> DataSection:
    """``load_data``: DL Studio's loader for ``dataset`` (a built-in name or a file path)."""
    if not embed:
        imports = ["from dlstudio.train.data import DataSplit, load_dataset"]
        return DataSection(imports, _LOAD_DATA.format(call="load_dataset(name, options)"), False)
    modules, call = _embedded_loader(dataset, options or {})
    bundle = bundle_modules([*COMMON_MODULES, *(_DATA + m for m in modules)])
    code = bundle.code + "\n\n\n" + _LOAD_DATA.format(call=call)
    return DataSection(bundle.imports, code, True)


def _embedded_loader(dataset: str, options: dict) -> tuple[tuple[str, ...], str]:
    """The modules and the call for ``dataset``; a file's kind is decided here, as
    :func:`dlstudio.train.data.load_dataset` decides it, so the script calls its loader."""
    if dataset in EMBEDDED_LOADERS:
        return EMBEDDED_LOADERS[dataset]
    path = Path(dataset)
    name = path.name.lower()
    if path.is_dir():
        if images._find(path, images.MNIST_FILES["train_images"]) is not None:
            return ("images",), "load_idx_folder(Path(name), options)"
        return ("images",), "load_image_folder(Path(name), options)"
    if name.endswith(".csv") and path.is_file():
        header = path.read_text(encoding="utf-8-sig", errors="replace").splitlines()[:1]
        columns = {c.strip().lower() for c in header[0].split(",")} if header else set()
        text = options.get("kind", "text" if {"text", "label"} <= columns else "table") == "text"
        return ("tabular",), f"{'load_text_csv' if text else 'load_csv'}(Path(name), options)"
    if name.endswith((".npy", ".npz")):
        return ("tabular",), "load_numpy(Path(name), options)"
    raise TrainError(
        f"the loader of data set {dataset!r} cannot be written into the script; export "
        "without --embed-data (the script then imports it from dlstudio)"
    )


_LOAD_DATA = '''\
def load_data(settings: TrainSettings) -> tuple[DataSplit, DataSplit | None]:
    """The data set, split into training and validation samples exactly as DL Studio splits it."""
    name, options = settings.dataset, dict(settings.dataset_options)
    dataset = {call}
    print(dataset.summary())
    return dataset.split(settings.val_fraction, settings.seed)'''

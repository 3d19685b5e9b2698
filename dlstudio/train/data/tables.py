"""Tables through Hugging Face ``datasets``: a hub data set by name (``hf:NAME``), a folder written
by ``save_to_disk``, or local CSV, JSON / JSON Lines, Parquet and Arrow files.

Columns are mapped to the model's inputs and target. A text column is tokenized with the
``tokenizer`` option (a Hugging Face tokenizer: ``input_ids``, ``attention_mask`` and, where the
model has them, ``token_type_ids``) or, without one, with the small word tokenizer; otherwise the
numeric columns are the features. Split names choose the training, validation and test rows.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dlstudio.core.tensor_spec import TensorSpec
from dlstudio.train.data.base import Dataset, DataSplit
from dlstudio.train.data.hf_tokenizer import encode_texts, load_tokenizer
from dlstudio.train.data.options import int_option
from dlstudio.train.data.text import Vocabulary, tokenize
from dlstudio.train.errors import DatasetError

HUB_PREFIX = "hf:"
"""``hf:imdb`` names a data set on the Hugging Face hub (loaded when online)."""

TABLE_SUFFIXES = {
    ".csv": "csv",
    ".tsv": "csv",
    ".json": "json",
    ".jsonl": "json",
    ".parquet": "parquet",
    ".arrow": "arrow",
}
_TEXT_NAMES = ("text", "sentence", "sentence1", "review", "content", "question")
_PAIR_NAMES = ("sentence2", "text_pair", "question2")
_TARGET_NAMES = ("label", "labels", "target", "y", "class")
_MAX_TEXT_CLASSES = 10_000


def is_table_source(path: Path) -> bool:
    """True for a file type or a ``save_to_disk`` folder this module reads."""
    if path.is_dir():
        return any((path / n).exists() for n in ("dataset_dict.json", "state.json"))
    return path.suffix.lower() in TABLE_SUFFIXES


def load_table(source: str | Path, options: dict[str, Any]) -> Dataset:
    """A data set from a hub name (``hf:NAME``) or a table file / folder, columns mapped by
    ``text_column`` / ``text_pair_column`` / ``feature_columns`` / ``target_column`` and rows
    by ``split`` (default ``train``), ``validation_split`` and ``test_split``."""
    splits = _read_splits(source, options)
    train_name = str(options.get("split", "train"))
    if train_name not in splits:
        raise DatasetError(
            f"{source}: no split {train_name!r}; it has {', '.join(splits)}; set the option split"
        )
    train = splits[train_name]
    columns = list(train.column_names)
    target = _choose(source, columns, options.get("target_column"), _TARGET_NAMES, "target_column")
    mapper = _ColumnMapper(source, train, target, options)
    held_out: dict[str, DataSplit | None] = {}
    for role, default in (("validation", "validation"), ("test", "test")):
        name = options.get(f"{role}_split", default if default in splits else None)
        if name is not None and str(name) not in splits:
            raise DatasetError(
                f"{source}: no split {name!r} for {role}; it has {', '.join(splits)}"
            )
        held_out[role] = mapper.convert(splits[str(name)], str(name)) if name else None
    label = (
        str(source).removeprefix(HUB_PREFIX)
        if str(source).startswith(HUB_PREFIX)
        else Path(source).name
    )
    dataset = mapper.dataset(label, mapper.convert(train, train_name))
    dataset.validation = held_out["validation"]
    dataset.test = held_out["test"]
    return dataset


def _read_splits(source: str | Path, options: dict[str, Any]) -> dict[str, Any]:
    """Every split as a ``datasets.Dataset`` held in memory (the cache is a temporary folder)."""
    import datasets

    datasets.disable_progress_bars()
    text = str(source)
    with tempfile.TemporaryDirectory(prefix="dlstudio-hf-") as cache:
        try:
            if text.startswith(HUB_PREFIX):
                loaded = datasets.load_dataset(
                    text.removeprefix(HUB_PREFIX),
                    options.get("config"),
                    cache_dir=cache,
                    keep_in_memory=True,
                )
            else:
                path = Path(text)
                if path.is_dir():
                    loaded = datasets.load_from_disk(str(path), keep_in_memory=True)
                else:
                    builder = TABLE_SUFFIXES[path.suffix.lower()]
                    extra = {"delimiter": "\t"} if path.suffix.lower() == ".tsv" else {}
                    files: dict[str, str] = {"train": str(path)}
                    for split, other in (options.get("split_files") or {}).items():
                        files[str(split)] = str(path.parent / str(other))
                    loaded = datasets.load_dataset(
                        builder, data_files=files, cache_dir=cache, keep_in_memory=True, **extra
                    )
        except DatasetError:
            raise
        except Exception as exc:  # datasets raises many kinds; each is a message for the user
            hint = (
                "check the name and the network connection (hub data sets need it once)"
                if text.startswith(HUB_PREFIX)
                else "check that the file is a valid table of that type"
            )
            raise DatasetError(f"{text}: cannot be read ({_first_line(exc)}); {hint}") from None
    if isinstance(loaded, datasets.DatasetDict):
        return dict(loaded)
    return {"train": loaded}


def _choose(
    source: str | Path, columns: list[str], asked: Any, defaults: tuple[str, ...], option: str
) -> str | None:
    if asked is not None:
        if str(asked) not in columns:
            raise DatasetError(
                f"{source}: no column {asked!r}; the columns are {', '.join(columns)}; set {option}"
            )
        return str(asked)
    return next((c for c in defaults if c in columns), None)


class _ColumnMapper:
    """Learns from the training split how columns become tensors, then converts every split
    the same way (the same vocabulary, classes, length and feature scaling)."""

    def __init__(self, source: str | Path, train: Any, target: str | None, options: dict[str, Any]):
        self.source = source
        self.options = options
        columns = list(train.column_names)
        if target is None:
            raise DatasetError(
                f"{source}: no target column (looked for {', '.join(_TARGET_NAMES)}); the columns "
                f"are {', '.join(columns)}; set target_column"
            )
        self.target = target
        self.text = _choose(source, columns, options.get("text_column"), _TEXT_NAMES, "text_column")
        self.pair = (
            _choose(
                source, columns, options.get("text_pair_column"), _PAIR_NAMES, "text_pair_column"
            )
            if self.text
            else None
        )
        self.tokenizer = None
        self.vocab: Vocabulary | None = None
        self.length: int | None = None
        if self.text is not None:
            if options.get("tokenizer"):
                self.tokenizer = load_tokenizer(str(options["tokenizer"]))
                if options.get("max_length") is not None:
                    self.length = int_option(options, "max_length", 128, 1, 1_000_000)
            else:
                self.length = int_option(options, "seq_len", 32, 1, 100_000)
                words = [tokenize(str(t)) for t in train[self.text]]
                self.vocab = Vocabulary.build(words)
            self.features: list[str] = []
        else:
            asked = options.get("feature_columns")
            self.features = (
                [str(c) for c in asked]
                if asked
                else [c for c in columns if c != target and _is_numeric(train.features[c])]
            )
            missing = [c for c in self.features if c not in columns]
            if missing or not self.features:
                raise DatasetError(
                    f"{source}: no usable feature columns ({', '.join(missing) or 'no numeric column'}"
                    f" besides the target {target!r}); set text_column or feature_columns"
                )
            values = self._feature_array(train, "train")
            self.mean, self.std = values.mean(axis=0), values.std(axis=0)
            self.std[self.std == 0] = 1.0
        self._learn_target(train)

    def _learn_target(self, train: Any) -> None:
        feature = train.features[self.target]
        names = getattr(feature, "names", None)
        cells = list(train[self.target])
        self.class_names: list[str] | None = None
        self.lookup: dict[Any, int] | None = None
        task = self.options.get("task")
        if names is not None:  # a ClassLabel: the data set's own class names
            self.class_names = [str(n) for n in names]
        elif all(isinstance(c, bool | int | np.integer) for c in cells) and task != "regression":
            self.class_names = [str(i) for i in range(int(max(cells, default=0)) + 1)]
        elif all(isinstance(c, str) for c in cells) and task != "regression":
            classes = sorted(set(cells))
            if len(classes) > _MAX_TEXT_CLASSES:
                raise DatasetError(
                    f"{self.source}: {len(classes)} different labels; too many classes"
                )
            self.class_names, self.lookup = classes, {c: i for i, c in enumerate(classes)}
        elif not all(isinstance(c, int | float) and not isinstance(c, bool) for c in cells):
            bad = next(c for c in cells if not isinstance(c, int | float) or isinstance(c, bool))
            raise DatasetError(
                f"{self.source}, column {self.target!r}: {bad!r} is neither a class nor a number"
            )

    def _feature_array(self, split: Any, name: str) -> np.ndarray:
        try:
            return np.stack([np.asarray(split[c], dtype=np.float64) for c in self.features], axis=1)
        except (TypeError, ValueError) as exc:
            raise DatasetError(
                f"{self.source}, split {name!r}: feature columns must hold numbers ({exc})"
            ) from None

    def convert(self, split: Any, name: str) -> DataSplit:
        """One split's input tensors and target."""
        if self.target not in split.column_names:
            raise DatasetError(f"{self.source}, split {name!r}: no target column {self.target!r}")
        if self.tokenizer is not None:
            texts = [str(t) for t in split[self.text]]
            pairs = [str(t) for t in split[self.pair]] if self.pair else None
            encoded = encode_texts(self.tokenizer, texts, self.length, pairs)
            if self.length is None:
                self.length = int(encoded["input_ids"].shape[1])  # later splits use the same
            inputs = tuple(encoded.values())
            self.input_names = list(encoded)
        elif self.vocab is not None:
            words = [tokenize(str(t)) for t in split[self.text]]
            inputs = (self.vocab.encode_all(words, int(self.length or 1)),)
            self.input_names = ["tokens"]
        else:
            values = (self._feature_array(split, name) - self.mean) / self.std
            inputs = (torch.from_numpy(values.astype(np.float32)),)
            self.input_names = ["features"]
        return DataSplit(inputs, self._target_tensor(split[self.target], name))

    def _target_tensor(self, cells: list[Any], name: str) -> torch.Tensor:
        if self.class_names is None:
            return torch.tensor(cells, dtype=torch.float32).unsqueeze(1)
        if self.lookup is not None:
            unknown = sorted({str(c) for c in cells if c not in self.lookup})
            if unknown:
                raise DatasetError(
                    f"{self.source}, split {name!r}: labels {', '.join(unknown[:5])} never occur "
                    "in the training split, so the model cannot learn them"
                )
            return torch.tensor([self.lookup[c] for c in cells], dtype=torch.int64)
        ids = torch.tensor([int(c) for c in cells], dtype=torch.int64)
        if len(ids) and (int(ids.min()) < 0 or int(ids.max()) >= len(self.class_names)):
            raise DatasetError(
                f"{self.source}, split {name!r}: label {int(ids.max())} is outside the training "
                f"split's classes 0..{len(self.class_names) - 1}"
            )
        return ids

    def dataset(self, label: str, train: DataSplit) -> Dataset:
        """The data set around the converted training split."""
        specs = [TensorSpec(tuple(x.shape[1:]), _dtype(x)) for x in train.inputs]
        options = {k: v for k, v in self.options.items() if not k.startswith("_")}
        if self.length is not None:
            options["max_length" if self.tokenizer is not None else "seq_len"] = self.length
        if self.tokenizer is not None:
            options["pad_token_id"] = int(self.tokenizer.pad_token_id)
        common: dict[str, Any] = {
            "name": label,
            "data": train,
            "input_specs": specs,
            "input_names": list(self.input_names),
            "options": options,
        }
        what = f"{self.text!r} tokenized" if self.text else f"{len(self.features)} features"
        if self.class_names is None:
            return Dataset(
                description=f"{label}: {what} -> {self.target} (regression)",
                target_kind="values",
                task="regression",
                loss="mse",
                metric="mae",
                **common,
            )
        return Dataset(
            description=f"{label}: {what} -> {self.target} ({len(self.class_names)} classes)",
            target_kind="class",
            num_classes=len(self.class_names),
            class_names=self.class_names,
            vocab_size=(
                len(self.vocab)
                if self.vocab is not None
                else len(self.tokenizer)
                if self.tokenizer is not None
                else None
            ),
            vocab=self.vocab.tokens if self.vocab is not None else None,
            **common,
        )


def _is_numeric(feature: Any) -> bool:
    dtype = str(getattr(feature, "dtype", ""))
    return dtype.startswith(("int", "uint", "float", "bool"))


def _dtype(x: torch.Tensor) -> str:
    return "float32" if x.is_floating_point() else "int64"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__

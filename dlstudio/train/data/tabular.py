"""Data from user files holding tables and arrays: CSV, text-classification CSV, ``.npy``/``.npz``."""

from __future__ import annotations

import csv
import math
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dlstudio.core.tensor_spec import TensorSpec
from dlstudio.train.data.base import Dataset, DataSplit
from dlstudio.train.data.options import int_option
from dlstudio.train.data.text import Vocabulary, tokenize
from dlstudio.train.errors import DatasetError


def _read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except FileNotFoundError:
        raise DatasetError(
            f"{path}: file not found; check the path or pick the file again"
        ) from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(
            f"{path}: not a readable UTF-8 CSV file ({exc}); save it as CSV UTF-8"
        ) from None
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if len(rows) < 2:
        raise DatasetError(f"{path}: needs a header line and at least one data line")
    header = [h.strip() for h in rows[0]]
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise DatasetError(
                f"{path}, line {number}: {len(row)} values but the header has {len(header)} "
                "columns; fix that line (a comma inside a value needs quotes)"
            )
    return header, rows[1:]


def _column_index(path: Path, header: list[str], column: Any) -> int:
    if column is None:
        return len(header) - 1
    if isinstance(column, int) and not isinstance(column, bool):
        if -len(header) <= column < len(header):
            return column % len(header)
    elif str(column) in header:
        return header.index(str(column))
    raise DatasetError(
        f"{path}: no column {column!r}; the columns are {', '.join(header)}; set target_column"
    )


def _as_float(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def _require_finite(path: Path, column: str, numbers: list[float | None]) -> None:
    for line, value in enumerate(numbers, start=2):
        if value is not None and not math.isfinite(value):
            raise DatasetError(
                f"{path}, line {line}, column {column!r}: {value} is not a usable number; "
                "fill in a real value or remove the row"
            )


def load_csv(path: Path, options: dict[str, Any]) -> Dataset:
    """A table: numeric columns become features as they are, text columns become one-hot.

    ``target_column`` (name or index, default the last) is predicted. ``task`` is
    ``classification`` or ``regression``; by default a numeric target with more than 20 distinct
    values is regression, anything else classification.
    """
    header, rows = _read_rows(path)
    target_col = _column_index(path, header, options.get("target_column"))
    columns: list[np.ndarray] = []
    names: list[str] = []
    for col, name in enumerate(header):
        if col == target_col:
            continue
        cells = [r[col].strip() for r in rows]
        for line, cell in enumerate(cells, start=2):
            if cell == "":
                raise DatasetError(
                    f"{path}, line {line}, column {name!r}: empty value; fill it in or remove the row"
                )
        numbers = [_as_float(c) for c in cells]
        if all(v is not None for v in numbers):
            _require_finite(path, name, numbers)
            values = np.asarray(numbers, dtype=np.float64)
            std = values.std()
            # Standardise so features of different units train at the same learning rate.
            columns.append((values - values.mean()) / (std if std > 0 else 1.0))
            names.append(name)
        else:
            categories = sorted(set(cells))
            if len(categories) > 100:
                first_text = next(c for c, v in zip(cells, numbers, strict=True) if v is None)
                raise DatasetError(
                    f"{path}, column {name!r}: {len(categories)} different text values (e.g. "
                    f"{first_text!r}); a number column must hold only numbers, or drop the column"
                )
            lookup = {c: i for i, c in enumerate(categories)}
            onehot = np.zeros((len(cells), len(categories)))
            onehot[np.arange(len(cells)), [lookup[c] for c in cells]] = 1.0
            columns.extend(onehot.T)
            names.extend(f"{name}={c}" for c in categories)
    if not columns:
        raise DatasetError(f"{path}: no feature columns besides the target {header[target_col]!r}")
    features = torch.from_numpy(np.stack(columns, axis=1).astype(np.float32))
    target_cells = [r[target_col].strip() for r in rows]
    target_numbers = [_as_float(c) for c in target_cells]
    numeric = all(v is not None for v in target_numbers)
    task = options.get("task") or (
        "regression" if numeric and len(set(target_cells)) > 20 else "classification"
    )
    common = {
        "name": path.name,
        "data": None,
        "input_specs": [TensorSpec((features.shape[1],), "float32")],
        "input_names": ["features"],
        "options": {"target_column": header[target_col], "feature_names": names},
    }
    if task == "regression":
        if not numeric:
            line = next(i for i, v in enumerate(target_numbers, start=2) if v is None)
            raise DatasetError(
                f"{path}, line {line}, column {header[target_col]!r}: {target_cells[line - 2]!r} is "
                "not a number; regression needs a numeric target (or choose classification)"
            )
        _require_finite(path, header[target_col], target_numbers)
        target = torch.tensor(target_numbers, dtype=torch.float32).unsqueeze(1)
        common["data"] = DataSplit((features,), target)
        return Dataset(
            description=f"{path.name}: {len(names)} features -> {header[target_col]} (regression)",
            target_kind="values",
            task="regression",
            loss="mse",
            metric="mae",
            **common,
        )
    classes = sorted(set(target_cells), key=lambda c: (_as_float(c) is None, _as_float(c) or 0, c))
    lookup = {c: i for i, c in enumerate(classes)}
    target = torch.tensor([lookup[c] for c in target_cells], dtype=torch.int64)
    common["data"] = DataSplit((features,), target)
    return Dataset(
        description=f"{path.name}: {len(names)} features -> {header[target_col]} ({len(classes)} classes)",
        target_kind="class",
        num_classes=len(classes),
        class_names=classes,
        **common,
    )


def load_text_csv(path: Path, options: dict[str, Any]) -> Dataset:
    """A CSV with ``text`` and ``label`` columns: words become ids of a vocabulary built here."""
    header, rows = _read_rows(path)
    text_col = _column_index(path, header, options.get("text_column", "text"))
    label_col = _column_index(path, header, options.get("target_column", "label"))
    seq_len = int_option(options, "seq_len", 32, 1, 100_000)
    texts = [tokenize(r[text_col]) for r in rows]
    labels = [r[label_col].strip() for r in rows]
    for line, label in enumerate(labels, start=2):
        if not label:
            raise DatasetError(f"{path}, line {line}: empty label; fill it in or remove the row")
    classes = sorted(set(labels))
    vocab = Vocabulary.build(
        texts,
        min_freq=int_option(options, "min_freq", 1, 1, 1_000_000),
        max_size=(
            int_option(options, "max_vocab", 0, 3, 10_000_000)
            if options.get("max_vocab") is not None
            else None
        ),
    )
    lookup = {c: i for i, c in enumerate(classes)}
    return Dataset(
        name=path.name,
        description=f"{path.name}: texts -> {len(classes)} labels, {len(vocab)} words",
        data=DataSplit(
            (vocab.encode_all(texts, seq_len),),
            torch.tensor([lookup[c] for c in labels], dtype=torch.int64),
        ),
        input_specs=[TensorSpec((seq_len,), "int64")],
        input_names=["tokens"],
        target_kind="class",
        num_classes=len(classes),
        class_names=classes,
        vocab_size=len(vocab),
        vocab=vocab.tokens,
        options={"seq_len": seq_len},
    )


_X_NAMES = ("x", "X", "inputs", "features", "data", "images")
_Y_NAMES = ("y", "Y", "target", "targets", "labels", "label")


def _load_array(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found; check the path") from None
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise DatasetError(
            f"{path}: not a NumPy array file without pickled objects ({exc}); "
            "save plain arrays with numpy.save / numpy.savez"
        ) from None


def load_numpy(path: Path, options: dict[str, Any]) -> Dataset:
    """``.npz`` with arrays ``x`` and ``y`` (or similar names), or ``.npy`` plus ``targets`` path."""
    loaded = _load_array(path)
    if isinstance(loaded, np.lib.npyio.NpzFile):
        with loaded:
            keys = list(loaded.keys())
            x_key = options.get("x_key") or next((k for k in _X_NAMES if k in keys), None)
            y_key = options.get("y_key") or next((k for k in _Y_NAMES if k in keys), None)
            if x_key not in keys or y_key not in keys:
                raise DatasetError(
                    f"{path}: needs an input array named x and a target array named y; it holds "
                    f"{', '.join(keys) or 'nothing'}; set x_key and y_key"
                )
            x, y = loaded[x_key], loaded[y_key]
    else:
        target_path = options.get("targets")
        if not target_path:
            raise DatasetError(
                f"{path}: a .npy file holds only the inputs; set the option targets to the .npy "
                "file of targets, or save both with numpy.savez(file, x=..., y=...)"
            )
        x, y = loaded, _load_array(Path(target_path))
    if len(x) != len(y):
        raise DatasetError(f"{path}: {len(x)} inputs but {len(y)} targets; they must match")
    x_t = torch.from_numpy(np.ascontiguousarray(x))
    x_t = x_t.to(torch.int64) if not x_t.is_floating_point() else x_t.to(torch.float32)
    if np.issubdtype(y.dtype, np.integer) or y.dtype == np.bool_:
        y_t = torch.from_numpy(y.astype(np.int64))
        if y_t.ndim == 1:
            classes = int(y_t.max()) + 1 if len(y_t) else 0
            kind, task, loss, metric = "class", "classification", "cross_entropy", "accuracy"
        else:
            classes = int(y_t.max()) + 1
            kind, task, loss, metric = (
                "class_sequence",
                "sequence_classification",
                "cross_entropy",
                "token_accuracy",
            )
    else:
        y_t = torch.from_numpy(y.astype(np.float32))
        classes = None
        kind, task, loss, metric = "values", "regression", "mse", "mae"
    dtype = "float32" if x_t.is_floating_point() else "int64"
    return Dataset(
        name=path.name,
        description=f"{path.name}: arrays {tuple(x.shape)} -> {tuple(y.shape)}",
        data=DataSplit((x_t,), y_t),
        input_specs=[TensorSpec(tuple(x_t.shape[1:]), dtype)],
        input_names=["x"],
        target_kind=kind,
        task=task,
        loss=loss,
        metric=metric,
        num_classes=classes,
        vocab_size=classes if kind == "class_sequence" else None,
    )

"""Data paths in a project are relative to the project file's folder.

A project that points to ``data/people.csv`` trains the same wherever it is opened from (the
current folder of the shell or of the editor plays no part), and saving writes the path relative
to the file, so the project and its data can move together.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

PATH_OPTIONS = ("targets", "tokenizer")
"""Data set options that name a file (besides the data set itself)."""

_HUB_OR_PATH_OPTIONS = ("tokenizer",)
"""Options that name a folder, or else a hub id: treated as a path only where one exists."""


def _is_builtin(value: str) -> bool:
    # Imported here: the data sets import torch, and the editor imports this module before its
    # first paint.
    from dlstudio.train.data import list_datasets

    return value in {info.name for info in list_datasets()}


def resolve_data_path(value: Any, base_dir: Path | None) -> Any:
    """``value`` as a path against ``base_dir`` when it is a relative path (not a built-in name);
    anything else unchanged."""
    if not isinstance(value, str) or not value or base_dir is None or _is_builtin(value):
        return value
    path = Path(value).expanduser()
    if path.is_absolute():
        return value
    return str(base_dir / path)


def resolve_training_paths(training: dict[str, Any], base_dir: Path | None) -> dict[str, Any]:
    """A copy of ``metadata["training"]`` with its data paths resolved against ``base_dir``."""
    meta = dict(training or {})
    if "dataset" in meta:
        meta["dataset"] = resolve_data_path(meta["dataset"], base_dir)
    options = meta.get("dataset_options")
    if isinstance(options, dict):
        meta["dataset_options"] = {
            k: _resolve_option(k, v, base_dir) if k in PATH_OPTIONS else v
            for k, v in options.items()
        }
    return meta


def relative_data_path(value: Any, old_base: Path | None, new_base: Path) -> Any:
    """A data path as it should be written in a project saved in ``new_base``: relative to it
    (``old_base`` is where a relative ``value`` pointed from). Built-in names stay as they are;
    a path on another drive stays absolute."""
    if not isinstance(value, str) or not value or _is_builtin(value):
        return value
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = (old_base or Path.cwd()) / path
    try:
        return Path(os.path.relpath(path.resolve(), new_base.resolve())).as_posix()
    except ValueError:  # Windows: another drive
        return str(path)


def relative_training_paths(
    training: dict[str, Any], old_base: Path | None, new_base: Path
) -> dict[str, Any]:
    """A copy of ``metadata["training"]`` with its data paths made relative to ``new_base``."""
    meta = dict(training or {})
    if "dataset" in meta:
        meta["dataset"] = relative_data_path(meta["dataset"], old_base, new_base)
    options = meta.get("dataset_options")
    if isinstance(options, dict):
        meta["dataset_options"] = {
            k: _relative_option(k, v, old_base, new_base) if k in PATH_OPTIONS else v
            for k, v in options.items()
        }
    return meta


def _resolve_option(key: str, value: Any, base_dir: Path | None) -> Any:
    resolved = resolve_data_path(value, base_dir)
    if key in _HUB_OR_PATH_OPTIONS and resolved != value and not Path(resolved).exists():
        return value  # a hub id such as "bert-base-cased", not a folder beside the project
    return resolved


def _relative_option(key: str, value: Any, old_base: Path | None, new_base: Path) -> Any:
    if key in _HUB_OR_PATH_OPTIONS and isinstance(value, str):
        path = Path(value).expanduser()
        if not (path if path.is_absolute() else (old_base or Path.cwd()) / path).exists():
            return value
    return relative_data_path(value, old_base, new_base)

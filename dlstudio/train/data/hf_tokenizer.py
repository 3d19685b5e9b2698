"""Hugging Face tokenizers: the one reader of a project's tokenizer, and text -> model inputs.

A project names its tokenizer in ``metadata["tokenizer"]``: a folder relative to the project
file (as written by ``save_pretrained``, or one ``tokenizer.json`` from the ``tokenizers``
library). A data set's ``tokenizer`` option may name a folder or a hub id instead; a hub id
needs the network the first time.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from dlstudio.train.errors import DatasetError

MODEL_INPUTS = ("input_ids", "token_type_ids", "attention_mask")
"""What a tokenizer may give a model; ``attention_mask`` (1 = a real token) is the padding mask."""

_NO_LIMIT = 1_000_000
"""transformers writes a huge ``model_max_length`` when a tokenizer does not know its model's."""


def load_tokenizer(source: str | Path, base_dir: Path | None = None) -> Any:
    """A ``transformers`` tokenizer from a folder (relative to ``base_dir``), a ``tokenizer.json``
    file, or a hub id. Raises :class:`DatasetError` saying what was tried."""
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    text = str(source)
    path = Path(text).expanduser()
    if not path.is_absolute() and base_dir is not None and (base_dir / path).exists():
        path = base_dir / path
    try:
        if path.is_file() and path.suffix == ".json":
            return PreTrainedTokenizerFast(tokenizer_file=str(path))
        if path.is_dir():
            has_config = (path / "tokenizer_config.json").exists()
            if not has_config and (path / "tokenizer.json").exists():
                return PreTrainedTokenizerFast(tokenizer_file=str(path / "tokenizer.json"))
            return AutoTokenizer.from_pretrained(str(path))
        looks_like_path = text.startswith((".", "/", "~")) or text.count("/") > 1 or "\\" in text
        if path.exists() or looks_like_path:
            raise OSError(f"{path} is neither a tokenizer folder nor a tokenizer.json file")
        return AutoTokenizer.from_pretrained(text)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        where = f"the folder {path}" if path.exists() else f"the hub id {text!r} (no such folder)"
        raise DatasetError(
            f"tokenizer {text!r}: cannot load it from {where} ({_first_line(exc)}); give a folder "
            "written by save_pretrained (tokenizer_config.json, tokenizer.json or vocab.txt), a "
            "tokenizer.json file, or a hub id while online"
        ) from None


def project_tokenizer_source(metadata: dict[str, Any] | None) -> str | None:
    """The tokenizer a project names: ``metadata.tokenizer`` (a folder), else the training
    data set's ``tokenizer`` option; None for projects without one."""
    meta = metadata or {}
    named = meta.get("tokenizer")
    if isinstance(named, dict):  # {"path": ...} as well as a plain string
        named = named.get("path") or named.get("folder")
    if isinstance(named, str) and named:
        return named
    training = meta.get("training")
    options = training.get("dataset_options") if isinstance(training, dict) else None
    value = options.get("tokenizer") if isinstance(options, dict) else None
    return value if isinstance(value, str) and value else None


def project_tokenizer_folder(
    metadata: dict[str, Any] | None, project_path: str | Path | None
) -> str | None:
    """``metadata.tokenizer`` as a path against the project file's folder, or None."""
    named = (metadata or {}).get("tokenizer")
    if isinstance(named, dict):
        named = named.get("path") or named.get("folder")
    if not isinstance(named, str) or not named:
        return None
    path = Path(named).expanduser()
    if not path.is_absolute() and project_path is not None:
        path = Path(project_path).resolve().parent / path
    return str(path)


def load_project_tokenizer(metadata: dict[str, Any] | None, project_path: str | Path | None) -> Any:
    """The tokenizer a project carries (see :func:`project_tokenizer_source`), or None."""
    source = project_tokenizer_source(metadata)
    if source is None:
        return None
    base = Path(project_path).resolve().parent if project_path else None
    return load_tokenizer(source, base)


def attach_tokenizer(
    metadata: dict[str, Any], project_path: str | Path, source: str | Path | Any
) -> str:
    """Save a tokenizer (a folder, ``tokenizer.json``, hub id, or a loaded tokenizer) beside the
    project as ``<project>.tokenizer/`` and name it in ``metadata["tokenizer"]``, so the project
    carries it like its weights; returns the folder as written in the metadata."""
    project = Path(project_path)
    tokenizer = source if hasattr(source, "save_pretrained") else load_tokenizer(str(source))
    folder = project.with_name(project.stem + ".tokenizer")
    try:
        tokenizer.save_pretrained(str(folder))
    except OSError as exc:
        raise DatasetError(f"cannot save the tokenizer to {folder}: {exc}") from None
    metadata["tokenizer"] = folder.name
    return folder.name


def model_length(tokenizer: Any) -> int | None:
    """The longest input the tokenizer's model takes, or None when it does not say."""
    limit = getattr(tokenizer, "model_max_length", None)
    return int(limit) if isinstance(limit, int) and 0 < limit < _NO_LIMIT else None


def input_names_of(tokenizer: Any) -> list[str]:
    """The model inputs this tokenizer makes, in the order data sets give them:
    ``input_ids``, then ``attention_mask``, then ``token_type_ids`` where the model has them."""
    names = list(getattr(tokenizer, "model_input_names", None) or ["input_ids", "attention_mask"])
    order = ["input_ids", "attention_mask", "token_type_ids"]
    return [n for n in order if n in names or n in ("input_ids", "attention_mask")]


def encode_texts(
    tokenizer: Any,
    texts: Sequence[str],
    max_length: int | None = None,
    pairs: Sequence[str] | None = None,
) -> dict[str, torch.Tensor]:
    """Token ids and masks (int64, one row per text) truncated and padded to one length.

    The length is ``max_length``, else the longest text's, at most the model's length.
    """
    if tokenizer.pad_token is None:
        raise DatasetError(
            "the tokenizer has no padding token, so texts of different lengths cannot be batched; "
            "use a tokenizer with a [PAD] / <pad> token (set pad_token when you save it)"
        )
    limit = max_length or model_length(tokenizer)
    if max_length is None:
        lengths = tokenizer(
            list(texts), list(pairs) if pairs else None, truncation=bool(limit), max_length=limit
        )["input_ids"]
        limit = max((len(ids) for ids in lengths), default=1)
    encoded = tokenizer(
        list(texts),
        list(pairs) if pairs else None,
        truncation=True,
        padding="max_length",
        max_length=limit,
        return_tensors="pt",
    )
    return {n: encoded[n].to(torch.int64) for n in input_names_of(tokenizer) if n in encoded}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__

"""Hugging Face models as import sources: ``hf:PATH_OR_ID`` names a ``save_pretrained`` folder
(or a hub id, when online). The model is loaded with the head ``--task`` asks for, its input is
read from its config (token ids up to the vocabulary size, or images of the configured size),
and its tokenizer files are copied beside the project so the data side can use them."""

from __future__ import annotations

import inspect
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from torch import nn

from dlstudio.compile.importers.errors import ImportFailed
from dlstudio.compile.importers.fx_trace import MASK_ROLE, InputSpec

PREFIX = "hf:"
TASKS = ("base", "sequence-classification", "causal-lm")
TOKENIZER_KEY = "tokenizer"
"""The project's metadata key naming the tokenizer folder, relative to the project file."""
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "spiece.model",
    "sentencepiece.bpe.model",
    "tokenizer.model",
    "preprocessor_config.json",
)
"""What a ``save_pretrained`` tokenizer (or image processor) may write."""


def is_hf(source: str) -> bool:
    """True for ``hf:PATH_OR_ID``."""
    return source.startswith(PREFIX)


@dataclass
class HFSource:
    """A loaded Hugging Face model, its inputs and where its tokenizer comes from."""

    model: nn.Module
    inputs: list[InputSpec]
    reference: str
    """The folder or hub id."""
    name: str


def load_hf(source: str, task: str = "base", num_labels: int = 0, seq_len: int = 16) -> HFSource:
    """The model ``hf:PATH_OR_ID`` names, with the ``task`` head; see the module doc."""
    from dlstudio.compile.importers.loader import prepare_torchvision

    reference = source[len(PREFIX) :]
    if not reference:
        raise ImportFailed("hf: needs a folder written by save_pretrained, or a hub id")
    if task not in TASKS:
        raise ImportFailed(f"--task must be one of {', '.join(TASKS)}, not {task!r}")
    local = Path(reference)
    if not local.exists() and (reference.startswith((".", "/")) or local.suffix):
        raise ImportFailed(f"{reference} does not exist")
    if local.is_dir() and not (local / "config.json").is_file():
        raise ImportFailed(
            f"{reference} has no config.json: hf: needs a folder written by save_pretrained "
            "(config.json and the weights), or a hub id"
        )
    prepare_torchvision()  # transformers imports torchvision when it is installed
    try:
        import transformers
    except ImportError as exc:
        raise ImportFailed(
            f"hf: imports need the transformers package ({exc}); install DL Studio's hf extra"
        ) from exc
    auto = {
        "base": transformers.AutoModel,
        "sequence-classification": transformers.AutoModelForSequenceClassification,
        "causal-lm": transformers.AutoModelForCausalLM,
    }[task]
    kwargs: dict[str, Any] = {}
    if num_labels:
        if task != "sequence-classification":
            raise ImportFailed("--num-labels is for --task sequence-classification")
        kwargs["num_labels"] = num_labels
        # A checkpoint saved with another number of labels gets a new head of num_labels,
        # as from_pretrained(..., num_labels=N, ignore_mismatched_sizes=True) gives.
        kwargs["ignore_mismatched_sizes"] = True
    try:
        model = auto.from_pretrained(reference, **kwargs)
    except Exception as exc:
        words = " ".join(str(exc).split())[:400]
        raise ImportFailed(
            f"transformers could not load {reference!r} as a {task} model: "
            f"{type(exc).__name__}: {words}"
        ) from exc
    model.eval()
    if hasattr(model.config, "use_cache"):
        model.config.use_cache = False  # no key/value cache in the outputs: one forward pass
    return HFSource(model, model_inputs(model, seq_len), reference, _name(reference))


def model_inputs(model: nn.Module, seq_len: int = 16) -> list[InputSpec]:
    """What the model's ``forward`` takes: images of the configured size for vision models;
    else token ids below the vocabulary size, followed by the ``attention_mask`` (1 at real
    tokens, 0 at padding) and ``token_type_ids`` when ``forward`` takes them right after the
    ids, in that order (BERT, DistilBERT, RoBERTa), so they can be passed by position."""
    config = model.config
    main = getattr(model, "main_input_name", "input_ids")
    if main == "pixel_values":
        size = config.image_size
        side = size if isinstance(size, int) else size[0]
        return [InputSpec((getattr(config, "num_channels", 3), side, side), name="pixel_values")]
    limit = getattr(config, "max_position_embeddings", 0) or getattr(config, "n_positions", 0)
    if limit:
        seq_len = min(seq_len, limit)
    vocab = int(config.vocab_size)
    ids = InputSpec(("T",), "int64", seq_len, vocab, name="input_ids")
    inputs = [ids]
    following = list(inspect.signature(model.forward).parameters)
    following = following[following.index("input_ids") + 1 :] if "input_ids" in following else []
    if following[:1] == ["attention_mask"]:
        pad = getattr(config, "pad_token_id", None)
        if isinstance(pad, int) and 0 <= pad < vocab:  # padded examples hold the padding id
            inputs[0] = replace(ids, pad_id=pad)
        inputs.append(InputSpec(("T",), "int64", seq_len, 2, "attention_mask", MASK_ROLE))
        types = int(getattr(config, "type_vocab_size", 0) or 0)
        if following[1:2] == ["token_type_ids"] and types:
            inputs.append(InputSpec(("T",), "int64", seq_len, types, "token_type_ids"))
    return inputs


def copy_tokenizer(reference: str, project: Path) -> str | None:
    """Copy the tokenizer files next to ``project`` (folder ``<stem>.tokenizer``); returns the
    folder's name for the project's metadata, or None when the model has none."""
    target = project.with_name(f"{project.stem}.tokenizer")
    folder = Path(reference)
    if folder.is_dir():
        files = [folder / name for name in TOKENIZER_FILES if (folder / name).is_file()]
        if not files:
            return None
        target.mkdir(parents=True, exist_ok=True)
        for file in files:
            shutil.copy2(file, target / file.name)
        return target.name
    try:  # a hub id: let transformers fetch and write it
        from transformers import AutoTokenizer

        AutoTokenizer.from_pretrained(reference).save_pretrained(str(target))
    except Exception:
        return None
    return target.name


def _name(reference: str) -> str:
    stem = Path(reference.rstrip("/")).name or "model"
    return stem.replace("-", "_")

"""Typed text in, class out: the project's tokenizer (or the small word vocabulary) turns a text
into the model's inputs, the trained model scores it, and the classes come back ranked.

Shared by ``python -m dlstudio predict`` and the window's prediction box.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from dlstudio.train.data import Dataset
from dlstudio.train.data.hf_tokenizer import encode_texts, input_names_of
from dlstudio.train.data.text import Vocabulary, tokenize
from dlstudio.train.errors import TrainError


@dataclass(frozen=True)
class ClassScore:
    """One class and the probability the model gives it."""

    name: str
    probability: float


@dataclass
class TextEncoder:
    """How text becomes inputs: a Hugging Face tokenizer, or a word vocabulary of a lesson."""

    tokenizer: Any = None
    vocab: Vocabulary | None = None
    length: int | None = None

    @classmethod
    def for_dataset(cls, tokenizer: Any, dataset: Dataset | None) -> TextEncoder:
        """The encoder training used: the tokenizer at the data set's length, else its words."""
        options = dataset.options if dataset is not None else {}
        if tokenizer is not None:
            length = options.get("max_length")
            return cls(tokenizer=tokenizer, length=int(length) if length else None)
        if dataset is not None and dataset.vocab:
            return cls(
                vocab=Vocabulary(list(dataset.vocab)), length=int(options.get("seq_len", 32))
            )
        raise TrainError(
            "the project has no tokenizer (metadata.tokenizer, or the data set's tokenizer "
            "option) and its data set has no word vocabulary, so typed text cannot be read; "
            "import the model with its tokenizer or train on a text data set"
        )

    def encode(
        self, text: str, model_lengths: Sequence[int | None] = ()
    ) -> dict[str, torch.Tensor]:
        """One text as named int64 tensors (batch of one)."""
        fixed = next((n for n in model_lengths if n), None)
        length = fixed or self.length
        if self.vocab is not None:
            ids = self.vocab.encode(tokenize(text), int(length or 32))
            return {"input_ids": torch.tensor([ids], dtype=torch.int64)}
        return encode_texts(self.tokenizer, [text], length)


def feed_by_name(
    encoded: dict[str, torch.Tensor], input_names: Sequence[str]
) -> tuple[torch.Tensor, ...]:
    """The encoded tensors in the model's Input order: by name where the names match (input_ids,
    attention_mask, token_type_ids), else the ids alone for a one-Input model."""
    names = list(input_names)
    if all(n in encoded for n in names):
        return tuple(encoded[n] for n in names)
    if len(names) == 1:
        return (encoded["input_ids"],)
    raise TrainError(
        f"the model's inputs are {', '.join(names)} but the tokenizer gives "
        f"{', '.join(encoded)}; name the Input nodes after them"
    )


def predict_text(
    module: torch.nn.Module,
    input_names: Sequence[str],
    input_lengths: Sequence[int | None],
    encoder: TextEncoder,
    text: str,
    class_names: Sequence[str] | None = None,
) -> list[ClassScore]:
    """Every class with its probability, most likely first."""
    if not text.strip():
        raise TrainError("the text is empty; type a sentence to classify")
    inputs = feed_by_name(encoder.encode(text, input_lengths), input_names)
    module.eval()
    with torch.no_grad():
        output = module(*inputs)
    if isinstance(output, tuple | list):
        output = output[0]
    if not isinstance(output, torch.Tensor) or output.ndim != 2 or output.shape[0] != 1:
        shape = tuple(output.shape) if isinstance(output, torch.Tensor) else type(output).__name__
        raise TrainError(
            f"the model gives {shape} for one text; text classification needs one score per "
            "class, (1, classes)"
        )
    probabilities = torch.softmax(output[0].float(), dim=-1).tolist()
    names = list(class_names or [])
    scores = [
        ClassScore(names[i] if i < len(names) else str(i), p) for i, p in enumerate(probabilities)
    ]
    return sorted(scores, key=lambda s: -s.probability)


def fixed_lengths(input_specs: Sequence[Any]) -> list[int | None]:
    """Each Input's sequence length when the model fixes it, else None (``T``)."""
    out: list[int | None] = []
    for spec in input_specs:
        shape = tuple(getattr(spec, "shape", ()))
        out.append(shape[1] if len(shape) > 1 and isinstance(shape[1], int) else None)
    return out


def default_weights(project: str | Path) -> Path | None:
    """The weights of the project's last command-line run (``PROJECT_run/``), if there are any."""
    path = Path(project)
    candidate = path.with_name(path.stem + "_run") / "weights.safetensors"
    return candidate if candidate.exists() else None


__all__ = [
    "ClassScore",
    "TextEncoder",
    "default_weights",
    "feed_by_name",
    "fixed_lengths",
    "input_names_of",
    "predict_text",
]

"""A simple word tokenizer and vocabulary, shared by the text data sets."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import torch

PAD = "<pad>"
UNK = "<unk>"
BOS = "<bos>"

_TOKEN = re.compile(r"[a-z0-9']+|[^\sa-z0-9']")


def tokenize(text: str) -> list[str]:
    """Lower-case words and single punctuation marks: ``"Great, fun!"`` -> great , fun !"""
    return _TOKEN.findall(text.lower())


@dataclass
class Vocabulary:
    """Token <-> id mapping; id 0 is padding and id 1 stands for unknown words."""

    tokens: list[str]

    def __post_init__(self) -> None:
        self._ids = {t: i for i, t in enumerate(self.tokens)}

    @classmethod
    def build(
        cls, texts: Iterable[list[str]], min_freq: int = 1, max_size: int | None = None
    ) -> Vocabulary:
        """Most frequent tokens first (ties alphabetical, so the result is reproducible)."""
        counts = Counter(tok for words in texts for tok in words)
        ranked = sorted(
            (t for t, c in counts.items() if c >= min_freq), key=lambda t: (-counts[t], t)
        )
        if max_size is not None:
            ranked = ranked[: max(0, max_size - 2)]
        return cls([PAD, UNK, *ranked])

    def __len__(self) -> int:
        return len(self.tokens)

    def id(self, token: str) -> int:
        """The token's id, or the unknown id."""
        return self._ids.get(token, 1)

    def encode(self, words: list[str], length: int) -> list[int]:
        """Ids cut or padded (with id 0 at the end) to exactly ``length``."""
        ids = [self.id(w) for w in words[:length]]
        return ids + [0] * (length - len(ids))

    def encode_all(self, texts: list[list[str]], length: int) -> torch.Tensor:
        """An int64 tensor (len(texts), length)."""
        return torch.tensor([self.encode(t, length) for t in texts], dtype=torch.int64).reshape(
            len(texts), length
        )

"""Data sets for two lessons: tagging every word (many-to-many) and remembering far back.

``tagging``: generated sentences, the target at every position is the word's part of speech.
``first_token``: a long padded sequence whose label is its first token, so a model must carry
that token across every later step: an LSTM does, a simple RNN's memory fades.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from dlstudio.core.tensor_spec import TensorSpec
from dlstudio.train.data.base import Dataset, DataSplit
from dlstudio.train.data.language import _ADJECTIVES, _OBJECTS, _SUBJECTS, _VERBS
from dlstudio.train.data.options import int_option
from dlstudio.train.data.text import PAD, Vocabulary

TAGS = ("determiner", "adjective", "noun", "verb", "preposition", "punctuation")
_PREPOSITIONS = ("in", "on", "by", "near", "at")
_PLACES = ("park", "hill", "river", "mill", "market")
IGNORE = -100
"""Target of padding positions: the loss and the metrics skip it (``ignore_index``)."""


def _tagged_sentence(rng: np.random.Generator) -> list[tuple[str, int]]:
    det, adj, noun, verb, prep, punct = range(len(TAGS))
    words = [(str(rng.choice(("the", "a"))), det), (str(rng.choice(_SUBJECTS)), noun)]
    words.append((str(rng.choice(_VERBS)), verb))
    words.append((str(rng.choice(("the", "a"))), det))
    if rng.random() < 0.4:
        words.append((str(rng.choice(_ADJECTIVES)), adj))
    words.append((str(rng.choice(_OBJECTS)), noun))
    if rng.random() < 0.5:
        words += [(str(rng.choice(_PREPOSITIONS)), prep), ("the", det)]
        words.append((str(rng.choice(_PLACES)), noun))
    return [*words, (".", punct)]


def tagging(options: dict[str, Any]) -> Dataset:
    """One sentence per example, padded to ``seq_len``; the target is each word's tag (padding
    positions are ignored by the loss)."""
    count = int_option(options, "n_samples", 2000, 2, 10_000_000)
    seq_len = int_option(options, "seq_len", 12, 12, 256)
    rng = np.random.default_rng(int_option(options, "seed", 0, 0, 2**31 - 1))
    sentences = [_tagged_sentence(rng) for _ in range(count)]
    vocab = Vocabulary.build([[w for w, _ in s] for s in sentences])
    tokens = vocab.encode_all([[w for w, _ in s] for s in sentences], seq_len)
    tags = torch.full((count, seq_len), IGNORE, dtype=torch.int64)
    for row, sentence in enumerate(sentences):
        tags[row, : len(sentence)] = torch.tensor([t for _, t in sentence])
    return Dataset(
        name="tagging",
        description=f"Generated sentences of up to {seq_len} words -> the part of speech of "
        "every word (one prediction per position).",
        data=DataSplit((tokens,), tags),
        input_specs=[TensorSpec((seq_len,), "int64")],
        input_names=["tokens"],
        target_kind="class_sequence",
        task="sequence_classification",
        metric="token_accuracy",
        num_classes=len(TAGS),
        class_names=list(TAGS),
        vocab_size=len(vocab),
        vocab=vocab.tokens,
        options={"seq_len": seq_len},
    )


def first_token(options: dict[str, Any]) -> Dataset:
    """``classes`` marker tokens, one of which starts each sequence, then random filler words
    up to a random length and padding to ``seq_len``; the label is the marker."""
    count = int_option(options, "n_samples", 8000, 2, 10_000_000)
    seq_len = int_option(options, "seq_len", 40, 4, 4096)
    classes = int_option(options, "classes", 2, 2, 20)
    fillers = int_option(options, "fillers", 8, 1, 1000)
    rng = np.random.default_rng(int_option(options, "seed", 0, 0, 2**31 - 1))
    # Ids: 0 padding, 1..classes the markers, then the filler words.
    labels = rng.integers(0, classes, size=count)
    tokens = np.zeros((count, seq_len), dtype=np.int64)
    min_len = int_option(options, "min_len", seq_len // 2, 1, seq_len)
    lengths = rng.integers(min_len, seq_len + 1, size=count)
    for row in range(count):
        tokens[row, 0] = 1 + labels[row]
        tokens[row, 1 : lengths[row]] = rng.integers(
            1 + classes, 1 + classes + fillers, lengths[row] - 1
        )
    vocab = [PAD, *(f"<class {c}>" for c in range(classes)), *(f"w{i}" for i in range(fillers))]
    return Dataset(
        name="first_token",
        description=f"Sequences of {seq_len // 2} to {seq_len} tokens, padded to {seq_len}; "
        "the label is the first token (long-range memory).",
        data=DataSplit((torch.from_numpy(tokens),), torch.from_numpy(labels.astype(np.int64))),
        input_specs=[TensorSpec((seq_len,), "int64")],
        input_names=["tokens"],
        target_kind="class",
        num_classes=classes,
        class_names=[f"class {c}" for c in range(classes)],
        vocab_size=len(vocab),
        vocab=vocab,
        options={"seq_len": seq_len, "classes": classes, "fillers": fillers},
    )

"""Next-word prediction on generated sentences: the data set a causal language model trains on."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from dlstudio.core.tensor_spec import TensorSpec
from dlstudio.train.data.base import Dataset, DataSplit
from dlstudio.train.data.options import int_option
from dlstudio.train.data.text import Vocabulary

# A tiny grammar: sentences have structure a model can learn (a verb follows its subject, "the"
# or "a" comes before a noun, a sentence ends with "."), while the nouns and verbs themselves are
# chosen at random, so no model can predict every word and accuracy measures real learning.
_SUBJECTS = ("cat", "dog", "bird", "king", "queen", "farmer", "child", "baker", "miller")
_VERBS = ("sees", "chases", "likes", "feeds", "finds", "follows", "calls")
_OBJECTS = ("mouse", "horse", "cow", "bread", "ball", "river", "tree", "castle")
_PLACES = ("in the park", "on the hill", "by the river", "near the mill", "at the market")
_ADJECTIVES = ("small", "old", "green", "tall", "happy")


def _sentence(rng: np.random.Generator) -> list[str]:
    words = [str(rng.choice(("the", "a"))), str(rng.choice(_SUBJECTS)), str(rng.choice(_VERBS))]
    words.append(str(rng.choice(("the", "a"))))
    if rng.random() < 0.4:
        words.append(str(rng.choice(_ADJECTIVES)))
    words.append(str(rng.choice(_OBJECTS)))
    if rng.random() < 0.5:
        words += str(rng.choice(_PLACES)).split()
    return [*words, "."]


def generated_sentences(rng: np.random.Generator, count: int) -> list[list[str]]:
    """``count`` generated sentences (the article, a subject, a verb, an object, a place)."""
    return [_sentence(rng) for _ in range(count)]


def next_token(options: dict[str, Any]) -> Dataset:
    """Windows of ``seq_len`` words from generated sentences; the target at every position is the
    word that follows it (``tokens[t + 1]``), as a GPT-style model is trained.

    The validation windows come from the end of the text, so the model is judged on sentences it
    did not train on.
    """
    seq_len = int_option(options, "seq_len", 16, 2, 256)
    n_sentences = int_option(options, "n_sentences", 600, 10, 1_000_000)
    rng = np.random.default_rng(int_option(options, "seed", 0, 0, 2**31 - 1))
    words = [w for _ in range(n_sentences) for w in _sentence(rng)]
    vocab = Vocabulary.build([words])
    ids = torch.tensor([vocab.id(w) for w in words])
    starts = torch.arange(0, len(ids) - seq_len, max(1, seq_len // 2))
    windows = torch.stack([ids[s : s + seq_len + 1] for s in starts.tolist()])
    return Dataset(
        name="next_token",
        description=f"Predict the next word at each of {seq_len} positions of generated "
        "sentences (language modelling).",
        data=DataSplit((windows[:, :-1].contiguous(),), windows[:, 1:].contiguous()),
        input_specs=[TensorSpec((seq_len,), "int64")],
        input_names=["tokens"],
        target_kind="class_sequence",
        task="language_model",
        metric="token_accuracy",
        num_classes=len(vocab),
        vocab_size=len(vocab),
        vocab=vocab.tokens,
        # Neighbouring windows overlap: a random split would leak validation text into
        # training, so the validation windows are the end of the text.
        split_mode="tail",
        options={"seq_len": seq_len, "n_sentences": n_sentences},
    )

"""Generated tasks: binary to decimal, copy / reverse, noisy sine, toy sentiment, skip-gram.

Each is reproducible from ``options["seed"]`` (default 0) and needs no file or network.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from dlstudio.core.tensor_spec import TensorSpec
from dlstudio.train.data.base import Dataset, DataSplit
from dlstudio.train.data.language import generated_sentences
from dlstudio.train.data.options import float_option, int_option, seed_option
from dlstudio.train.data.text import PAD, Vocabulary, tokenize

_DIGITS_VOCAB = [PAD, "<bos>", *"0123456789"]
_PAD_ID, _BOS_ID, _ZERO_ID = 0, 1, 2


def _shift_right(target: torch.Tensor, bos: int) -> torch.Tensor:
    """Teacher-forcing decoder input: BOS followed by the target without its last token."""
    bos_col = torch.full((target.shape[0], 1), bos, dtype=torch.int64)
    return torch.cat([bos_col, target[:, :-1]], dim=1)


def binary_to_decimal(options: dict[str, Any]) -> Dataset:
    """``111101001010`` -> ``3914``: binary digit tokens in, decimal digit tokens out.

    Inputs are ``bits`` tokens (leading zeros kept); targets are decimal digits padded in front
    with ``<pad>`` to a fixed length, so each position is one place value. Padding is a real
    class here: the model learns how many digits the number has. ``out_len`` pads to more
    places than the largest number needs (to fit a model built for longer outputs). With ``teacher_forcing`` the inputs are ``(src, tgt_in)`` for a Transformer.
    """
    bits = int_option(options, "bits", 12, 2, 20)
    teacher = bool(options.get("teacher_forcing", False))
    seed = seed_option(options)
    count = options.get("n_samples")
    if count is None:
        numbers = np.arange(2**bits)
    else:
        count = int_option(options, "n_samples", 0, 1, 10_000_000)
        numbers = np.random.default_rng(seed).integers(0, 2**bits, size=count)
    out_len = max(len(str(2**bits - 1)), int_option(options, "out_len", 0, 0, 64))
    src = ((numbers[:, None] >> np.arange(bits - 1, -1, -1)[None, :]) & 1) + _ZERO_ID
    tgt = np.full((len(numbers), out_len), _PAD_ID, dtype=np.int64)
    for row, value in enumerate(numbers):
        digits = [int(c) + _ZERO_ID for c in str(int(value))]
        # Pad on the left so each position always holds the same place value (units last).
        tgt[row, out_len - len(digits) :] = digits
    src_t = torch.from_numpy(src.astype(np.int64))
    tgt_t = torch.from_numpy(tgt)
    inputs: tuple[torch.Tensor, ...] = (src_t,)
    specs = [TensorSpec((bits,), "int64")]
    names = ["src"]
    if teacher:
        inputs = (src_t, _shift_right(tgt_t, _BOS_ID))
        specs.append(TensorSpec((out_len,), "int64"))
        names.append("tgt_in")
    return Dataset(
        name="binary_to_decimal",
        description=f"{bits}-bit binary strings -> decimal digits (sequence to sequence).",
        data=DataSplit(inputs, tgt_t),
        input_specs=specs,
        input_names=names,
        target_kind="class_sequence",
        task="sequence_classification",
        metric="exact_match",
        vocab_size=len(_DIGITS_VOCAB),
        vocab=list(_DIGITS_VOCAB),
        options={"bits": bits, "teacher_forcing": teacher, "out_len": out_len},
    )


def copy_or_reverse(options: dict[str, Any], mode: str) -> Dataset:
    """Random symbol strings to copy or reverse; inputs ``(src, tgt_in)``, target ``tgt_out``.

    Token 0 is padding and 1 is BOS; symbols are 2..symbols+1. Set ``teacher_forcing`` false for a
    model that takes ``src`` only (an LSTM encoder-decoder).
    """
    seq_len = int_option(options, "seq_len", 8, 1, 512)
    symbols = int_option(options, "symbols", 10, 2, 10_000)
    count = int_option(options, "n_samples", 4000, 1, 10_000_000)
    teacher = bool(options.get("teacher_forcing", True))
    rng = np.random.default_rng(seed_option(options))
    src = torch.from_numpy(rng.integers(2, symbols + 2, size=(count, seq_len)).astype(np.int64))
    tgt = src.clone() if mode == "copy" else src.flip(1)
    inputs: tuple[torch.Tensor, ...] = (src, _shift_right(tgt, 1)) if teacher else (src,)
    specs = [TensorSpec((seq_len,), "int64")] * len(inputs)
    vocab = [PAD, "<bos>", *(f"s{i}" for i in range(symbols))]
    return Dataset(
        name=mode,
        description=f"{mode.capitalize()} strings of {seq_len} symbols (sequence to sequence).",
        data=DataSplit(inputs, tgt),
        input_specs=list(specs),
        input_names=["src", "tgt_in"][: len(inputs)],
        target_kind="class_sequence",
        task="sequence_classification",
        metric="token_accuracy",
        vocab_size=len(vocab),
        vocab=vocab,
        options={"seq_len": seq_len, "symbols": symbols, "teacher_forcing": teacher},
    )


def noisy_sine(options: dict[str, Any]) -> Dataset:
    """A noisy sine wave cut into windows: ``window`` past values -> the next ``horizon`` values.

    Inputs are (window, 1) float32 (batch-first, one feature, as an RNN expects). The split keeps
    time order: validation is the last part of the series.
    """
    window = int_option(options, "window", 20, 1, 10_000)
    horizon = int_option(options, "horizon", 1, 1, 1000)
    points = int_option(options, "n_points", 2000, window + horizon + 1, 10_000_000)
    period = float_option(options, "period", 40.0, 2.0, 1e6)
    noise = float_option(options, "noise", 0.1, 0.0, 100.0)
    rng = np.random.default_rng(seed_option(options))
    t = np.arange(points, dtype=np.float64)
    series = np.sin(2 * math.pi * t / period) + noise * rng.standard_normal(points)
    series = series.astype(np.float32)
    n = points - window - horizon + 1
    idx = np.arange(n)[:, None]
    x = series[idx + np.arange(window)[None, :]][:, :, None]
    y = series[idx + window + np.arange(horizon)[None, :]]
    return Dataset(
        name="sine",
        description=f"Noisy sine wave: {window} past values -> next {horizon} (forecasting).",
        data=DataSplit((torch.from_numpy(x),), torch.from_numpy(y)),
        input_specs=[TensorSpec((window, 1), "float32")],
        input_names=["window"],
        target_kind="values",
        task="regression",
        loss="mse",
        metric="mae",
        split_mode="tail",
        options={"window": window, "horizon": horizon},
    )


_POSITIVE = ["good", "great", "excellent", "wonderful", "fun", "lovely", "brilliant", "enjoyable"]
_NEGATIVE = ["bad", "awful", "boring", "terrible", "dull", "poor", "horrible", "weak"]
_SUBJECTS = ["the movie", "this film", "the plot", "the acting", "the story", "the music"]
_VERBS = ["was", "is", "felt", "seemed"]
_INTENSIFIERS = ["", "very", "really", "quite", "so"]


def toy_sentiment(options: dict[str, Any]) -> Dataset:
    """Generated review sentences; the label is the sentiment of the final clause.

    Sentences such as ``the plot was dull but the music was really great`` teach that word order
    matters (the clause after "but" decides).
    """
    count = int_option(options, "n_samples", 2000, 2, 10_000_000)
    seq_len = int_option(options, "seq_len", 16, 4, 1024)
    rng = np.random.default_rng(seed_option(options))

    def clause(positive: bool) -> str:
        words = [
            _SUBJECTS[rng.integers(len(_SUBJECTS))],
            _VERBS[rng.integers(len(_VERBS))],
            _INTENSIFIERS[rng.integers(len(_INTENSIFIERS))],
            (_POSITIVE if positive else _NEGATIVE)[rng.integers(8)],
        ]
        return " ".join(w for w in words if w)

    sentences, labels = [], []
    for _ in range(count):
        label = int(rng.integers(2))
        text = clause(bool(label))
        if rng.random() < 0.4:
            text = f"{clause(not label)} but {text}"
        sentences.append(tokenize(text))
        labels.append(label)
    vocab = Vocabulary.build(sentences)
    return Dataset(
        name="sentiment",
        description="Generated movie-review sentences -> negative / positive.",
        data=DataSplit((vocab.encode_all(sentences, seq_len),), torch.tensor(labels)),
        input_specs=[TensorSpec((seq_len,), "int64")],
        input_names=["tokens"],
        target_kind="class",
        num_classes=2,
        class_names=["negative", "positive"],
        vocab_size=len(vocab),
        vocab=vocab.tokens,
        options={"seq_len": seq_len},
    )


_CORPUS = """
the cat sat on the mat and the dog sat on the rug . the cat chased the mouse and the dog chased
the cat . a small bird sang in the tall tree while the sun rose over the green hill . the river ran
past the old mill and the miller ground the wheat into flour . children played in the park near
the river and their parents watched from the bench . the baker baked bread in the morning and sold
it in the market . the king lived in a castle on the hill and the queen ruled the land with him .
the farmer fed the horse and the cow in the barn . in winter the snow covered the hill and the
river froze . in summer the children swam in the river and ate bread by the mill .
"""


def skipgram(options: dict[str, Any]) -> Dataset:
    """Skip-gram pairs: center word id -> one context word id, from a small built-in text, or
    with ``sentences`` > 0 from that many generated sentences (subjects, verbs, objects and
    places in fixed roles, so words of one kind share their contexts: a clear test of what an
    embedding learns)."""
    window = int_option(options, "window", 2, 1, 10)
    count = int_option(options, "sentences", 0, 0, 1_000_000)
    if count:
        rng = np.random.default_rng(seed_option(options))
        words = [w for sentence in generated_sentences(rng, count) for w in sentence]
    else:
        words = tokenize(_CORPUS)
    vocab = Vocabulary.build([words])
    ids = [vocab.id(w) for w in words]
    centers, contexts = [], []
    for i, center in enumerate(ids):
        for j in range(max(0, i - window), min(len(ids), i + window + 1)):
            if j != i:
                centers.append(center)
                contexts.append(ids[j])
    return Dataset(
        name="skipgram",
        description=f"Word pairs (center -> context, window {window}) from "
        + (f"{count} generated sentences." if count else "a short built-in text."),
        # One id per sample as a (1,) sequence, so Embedding -> Flatten -> Linear works as drawn.
        data=DataSplit((torch.tensor(centers).unsqueeze(1),), torch.tensor(contexts)),
        input_specs=[TensorSpec((1,), "int64")],
        input_names=["center"],
        target_kind="class",
        task="language_model",
        num_classes=len(vocab),
        vocab_size=len(vocab),
        vocab=vocab.tokens,
        class_names=vocab.tokens,
        options={"window": window, "sentences": count},
    )

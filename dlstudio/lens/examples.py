"""The example the lens is pinned to: a data-set sample, an image file, or a typed sentence."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dlstudio.core.errors import DLStudioError
from dlstudio.core.tensor_spec import TensorSpec


class ExampleError(DLStudioError):
    """The example cannot be made for this model (wrong index, unreadable file, no vocabulary)."""


@dataclass(frozen=True)
class Example:
    """Model inputs for one sample (batch of one), and what is known about it."""

    inputs: tuple[torch.Tensor, ...]
    label: str
    """How the user picked it: ``sample 12 of digits``, ``cat.png``, ``"the cat sat"``."""
    target: int | None = None
    """The true class, when the sample has one."""
    tokens: tuple[str, ...] | None = None
    """The words of the first token input, position by position."""


def dataset_example(dataset, index: int | None = None, class_index: int | None = None) -> Example:
    """Sample ``index`` of a loaded data set, or its first sample of class ``class_index``."""
    data = dataset.data
    count = len(data)
    if class_index is not None:
        if data.target.dim() != 1 or data.target.dtype != torch.int64:
            raise ExampleError(f"{dataset.name} has no class per sample to choose by")
        hits = (data.target == class_index).nonzero().flatten()
        if hits.numel() == 0:
            raise ExampleError(f"{dataset.name} has no sample of class {class_index}")
        index = int(hits[0])
    index = 0 if index is None else index
    if not 0 <= index < count:
        raise ExampleError(f"sample {index} is out of range: {dataset.name} has {count} samples")
    inputs = tuple(x[index : index + 1] for x in data.inputs)
    target = data.target[index]
    label = f"sample {index} of {dataset.name}"
    tokens = _tokens_of(inputs, dataset.vocab)
    return Example(inputs, label, int(target) if target.dim() == 0 else None, tokens)


def _tokens_of(inputs: tuple[torch.Tensor, ...], vocab: list[str] | None) -> tuple[str, ...] | None:
    for x in inputs:
        if x.dtype == torch.int64 and x.dim() == 2 and vocab:
            return tuple(vocab[i] if 0 <= i < len(vocab) else f"#{i}" for i in x[0].tolist())
    return None


def image_example(path: str | Path, spec: TensorSpec) -> Example:
    """An image file fitted to an image Input ``(C, H, W)``: resized, grey or RGB, in [0, 1]."""
    from PIL import Image, UnidentifiedImageError

    shape = spec.shape[1:] if spec.shape and spec.shape[0] == "N" else spec.shape
    if len(shape) != 3 or not all(isinstance(d, int) for d in shape):
        raise ExampleError(f"an image needs an Input of shape (C, H, W), this one is {spec}")
    channels, height, width = (int(d) for d in shape)
    if channels not in (1, 3):
        raise ExampleError(f"an image has 1 or 3 channels, the Input takes {channels}")
    try:
        with Image.open(path) as opened:
            picture = opened.convert("L" if channels == 1 else "RGB")
            picture = picture.resize((width, height), Image.Resampling.BILINEAR)
            array = np.asarray(picture, dtype=np.float32) / 255.0
    except (OSError, UnidentifiedImageError) as exc:
        raise ExampleError(f"cannot read the image {path}: {exc}") from None
    tensor = torch.from_numpy(array.reshape(height, width, channels).transpose(2, 0, 1).copy())
    return Example((tensor.unsqueeze(0),), Path(path).name)


def text_example(
    text: str,
    compiled: Any,
    dataset: Any | None,
    tokenizer: Any | None = None,
) -> Example:
    """A typed sentence as the model's inputs, read as training read its texts: through the
    project's tokenizer (input_ids, attention_mask... fed to the Inputs by name), or the data
    set's word vocabulary for the small lessons."""
    from dlstudio.train.predict import TextEncoder, feed_by_name, fixed_lengths

    if not text.strip():
        raise ExampleError("the text is empty; type a sentence")
    try:
        encoder = TextEncoder.for_dataset(tokenizer, dataset)
        encoded = encoder.encode(text, fixed_lengths(compiled.input_specs))
        inputs = feed_by_name(encoded, compiled.input_names)
    except DLStudioError as exc:
        raise ExampleError(str(exc)) from None
    ids = encoded["input_ids"][0].tolist()
    if encoder.vocab is not None:
        tokens = tuple(encoder.vocab.tokens[i] for i in ids)
    else:
        assert tokenizer is not None, "an encoder without a word vocabulary has a tokenizer"
        tokens = tuple(str(t) for t in tokenizer.convert_ids_to_tokens(ids))
    return Example(inputs, f'"{text}"', None, tokens)

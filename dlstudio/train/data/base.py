"""The in-memory data set every loader returns, and its train / validation split."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from dlstudio.core.tensor_spec import TensorSpec

TARGET_KINDS = ("class", "class_sequence", "values", "binary")
"""``class``: int64 (N,); ``class_sequence``: int64 (N, T); ``values``: float (N, ...);
``binary``: float 0/1 (N, ...) for BCE with logits."""


@dataclass
class DataSplit:
    """One split: a tuple with one tensor per model input, and the target tensor."""

    inputs: tuple[torch.Tensor, ...]
    target: torch.Tensor

    def __len__(self) -> int:
        return int(self.target.shape[0])

    def subset(self, index: torch.Tensor) -> DataSplit:
        """The samples at ``index`` (a 1-D int64 tensor), copied."""
        return DataSplit(tuple(x[index] for x in self.inputs), self.target[index])

    def to(self, device: torch.device, non_blocking: bool = False) -> DataSplit:
        """The same samples on ``device``."""
        return DataSplit(
            tuple(x.to(device, non_blocking=non_blocking) for x in self.inputs),
            self.target.to(device, non_blocking=non_blocking),
        )

    def nbytes(self) -> int:
        """Memory the split takes, inputs and target together."""
        tensors = (*self.inputs, self.target)
        return sum(t.numel() * t.element_size() for t in tensors)


@dataclass
class Dataset:
    """A loaded data set: all samples in memory plus what a model needs to know about them.

    ``input_specs`` give each input's shape *without* the batch dimension and its dtype, in the
    order of the model's Input nodes.
    """

    name: str
    description: str
    data: DataSplit
    input_specs: list[TensorSpec]
    target_kind: str
    task: str = "classification"
    loss: str = "cross_entropy"
    metric: str = "accuracy"
    num_classes: int | None = None
    vocab_size: int | None = None
    class_names: list[str] | None = None
    vocab: list[str] | None = None
    input_names: list[str] = field(default_factory=list)
    test: DataSplit | None = None
    validation: DataSplit | None = None
    """Rows the data set itself sets aside for validation (a named split); used instead of
    cutting ``val_fraction`` off ``data``."""
    # Time series must not be shuffled before splitting, or the validation set leaks the future.
    split_mode: str = "random"
    options: dict[str, Any] = field(default_factory=dict)
    # Optional advice for a shape mismatch: given the model's expected shape (batch included) of
    # input ``i``, return e.g. "turn on resize to 28x28", or None.
    fix_hint: Callable[[int, tuple[Any, ...]], str | None] | None = None
    augment: (
        Callable[[tuple[torch.Tensor, ...], torch.Generator], tuple[torch.Tensor, ...]] | None
    ) = None
    """Applied to each training batch's inputs (never to validation), with the batch's own
    random generator; e.g. :class:`~dlstudio.train.data.augment.ImageAugment`."""

    def __len__(self) -> int:
        return len(self.data)

    def split(self, val_fraction: float, seed: int) -> tuple[DataSplit, DataSplit | None]:
        """Train and validation splits; the same ``seed`` always gives the same split.

        A data set with its own validation rows returns them (when ``val_fraction`` is above 0).
        """
        if self.validation is not None and val_fraction > 0:
            return self.data, self.validation
        n = len(self.data)
        if not 0.0 <= val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
        n_val = round(n * val_fraction)
        if val_fraction > 0 and n_val == 0 and n > 1:
            n_val = 1
        if n_val == 0:
            return self.data, None
        if self.split_mode == "tail":
            order = torch.arange(n)
        else:
            gen = torch.Generator().manual_seed(int(seed))
            order = torch.randperm(n, generator=gen)
        return self.data.subset(order[: n - n_val]), self.data.subset(order[n - n_val :])

    def select_inputs(self, names: list[str]) -> bool:
        """Reorder (and narrow) the inputs to the model's Input names, when every one of them is
        an input of this data set by name (tokenized text gives ``input_ids``,
        ``attention_mask``, ``token_type_ids``; a model may take them in another order, or not
        take ``token_type_ids``). Returns whether anything changed."""
        have = list(self.input_names)
        if not names or len(have) != len(self.input_specs) or have == list(names):
            return False
        if len(set(names)) != len(names):
            return False
        if set(names) <= set(have):
            index = [have.index(n) for n in names]
        elif len(names) == 1 and have[:1] == ["input_ids"]:
            # A drawn model with one token Input: the ids alone; its Input's padding_id makes
            # the padding mask that attention_mask would give.
            index = [0]
        else:
            return False

        def pick(split: DataSplit | None) -> DataSplit | None:
            return (
                None
                if split is None
                else DataSplit(tuple(split.inputs[i] for i in index), split.target)
            )

        self.data = pick(self.data)  # type: ignore[assignment]
        self.validation, self.test = pick(self.validation), pick(self.test)
        self.input_specs = [self.input_specs[i] for i in index]
        self.input_names = [have[i] for i in index]
        return True

    def summary(self) -> str:
        """One line for lists and logs: name, size, input shapes and what it predicts."""
        shapes = ", ".join(str(TensorSpec(("N", *s.shape), s.dtype)) for s in self.input_specs)
        what = {
            "class": f"{self.num_classes} classes",
            "class_sequence": f"token sequences over {self.vocab_size} tokens",
            "values": "values",
            "binary": "binary labels",
        }.get(self.target_kind, self.target_kind)
        return f"{self.name}: {len(self)} samples, inputs {shapes} -> {what}"

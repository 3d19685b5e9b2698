"""The values an fx walk carries between nodes, besides the graph's own tensors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dlstudio.compile.importers.builder import TensorRef


class Unmapped(Exception):
    """This call has no catalogue layer; ``detail`` says why when the op itself is known."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class Param:
    """A parameter read straight from a module attribute (``self.class_token``)."""

    tensor: Any
    path: str


@dataclass(frozen=True)
class Expanded:
    """A parameter broadcast over the batch (``token.expand(n, -1, -1)``), awaiting a cat."""

    param: Param


@dataclass(frozen=True)
class PaddingMask:
    """A padding mask input (N, S), 1 at real tokens, spread over an attention's scores
    (:func:`.padding_masks.padding_mask`), awaiting the attention that takes it."""

    ref: TensorRef


@dataclass(frozen=True)
class Unsqueezed:
    """``x.unsqueeze(dim)``, awaiting a ``repeat`` (RepeatVector) or else a Reshape."""

    ref: TensorRef
    dim: int
    shape: tuple[int, ...]


@dataclass(frozen=True)
class Tup:
    """Several values returned together (an LSTM's ``(out, state)``)."""

    items: tuple[Any, ...]


@dataclass(frozen=True)
class Unavailable:
    """A value the imported layer does not produce (attention weights); using it is an issue."""

    what: str
    where: str


@dataclass
class Deferred:
    """A value awaiting its pattern (``kind``); ``base`` is the tensor the pattern started on."""

    kind: str
    base: TensorRef
    node: Any
    inputs: list[Any]
    shape: tuple[int, ...] | None


@dataclass(frozen=True)
class Rows:
    """The first rows of a position table (``embedding(arange(T))``), awaiting the add that
    makes it a learned positional encoding."""

    param: Param

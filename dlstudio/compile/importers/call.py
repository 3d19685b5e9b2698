"""One fx call as a mapper sees it: resolved arguments, the concrete values the example run
produced, and helpers to add the layer that replaces it."""

from __future__ import annotations

from dataclasses import dataclass, field
from math import prod
from typing import Any

import torch

from dlstudio.compile.importers.builder import GraphBuilder, TensorRef
from dlstudio.compile.importers.values import Param, Unavailable, Unmapped, Unsqueezed


@dataclass
class Call:
    """A call being imported: ``args``/``kwargs`` hold graph tensors (:class:`TensorRef`),
    parameters and plain values; ``out`` and ``ins`` the example run's concrete values."""

    builder: GraphBuilder
    name: str
    where: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    out: Any
    ins: tuple[Any, ...]
    materialised: dict[int, TensorRef] = field(default_factory=dict)
    scope: tuple[str, ...] = ()
    """The module path the call happens in (``("layer1", "0")``)."""
    local: str = ""
    """The node's name inside that module (``conv1``, ``add``)."""

    def get(self, index: int, key: str, default: Any = None) -> Any:
        """Argument ``index`` if given by position, else keyword ``key``, else ``default``."""
        if index < len(self.args):
            return self.args[index]
        return self.kwargs.get(key, default)

    def tensor(self, index: int = 0, key: str = "input") -> TensorRef:
        """A graph tensor argument, or :class:`Unmapped` saying why it is not one."""
        value = self.get(index, key)
        return self.as_ref(value)

    def as_ref(self, value: Any) -> TensorRef:
        """``value`` as a graph tensor (a pending unsqueeze becomes a Reshape)."""
        if isinstance(value, TensorRef):
            return value
        if isinstance(value, Unsqueezed):
            return self.builder_reshape(value)
        if isinstance(value, Param):
            raise Unmapped(f"uses the parameter {value.path} directly")
        if type(value).__name__ == "Heads":
            raise Unmapped(
                "uses attention heads split with a reshape; only the pattern that ends in "
                "scaled_dot_product_attention is imported on a symbolic length"
            )
        if isinstance(value, Unavailable):
            raise Unmapped(f"uses the {value.what} of {value.where}, which the layer does not give")
        raise Unmapped(f"takes a constant ({type(value).__name__}) where a layer needs a tensor")

    def builder_reshape(self, value: Unsqueezed) -> TensorRef:
        """Materialise ``x.unsqueeze(d)`` as a Reshape to its example shape."""
        key = id(value)
        if key not in self.materialised:
            if value.dim == 0:
                raise Unmapped("adds a dimension in front of the batch")
            node = self.builder.add(
                "reshape",
                f"{self.name}_unsqueeze",
                {"shape": value.shape[1:]},
                [("in", value.ref)],
                scope=self.scope,
                local=f"{self.local}_unsqueeze",
            )
            self.materialised[key] = TensorRef(node)
        return self.materialised[key]

    def in_shape(self, index: int = 0) -> tuple[int, ...]:
        """The example shape of tensor argument ``index``."""
        value = self.ins[index] if index < len(self.ins) else None
        if not isinstance(value, torch.Tensor):
            raise Unmapped("its input is not a tensor")
        return tuple(value.shape)

    @property
    def out_shape(self) -> tuple[int, ...]:
        """The example output shape."""
        if not isinstance(self.out, torch.Tensor):
            raise Unmapped("does not return one tensor")
        return tuple(self.out.shape)

    def layer(
        self,
        type_id: str,
        params: dict[str, Any] | None = None,
        *inputs: tuple[str, TensorRef] | TensorRef,
        weights: dict[str, Any] | None = None,
    ) -> TensorRef:
        """Add the layer (inputs as ``TensorRef`` on ``in`` or ``(port, ref)``); its output."""
        wires = [i if isinstance(i, tuple) else ("in", i) for i in inputs]
        node = self.builder.add(
            type_id, self.name, params, wires, weights, scope=self.scope, local=self.local
        )
        return TensorRef(node)

    def dim(self, value: int, rank: int) -> int:
        """A dimension index made non-negative; refuses the batch dimension."""
        if not -rank <= value < rank:
            raise Unmapped(f"dimension {value} is out of range for rank {rank}")
        value %= rank
        if value == 0:
            raise Unmapped("acts on the batch dimension")
        return value


def flatten_span(before: tuple[int, ...], after: tuple[int, ...]) -> tuple[int, int] | None:
    """``(start, end)`` when ``after`` is ``before`` with one run of dimensions merged."""
    if len(after) >= len(before) or before[:1] != after[:1]:
        return None
    start = 0
    while start < len(after) and before[start] == after[start]:
        start += 1
    tail = len(after) - start - 1
    end = len(before) - tail - 1
    if tail < 0 or before[end + 1 :] != after[start + 1 :]:
        return None
    if prod(before[start : end + 1]) != after[start]:
        return None
    return start, end

"""Attention as Hugging Face writes it, on sequences of any length: heads split with a reshape,
``scaled_dot_product_attention`` on (N, heads, T, D), heads merged back with a reshape.

A Reshape layer cannot take a symbolic length, so on such inputs the steps wait as
:class:`Heads` values: ``x.view(N, T, H, D)`` (split) -> ``.transpose(1, 2)`` (first) ->
attention (out) -> ``.transpose(1, 2)`` (out_t) -> ``.reshape(N, T, E)``. When the pattern
completes it is one ScaledDotProductAttention with layout merged and ``num_heads`` H on the
(N, T, E) projections; a step used any other way becomes a placeholder with the reason.
GPT-2's fused projection, ``c_attn(x).split(E, dim=2)``, becomes a Split layer first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from dlstudio.compile.importers.builder import TensorRef
from dlstudio.compile.importers.call import Call
from dlstudio.compile.importers.values import Expanded, Param, Tup, Unmapped

_NEXT = {"split": "first", "out": "out_t"}
"""A transpose of dimensions 1 and 2 moves a pattern on."""


@dataclass(frozen=True)
class Heads:
    """A tensor in the middle of the heads pattern: ``ref`` is (N, T, E) for stages split and
    first, the attention's merged output for out and out_t."""

    ref: TensorRef
    heads: int
    stage: str


def symbolic(c: Call) -> bool:
    """True when the model's inputs have a symbolic length (the pattern is needed)."""
    return bool(getattr(c.builder, "symbolic", False))


def reshape(c: Call) -> Any:
    """The heads' reshapes, or None when this reshape is not one of them."""
    base = c.args[0]
    before, after = c.in_shape(), c.out_shape
    if isinstance(base, Heads):
        if base.stage == "out_t" and len(after) == 3 and tuple(after[:2]) == tuple(before[:2]):
            return base.ref
        if tuple(after) == tuple(before):
            return base  # a view that changes nothing
        raise Unmapped("reshapes attention heads other than merging them back")
    if not symbolic(c) or not isinstance(base, TensorRef):
        return None
    same_steps = len(before) == 3 and len(after) == 4 and tuple(before[:2]) == tuple(after[:2])
    if same_steps and after[2] * after[3] == before[2]:
        return Heads(base, int(after[2]), "split")
    return None


def swap(c: Call, dims: tuple[int, ...]) -> Any:
    """A transpose or permute of a :class:`Heads` value, or None when the input is not one."""
    base = c.args[0]
    if not isinstance(base, Heads):
        return None
    if dims == (0, 2, 1, 3) and base.stage in _NEXT:
        return Heads(base.ref, base.heads, _NEXT[base.stage])
    raise Unmapped("moves attention heads other than to the front and back")


def attention(c: Call, params: dict[str, Any], mask: Any) -> Any:
    """The attention on heads split from (N, T, E) projections, or None when q, k, v are not
    all such heads."""
    q, k, v = (c.get(i, name) for i, name in enumerate(("query", "key", "value")))
    if not all(isinstance(x, Heads) and x.stage == "first" for x in (q, k, v)):
        return None
    if len({q.heads, k.heads, v.heads}) != 1:
        raise Unmapped("query, key and value have different numbers of heads")
    params = {**params, "layout": "merged", "num_heads": q.heads}
    wires = [("query", q.ref), ("key", k.ref), ("value", v.ref)]
    if mask is not None:
        wires.append(("mask", c.as_ref(mask)))
    return Heads(c.layer("scaled_dot_product_attention", params, *wires), q.heads, "out")


def constant_mask(mask: Any) -> tuple[bool, Any]:
    """(causal, remaining mask) for a mask computed from constants alone: one that lets every
    key through is no mask, the lower triangle is ``causal``; anything else is Unmapped."""
    if isinstance(mask, Expanded):
        mask = mask.param
    if not isinstance(mask, Param):
        return False, mask
    table = mask.tensor
    allowed = table if table.dtype == torch.bool else (table == 0)
    if table.dtype != torch.bool and not table.is_floating_point():
        raise Unmapped("a mask of integers computed from constants")
    if bool(allowed.all()):
        return False, None  # every key may be attended (the model was given no mask)
    if allowed.dim() >= 2 and allowed.shape[-1] == allowed.shape[-2]:
        size = allowed.shape[-1]
        triangle = torch.ones(size, size, dtype=torch.bool).tril()
        if bool((allowed == triangle).all()):
            return True, None  # the causal triangle
    raise Unmapped("a mask computed from constants")


def split(c: Call) -> Any:
    """``x.split(size, dim)`` / ``torch.split``: a Split layer, its pieces as a tuple."""
    ref = c.tensor()
    size, dim = c.get(1, "split_size_or_sections"), c.get(2, "dim", 0)
    if size is None:
        size = c.get(1, "split_size")
    rank = len(c.in_shape())
    dim = c.dim(dim, rank)
    total = c.in_shape()[dim]
    sizes = list(size) if isinstance(size, (tuple, list)) else _pieces(total, int(size))
    if len(sizes) < 2:
        return Tup((ref,))
    params: dict[str, Any] = {"outputs": len(sizes), "dim": dim, "sizes": tuple(sizes)}
    node = c.layer("split", params, ref)
    return Tup(tuple(TensorRef(node.node_id, f"out{i}") for i in range(1, len(sizes) + 1)))


def _pieces(total: int, size: int) -> list[int]:
    sizes = [size] * (total // size)
    if total % size:
        sizes.append(total % size)
    return sizes

"""torch view and indexing calls -> catalogue layers: flatten, reshape, permute, transpose,
expand, indexing, unsqueeze and repeat (the mappers ``torch_functions`` tables name)."""

from __future__ import annotations

from typing import Any

from dlstudio.compile.importers import torch_heads as heads
from dlstudio.compile.importers.builder import TensorRef
from dlstudio.compile.importers.call import Call, flatten_span
from dlstudio.compile.importers.values import Expanded, Param, Tup, Unmapped, Unsqueezed


def flatten(c: Call) -> TensorRef:
    """``torch.flatten`` / ``x.flatten``: a Flatten layer."""
    rank = len(c.in_shape())
    start, end = c.get(1, "start_dim", 0), c.get(2, "end_dim", -1)
    c.dim(start, rank)
    return c.layer("flatten", {"start_dim": start, "end_dim": end}, c.tensor())


def reshape(c: Call) -> Any:
    """``reshape`` / ``view``: Flatten where it merges trailing axes, else Reshape (the batch kept)."""
    pattern = heads.reshape(c)
    if pattern is not None:
        return pattern
    before, after = c.in_shape(), c.out_shape
    if tuple(after) == tuple(before):
        return c.tensor()  # a view to the same shape (GPT-2's input_ids.view(-1, T))
    if not after or after[0] != before[0]:
        raise Unmapped("changes the batch dimension")
    span = flatten_span(before, after)
    if span is not None:
        start, end = span
        end = -1 if end == len(before) - 1 else end
        return c.layer("flatten", {"start_dim": start, "end_dim": end}, c.tensor())
    if len(after) < 2:
        raise Unmapped("leaves only the batch dimension")
    return c.layer("reshape", {"shape": after[1:]}, c.tensor())


def dims_args(c: Call) -> tuple[int, ...]:
    """The dimensions a ``permute`` / ``repeat`` call names, as varargs or one sequence."""
    rest = c.args[1:]
    if len(rest) == 1 and isinstance(rest[0], (tuple, list)):
        rest = tuple(rest[0])
    return tuple(rest) or tuple(c.kwargs.get("dims", ()))


def permute(c: Call) -> Any:
    """``permute``: a Permute that keeps the batch first (or an attention-heads pattern)."""
    rank = len(c.in_shape())
    dims = tuple(d % rank for d in dims_args(c))
    pattern = heads.swap(c, dims)
    if pattern is not None:
        return pattern
    if not dims or dims[0] != 0:
        raise Unmapped("moves the batch dimension")
    return c.layer("permute", {"dims": dims}, c.tensor())


def transpose(c: Call) -> Any:
    """``transpose``: a Permute swapping two dimensions (or an attention-heads pattern)."""
    rank = len(c.in_shape())
    a, b = c.dim(c.get(1, "dim0"), rank), c.dim(c.get(2, "dim1"), rank)
    dims = list(range(rank))
    dims[a], dims[b] = dims[b], dims[a]
    pattern = heads.swap(c, tuple(dims))
    if pattern is not None:
        return pattern
    return c.layer("permute", {"dims": tuple(dims)}, c.tensor())


def expand(c: Call) -> Any:
    """``expand`` of a parameter (a class token); any other expand is unmapped."""
    base = c.args[0]
    if isinstance(base, Param):
        return Expanded(base)
    raise Unmapped("expands a tensor (broadcasting has no layer of its own)")


def getitem(c: Call) -> Any:
    """``x[...]``: an item of a tuple, or one step of a sequence (SelectStep)."""
    base, index = c.args[0], c.args[1]
    if isinstance(base, Tup):
        return base.items[index]
    ref = c.as_ref(base)
    rank = len(c.in_shape())
    if (
        isinstance(index, tuple)
        and len(index) == 2
        and index[0] == slice(None)
        and isinstance(index[1], int)
        and rank == 3
    ):
        step = index[1]
        which = {0: "first", -1: "last"}.get(step, "index")
        params = {"which": which} if which != "index" else {"which": "index", "index": step}
        if which == "index" and step < 0:
            raise Unmapped(f"selects step {step} from the end")
        return c.layer("select_step", params, ref)
    raise Unmapped(f"indexes a tensor with {index!r}")


def unsqueeze(c: Call) -> Unsqueezed:
    """``unsqueeze``: held back until a ``repeat`` makes it a RepeatVector."""
    rank = len(c.out_shape)
    dim = c.get(1, "dim") % rank
    return Unsqueezed(c.tensor(), dim, c.out_shape)


def repeat(c: Call) -> TensorRef:
    """``x.unsqueeze(1).repeat(1, n, 1)``: a RepeatVector."""
    base = c.args[0]
    sizes = dims_args(c)
    vector = isinstance(base, Unsqueezed) and base.dim == 1 and len(base.shape) == 3
    if vector and len(sizes) == 3 and sizes[0] == 1 and sizes[2] == 1:
        return c.layer("repeat_vector", {"times": sizes[1]}, base.ref)
    raise Unmapped("repeats a tensor other than RepeatVector's x.unsqueeze(1).repeat(1, n, 1)")

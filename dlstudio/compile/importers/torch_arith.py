"""Arithmetic, reductions and channel slicing as real vision models write them -> catalogue
layers: a parameter operand (LayerScale's ``gamma * x``) becomes a Parameter node under its own
``state_dict`` key, a number a ConstantOp, ``x.sum(1)`` a Reduce, ``x.chunk(2, 1)`` a Split and
``x[:, :c]`` a Slice. Two tensors keep the layers of :mod:`.torch_functions`."""

from __future__ import annotations

import operator
import string
from dataclasses import dataclass
from typing import Any

import torch

from dlstudio.compile.importers.builder import TensorRef
from dlstudio.compile.importers.call import Call
from dlstudio.compile.importers.values import Param, Tup, Unmapped, Unsqueezed

_TENSOR = (TensorRef, Unsqueezed)
_BINARY = {"add": "+", "multiply": "*", "subtract": "-", "divide": "/"}


@dataclass(frozen=True)
class ViewedParam:
    """A parameter read in another shape (``gamma.view(1, -1, 1, 1)``)."""

    param: Param
    view: tuple[int, ...]


def parameter(c: Call, value: Param | ViewedParam) -> TensorRef:
    """A Parameter node holding the parameter, named by its attribute in its own module (one
    node for each shape it is read in), so its key is the source's."""
    param, view = (value.param, value.view) if isinstance(value, ViewedParam) else (value, None)
    made: dict = c.builder.__dict__.setdefault("parameters", {})
    if (param.path, view) in made:
        return made[(param.path, view)]
    tensor = param.tensor.detach()
    used = view or tuple(tensor.shape)
    out_rank = len(c.out_shape)
    if not used or len(used) > out_rank:
        raise Unmapped(f"uses the parameter {param.path} in shape {used}")
    if len(used) == out_rank and used[0] != 1:
        raise Unmapped(f"the parameter {param.path} spans the batch dimension")
    *scope, local = param.path.split(".")
    params: dict[str, Any] = {"shape": tuple(tensor.shape)}
    if view is not None and view != tuple(tensor.shape):
        params["view"] = view
    node = c.builder.add(
        "parameter", local, params, weights={"": tensor}, scope=tuple(scope), local=local
    )
    made[(param.path, view)] = TensorRef(node)
    return made[(param.path, view)]


def reshape(fallback: Any):
    """``param.view(shape)`` / ``param.reshape(shape)``: a :class:`ViewedParam`; tensors go to
    ``fallback``."""

    def mapper(c: Call) -> Any:
        base = c.get(0, "input")
        if isinstance(base, Param) and isinstance(c.out, torch.Tensor):
            return ViewedParam(base, tuple(c.out.shape))
        return fallback(c)

    return mapper


def binary(type_id: str, fallback: Any = None, swapped: bool = False):
    """``a op b`` where either side may be a parameter or a number; two tensors go to
    ``fallback`` when given (it knows the patterns of add and multiply)."""
    symbol = _BINARY[type_id]

    def mapper(c: Call) -> Any:
        a, b = c.get(0, "input"), c.get(1, "other")
        if swapped:
            a, b = b, a
        if c.kwargs.get("alpha", 1) != 1:
            raise Unmapped("alpha is not 1")
        numbers = (int, float)
        if isinstance(a, _TENSOR) and isinstance(b, numbers) and not isinstance(b, bool):
            return _constant(c, f"x {symbol} c", a, b)
        if isinstance(b, _TENSOR) and isinstance(a, numbers) and not isinstance(a, bool):
            op = f"c {symbol} x" if symbol in "-/" else f"x {symbol} c"
            return _constant(c, op, b, a)
        params = (isinstance(a, _PARAMS) and isinstance(b, _TENSOR)) or (
            isinstance(b, _PARAMS) and isinstance(a, _TENSOR)
        )
        if fallback is not None:
            try:
                return fallback(c)  # two tensors, or a pattern it knows (a position table)
            except Unmapped:
                if not params:
                    raise
        if not isinstance(a, (*_TENSOR, *_PARAMS)) or not isinstance(b, (*_TENSOR, *_PARAMS)):
            raise Unmapped(f"computes {type(a).__name__} {symbol} {type(b).__name__}")
        left, right = (_operand(c, v) for v in (a, b))
        extra = {"inputs": 2} if type_id in ("add", "multiply") else {}
        return c.layer(type_id, extra, ("in1", left), ("in2", right))

    return mapper


_PARAMS = (Param, ViewedParam)


def _operand(c: Call, value: Any) -> TensorRef:
    return parameter(c, value) if isinstance(value, _PARAMS) else c.as_ref(value)


def _constant(c: Call, op: str, x: Any, value: float) -> TensorRef:
    return c.layer("constant_op", {"op": op, "value": float(value)}, c.as_ref(x))


def reduce(op: str):
    """``x.sum(dims)`` and the like: a Reduce over dimensions other than the batch."""

    def mapper(c: Call) -> TensorRef:
        rank = len(c.in_shape())
        dim = c.get(1, "dim")
        if dim is None:
            raise Unmapped("reduces every dimension, the batch included")
        dims = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
        dims = tuple(sorted(c.dim(d, rank) for d in dims))
        keepdim = bool(c.get(2, "keepdim", False))
        return c.layer("reduce", {"op": op, "dims": dims, "keepdim": keepdim}, c.tensor())

    return mapper


def chunk(c: Call) -> Tup:
    """``x.chunk(n, dim)``: a Split into torch.chunk's pieces."""
    rank = len(c.in_shape())
    dim = c.dim(c.get(2, "dim", 0), rank)
    pieces = [tuple(o.shape)[dim] for o in c.out] if isinstance(c.out, (tuple, list)) else []
    if len(pieces) < 2:
        return Tup((c.tensor(),))
    params = {"outputs": len(pieces), "dim": dim, "sizes": tuple(pieces)}
    node = c.layer("split", params, c.tensor())
    return Tup(tuple(TensorRef(node.node_id, f"out{i}") for i in range(1, len(pieces) + 1)))


@dataclass(frozen=True)
class BatchMoved:
    """``x.permute(dims)`` with the batch moved off the front (timm's attention puts q, k, v
    first: ``qkv.reshape(B, N, 3, H, d).permute(2, 0, 3, 1, 4)``), awaiting the
    ``unbind(0)`` that brings it back."""

    ref: TensorRef
    dims: tuple[int, ...]
    shape: tuple[int, ...]


def permute(fallback: Any):
    """``x.permute(dims)``: ``fallback``'s layer, or a :class:`BatchMoved` when the batch
    moves to the second place."""

    def mapper(c: Call) -> Any:
        try:
            return fallback(c)
        except Unmapped:
            rank = len(c.in_shape())
            args = c.args[1:]
            items = (
                tuple(args[0]) if len(args) == 1 and isinstance(args[0], (list, tuple)) else args
            )
            dims = tuple(d % rank for d in (items or c.kwargs.get("dims", ())))
            if len(dims) != rank or len(dims) < 2 or dims[1] != 0:
                raise
            return BatchMoved(c.tensor(), dims, c.in_shape())

    return mapper


def unbind(c: Call) -> Tup:
    """``x.unbind(dim)``: a Split into pieces of one, each squeezed."""
    base = c.get(0, "input")
    if isinstance(base, BatchMoved):
        return _unbind_moved(c, base)
    shape = c.in_shape()
    dim = c.dim(c.get(1, "dim", 0), len(shape))
    count = shape[dim]
    if not 2 <= count <= 64:
        raise Unmapped(f"unbinds {count} pieces")
    params = {"outputs": count, "dim": dim, "sizes": (1,) * count}
    node = c.layer("split", params, c.tensor())
    items = []
    for i in range(1, count + 1):
        squeezed = c.builder.add(
            "squeeze",
            f"{c.name}_{i}",
            {"dim": dim},
            [("in", TensorRef(node.node_id, f"out{i}"))],
            scope=c.scope,
            local=f"{c.local}_{i}",
        )
        items.append(TensorRef(squeezed))
    return Tup(tuple(items))


def _unbind_moved(c: Call, moved: BatchMoved) -> Tup:
    """``x.permute(a, 0, ...).unbind(0)``: split ``x`` along ``a``, squeeze it, and permute
    the rest (the batch first again)."""
    if c.get(1, "dim", 0) != 0:
        raise Unmapped("unbinds a permuted tensor along another dimension than the first")
    axis = moved.dims[0]
    rest = tuple(d - (d > axis) for d in moved.dims[1:])
    count = moved.shape[axis]
    if not 2 <= count <= 64:
        raise Unmapped(f"unbinds {count} pieces")
    split = c.builder.add(
        "split",
        f"{c.name}_split",
        {"outputs": count, "dim": axis, "sizes": (1,) * count},
        [("in", moved.ref)],
        scope=c.scope,
        local=f"{c.local}_split",
    )
    items = []
    for i in range(1, count + 1):
        ref = TensorRef(split, f"out{i}")
        for type_id, params in (("squeeze", {"dim": axis}), ("permute", {"dims": rest})):
            if type_id == "permute" and rest == tuple(range(len(rest))):
                continue
            node = c.builder.add(
                type_id,
                f"{c.name}_{type_id}{i}",
                params,
                [("in", ref)],
                scope=c.scope,
                local=f"{c.local}_{type_id}{i}",
            )
            ref = TensorRef(node)
        items.append(ref)
    return Tup(tuple(items))


def getitem(fallback: Any):
    """``x[:, a:b]`` (one sliced dimension after the batch) as a Slice; the rest to
    ``fallback``."""

    def mapper(c: Call) -> Any:
        base, index = c.args[0], c.args[1]
        if not isinstance(base, _TENSOR) or not isinstance(index, tuple):
            return fallback(c)
        rank = len(c.in_shape())
        cut = [i for i, item in enumerate(index) if item != slice(None)]
        if (
            len(cut) != 1
            or cut[0] == 0
            or len(index) > rank
            or not isinstance(index[cut[0]], slice)
            or any(v is not None and not isinstance(v, int) for v in _parts(index[cut[0]]))
        ):
            return fallback(c)
        item: slice = index[cut[0]]
        params: dict[str, Any] = {"dim": cut[0], "start": item.start or 0, "step": item.step or 1}
        if item.stop is not None and item.stop < 2**62:
            params["end"] = item.stop
        return c.layer("slice", params, c.as_ref(base))

    return mapper


def _parts(item: slice) -> tuple[Any, Any, Any]:
    return item.start, item.stop, item.step


def einsum(c: Call) -> TensorRef:
    """``torch.einsum(equation, a, b)``: an Einsum, the equation in lower-case letters
    (torchvision's MaxViT writes ``"B G H I D, B G H J D -> B G H I J"``)."""
    equation, *operands = c.args
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = list(operands[0])
    if not isinstance(equation, str) or len(operands) != 2 or "." in equation:
        raise Unmapped("only equations of two operands without ... are imported")
    text = equation.replace(" ", "")
    letters = sorted({ch for ch in text if ch.isalpha()})
    mapping = {ch: ch for ch in letters if ch.islower()}
    spare = iter(ch for ch in string.ascii_lowercase if ch not in mapping)
    for ch in letters:
        if ch not in mapping:
            mapping[ch] = next(spare, ch)
    lowered = "".join(mapping.get(ch, ch) for ch in text)
    wires = [(f"in{i}", c.as_ref(v)) for i, v in enumerate(operands, start=1)]
    return c.layer("einsum", {"equation": lowered}, *wires)


@dataclass(frozen=True)
class BatchFolded:
    """``x.flatten(0, 1)`` of a sequence (N, T, C): the batch merged with the steps, awaiting
    a BatchNorm1d over C and the ``reshape_as(x)`` that unfolds it (timm's LeViT)."""

    ref: TensorRef
    shape: tuple[int, ...]


def flatten(fallback: Any):
    """``x.flatten(0, 1)`` of a 3-D tensor: a :class:`BatchFolded`; the rest to ``fallback``."""

    def mapper(c: Call) -> Any:
        start, end = c.get(1, "start_dim", 0), c.get(2, "end_dim", -1)
        shape = c.in_shape()
        if start == 0 and end % len(shape) == 1 and len(shape) == 3:
            return BatchFolded(c.tensor(), shape)
        return fallback(c)

    return mapper


def folded_batchnorm(c: Call, folded: BatchFolded, add_layer: Any) -> BatchFolded:
    """BatchNorm1d on (N * T, C): BatchNorm1d over C of (N, C, T), between two Permutes;
    ``add_layer(ref)`` adds the BatchNorm1d and returns its output."""
    ref = folded.ref
    for step, local in enumerate(("in", "out")):
        if step == 1:
            ref = add_layer(ref)
        node = c.builder.add(
            "permute",
            f"{c.name}_{local}",
            {"dims": (0, 2, 1)},
            [("in", ref)],
            scope=c.scope,
            local=f"{c.local}_{local}",
        )
        ref = TensorRef(node)
    return BatchFolded(ref, folded.shape)


def reshape_as(c: Call) -> Any:
    """``y.reshape_as(x)``: unfolds a :class:`BatchFolded` of x's shape; a tensor of the same
    shape stays itself."""
    base = c.get(0, "input")
    if isinstance(base, BatchFolded) and tuple(c.out_shape) == base.shape:
        return base.ref
    if isinstance(base, _TENSOR) and tuple(c.out_shape) == c.in_shape():
        return c.as_ref(base)
    raise Unmapped("reshapes to another tensor's shape")


def matmul(c: Call) -> TensorRef:
    """``a @ b`` of two tensors: a MatMul."""
    a, b = c.get(0, "input"), c.get(1, "other")
    return c.layer("matmul", {}, ("in1", c.as_ref(a)), ("in2", c.as_ref(b)))


FUNCTIONS: dict[Any, Any] = {
    operator.sub: binary("subtract"),
    torch.sub: binary("subtract"),
    operator.truediv: binary("divide"),
    torch.div: binary("divide"),
    torch.sum: reduce("sum"),
    torch.amax: reduce("max"),
    torch.chunk: chunk,
    torch.unbind: unbind,
    torch.einsum: einsum,
    torch.matmul: matmul,
    operator.matmul: matmul,
}
"""Mappers by torch function; :mod:`.torch_functions` adds them to its table and wraps its
own add, multiply and indexing with :func:`binary` and :func:`getitem`."""

"""Arithmetic, reductions and channel slicing as real vision models write them -> catalogue
layers: a parameter operand (LayerScale's ``gamma * x``) becomes a Parameter node under its own
``state_dict`` key, a number a ConstantOp, ``x.sum(1)`` a Reduce, ``x.chunk(2, 1)`` a Split and
``x[:, :c]`` a Slice. Two tensors keep the layers of :mod:`.torch_functions`."""

from __future__ import annotations

import operator
from typing import Any

import torch

from dlstudio.compile.importers.builder import TensorRef
from dlstudio.compile.importers.call import Call
from dlstudio.compile.importers.values import Param, Tup, Unmapped, Unsqueezed

_TENSOR = (TensorRef, Unsqueezed)
_BINARY = {"add": "+", "multiply": "*", "subtract": "-", "divide": "/"}


def parameter(c: Call, param: Param) -> TensorRef:
    """A Parameter node holding ``param``, named by its attribute in its own module (one node
    however often it is read), so its key is the source's."""
    made: dict[str, TensorRef] = c.builder.__dict__.setdefault("parameters", {})
    if param.path in made:
        return made[param.path]
    tensor = param.tensor.detach()
    out_rank = len(c.out_shape)
    if tensor.dim() == 0 or tensor.dim() > out_rank:
        raise Unmapped(f"uses the parameter {param.path} of shape {tuple(tensor.shape)}")
    if tensor.dim() == out_rank and tensor.shape[0] != 1:
        raise Unmapped(f"the parameter {param.path} spans the batch dimension")
    *scope, local = param.path.split(".")
    node = c.builder.add(
        "parameter",
        local,
        {"shape": tuple(tensor.shape)},
        weights={"": tensor},
        scope=tuple(scope),
        local=local,
    )
    made[param.path] = TensorRef(node)
    return made[param.path]


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
        params = (isinstance(a, Param) and isinstance(b, _TENSOR)) or (
            isinstance(b, Param) and isinstance(a, _TENSOR)
        )
        if fallback is not None:
            try:
                return fallback(c)  # two tensors, or a pattern it knows (a position table)
            except Unmapped:
                if not params:
                    raise
        if not isinstance(a, (*_TENSOR, Param)) or not isinstance(b, (*_TENSOR, Param)):
            raise Unmapped(f"computes {type(a).__name__} {symbol} {type(b).__name__}")
        left, right = (_operand(c, v) for v in (a, b))
        extra = {"inputs": 2} if type_id in ("add", "multiply") else {}
        return c.layer(type_id, extra, ("in1", left), ("in2", right))

    return mapper


def _operand(c: Call, value: Any) -> TensorRef:
    return parameter(c, value) if isinstance(value, Param) else c.as_ref(value)


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


def unbind(c: Call) -> Tup:
    """``x.unbind(dim)``: a Split into pieces of one, each squeezed."""
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


FUNCTIONS: dict[Any, Any] = {
    operator.sub: binary("subtract"),
    torch.sub: binary("subtract"),
    operator.truediv: binary("divide"),
    torch.div: binary("divide"),
    torch.sum: reduce("sum"),
    torch.amax: reduce("max"),
    torch.chunk: chunk,
    torch.unbind: unbind,
}
"""Mappers by torch function; :mod:`.torch_functions` adds them to its table and wraps its
own add, multiply and indexing with :func:`binary` and :func:`getitem`."""

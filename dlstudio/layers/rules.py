"""Helpers shared by shape rules: symbolic arithmetic on sizes and the common input checks."""

from __future__ import annotations

from collections.abc import Sequence
from math import prod

from dlstudio.core.tensor_spec import Dim, TensorSpec
from dlstudio.layers.spec import Fix, ShapeContext, ShapeError, shape_text


def add_dim(dim: Dim, offset: int) -> Dim:
    """``dim + offset``, staying readable for symbols (``T-2``)."""
    if offset == 0:
        return dim
    if isinstance(dim, int):
        return dim + offset
    sign = "+" if offset > 0 else "-"
    return f"{_wrap(dim)}{sign}{abs(offset)}"


def mul_dims(dims: list[Dim] | tuple[Dim, ...]) -> Dim:
    """The product of sizes; symbolic factors give an expression such as ``16*T``."""
    static = prod(d for d in dims if isinstance(d, int))
    symbols = [_wrap(d) for d in dims if not isinstance(d, int)]
    if not symbols:
        return static
    return "*".join(([str(static)] if static != 1 else []) + symbols)


def add_dims(dims: list[Dim] | tuple[Dim, ...]) -> Dim:
    """The sum of sizes (Concat along an axis)."""
    static = sum(d for d in dims if isinstance(d, int))
    symbols = [_wrap(d) for d in dims if not isinstance(d, int)]
    if not symbols:
        return static
    return "+".join(symbols + ([str(static)] if static else []))


def _wrap(dim: Dim) -> str:
    text = str(dim)
    return text if text.isidentifier() or text.isdigit() else f"({text})"


def window_out(dim: Dim, kernel: int, stride: int, padding: int, dilation: int = 1) -> Dim:
    """Output length of a convolution or pooling window (PyTorch's floor formula)."""
    span = dilation * (kernel - 1) + 1
    if isinstance(dim, int):
        return (dim + 2 * padding - span) // stride + 1
    if stride == 1:
        return add_dim(dim, 2 * padding - span + 1)
    return f"{_wrap(add_dim(dim, 2 * padding - span))}//{stride}+1"


def window_out_ceil(dim: Dim, kernel: int, stride: int, padding: int, dilation: int = 1) -> Dim:
    """Output length of a pooling window with ``ceil_mode`` (PyTorch's rule: round up, but
    the last window must start inside the input or its left padding). None for a symbolic
    length where that last condition depends on the length."""
    span = dilation * (kernel - 1) + 1
    if isinstance(dim, int):
        out = -(-(dim + 2 * padding - span) // stride) + 1
        if (out - 1) * stride >= dim + padding:
            out -= 1
        return out
    if padding or span < stride:
        return None  # type: ignore[return-value]
    if stride == 1:
        return add_dim(dim, 1 - span)
    return f"{_wrap(add_dim(dim, stride - 1 - span))}//{stride}+1"


def is_float(ctx: ShapeContext, port: str = "in") -> TensorSpec:
    """The input on ``port``, which must carry floating-point values."""
    spec = ctx.input(port)
    if not spec.is_float:
        raise ShapeError(
            f"needs floating-point values but gets {spec.dtype} {shape_text(spec)} "
            f"(token ids): insert an Embedding before {ctx.name}",
            (Fix.insert(f"insert Embedding before {ctx.name}", "embedding", port),),
            port,
        )
    return spec


def static_size(ctx: ShapeContext, dim: Dim, what: str) -> int:
    """A size that must be a concrete number for weights to be created."""
    if not isinstance(dim, int):
        raise ShapeError(
            f"needs a fixed {what} to size its weights, but it is {dim!r}; "
            "give the Input a fixed size there"
        )
    return dim


def reshape_fix(ctx: ShapeContext, spec: TensorSpec, port: str = "in") -> tuple[Fix, ...]:
    """For image layers fed flat vectors: propose a reshape to a square single-channel image."""
    if spec.rank == 2 and isinstance(spec.shape[1], int):
        side = round(spec.shape[1] ** 0.5)
        if side * side == spec.shape[1]:
            return (
                Fix.insert(
                    f"insert Reshape to (1, {side}, {side}) before {ctx.name}",
                    "reshape",
                    port,
                    shape=(1, side, side),
                ),
            )
    if spec.rank == 3:
        return (
            Fix.insert(
                f"insert Reshape to add a channel before {ctx.name}",
                "reshape",
                port,
                shape=(1, *spec.shape[1:]),
            ),
        )
    return ()


def pair_text(values: Sequence[object]) -> str:
    """``5x5`` for a kernel or stride."""
    return "x".join(str(v) for v in values)


def broadcast_shape(
    ctx: ShapeContext, items: list[tuple[str, TensorSpec]], fixes: tuple[Fix, ...] = ()
) -> tuple[Dim, ...]:
    """The shape that NumPy's (and torch's) broadcasting gives ``items`` (port, spec): shapes
    are aligned on their last dimension, and at each position the sizes must agree or be 1.

    A symbol broadcasts against 1 and against itself; a symbol beside a different size cannot
    be proved equal, so it is refused like two different numbers."""
    first = items[0][1].shape
    if all(spec.shape == first for _, spec in items):  # a residual add: nothing to broadcast
        return tuple(first)
    rank = max(spec.rank for _, spec in items)
    result: list[Dim] = []
    for axis in range(rank):
        sizes = [
            (port, spec.shape[axis - rank + spec.rank])
            for port, spec in items
            if axis - rank + spec.rank >= 0
        ]
        distinct = {size for _, size in sizes if size != 1}
        if len(distinct) > 1:
            clash = ", ".join(f"{port} has {size}" for port, size in sizes)
            clash = " and ".join(clash.rsplit(", ", 1))
            shapes = " with ".join(f"{port} {shape_text(spec)}" for port, spec in items)
            raise ctx.fail(
                f"cannot broadcast {shapes}: sizes must be equal or 1 at each position, but at "
                f"axis {axis} {clash}",
                *fixes,
                port=items[-1][0],
            )
        result.append(distinct.pop() if distinct else 1)
    return tuple(result)


def same_dtype(ctx: ShapeContext, items: list[tuple[str, TensorSpec]]) -> str:
    """The one dtype of ``items``; an error naming each port's dtype when they differ."""
    first_port, first = items[0]
    for port, spec in items[1:]:
        if spec.dtype != first.dtype:
            raise ctx.fail(
                f"needs inputs of one dtype, but {first_port} is {first.dtype} and "
                f"{port} is {spec.dtype}",
                Fix.insert(
                    f"insert a Cast to {first.dtype} on {port}", "cast", port, dtype=first.dtype
                ),
                port=port,
            )
    return first.dtype

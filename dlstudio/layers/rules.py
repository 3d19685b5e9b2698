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

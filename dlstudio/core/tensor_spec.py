"""Tensor specifications: a shape of ints and symbols (``"N"`` batch, ``"T"`` time) plus a dtype."""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

from dlstudio.core.source import parse_expression

Dim = int | str
"""One dimension: a concrete size, or a symbol such as ``"N"`` or an expression like ``"T-2"``."""

DTYPE_SIZES = {
    "float32": 4,
    "float16": 2,
    "bfloat16": 2,
    "float64": 8,
    "int64": 8,
    "int32": 4,
    "int16": 2,
    "int8": 1,
    "uint8": 1,
    "bool": 1,
}


def format_shape(shape: tuple[Dim, ...]) -> str:
    """``(N, 6, 28, 28)``: how shapes are written in every message and label."""
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


@dataclass(frozen=True)
class TensorSpec:
    """The static description of a tensor travelling along a wire."""

    shape: tuple[Dim, ...]
    dtype: str = "float32"
    mask: str | None = None
    """The id of the Input whose padding mask travels with this tensor: its axis 1 is that
    Input's sequence axis, and the steps where the Input holds its padding id are padding.
    None for tensors without padding (or whose time axis is gone)."""

    @property
    def rank(self) -> int:
        """Number of dimensions, batch included."""
        return len(self.shape)

    @property
    def is_float(self) -> bool:
        """True for floating-point tensors (activations), False for token ids and masks."""
        return self.dtype.startswith("float") or self.dtype == "bfloat16"

    def numel(self, bindings: dict[str, int]) -> int | None:
        """Element count with symbols bound (``{"N": 32, "T": 50}``); None if a symbol is unbound."""
        sizes = [bind_dim(d, bindings) for d in self.shape]
        if any(s is None for s in sizes):
            return None
        return prod(sizes)  # type: ignore[arg-type]

    def bytes(self, bindings: dict[str, int]) -> int | None:
        """Memory the tensor takes with symbols bound, or None if a symbol is unbound."""
        n = self.numel(bindings)
        return None if n is None else n * DTYPE_SIZES.get(self.dtype, 4)

    def with_shape(self, shape: tuple[Dim, ...]) -> TensorSpec:
        """The same dtype (and padding mask) with another shape."""
        return TensorSpec(tuple(shape), self.dtype, self.mask)

    def with_mask(self, mask: str | None) -> TensorSpec:
        """The same tensor carrying the padding mask of Input ``mask`` (None: no mask)."""
        return self if mask == self.mask else TensorSpec(self.shape, self.dtype, mask)

    def __str__(self) -> str:
        text = format_shape(self.shape)
        return text if self.dtype == "float32" else f"{text} {self.dtype}"


def bind_dim(dim: Dim, bindings: dict[str, int]) -> int | None:
    """A dimension's size with symbols bound; symbolic expressions are evaluated safely."""
    if isinstance(dim, int):
        return dim
    if dim in bindings:
        return bindings[dim]
    return _eval_dim_expression(dim, bindings)


def _eval_dim_expression(expr: str, bindings: dict[str, int]) -> int | None:
    """Evaluate expressions such as ``(T-3)//2+1`` over bound symbols, without ``eval``."""
    import ast

    try:
        tree = parse_expression(expr)
    except SyntaxError:
        return None

    def walk(node: ast.AST) -> int | None:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.Name):
            return bindings.get(node.id)
        if isinstance(node, ast.BinOp):
            left, right = walk(node.left), walk(node.right)
            if left is None or right is None:
                return None
            if isinstance(node.op, ast.Add):
                return left + right
            if isinstance(node.op, ast.Sub):
                return left - right
            if isinstance(node.op, ast.Mult):
                return left * right
            if isinstance(node.op, ast.FloorDiv) and right != 0:
                return left // right
        return None

    return walk(tree)

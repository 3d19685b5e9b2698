"""Positions and running totals: ArgMax (where the largest or smallest value is), Triangle (the
upper or lower triangle of the last two dimensions), CumSum (running sums) and GatherElements
(values picked by an index tensor)."""

from __future__ import annotations

from math import prod

from dlstudio.core.tensor_spec import TensorSpec
from dlstudio.layers.registry import register
from dlstudio.layers.spec import (
    LayerType,
    ParamSpec,
    PortSpec,
    ShapeContext,
    ShapeResult,
    StatContext,
    shape_text,
)


def _per_value(ctx: StatContext) -> int:
    return prod(ctx.in_shape())


def _dim(ctx: ShapeContext, x: TensorSpec) -> int:
    dim = ctx["dim"]
    if not -x.rank <= dim < x.rank:
        raise ctx.fail(f"has dim={dim}, not a dimension of the {x.rank}-D input {shape_text(x)}")
    dim %= x.rank
    if dim == 0 and x.shape[0] == "N":
        raise ctx.fail(f"works along the batch dimension (0) of {shape_text(x)}: use 1 or more")
    return dim


_DIM = ParamSpec("dim", "int", -1, "The dimension it works along.", minimum=-8, maximum=8)


def _argmax_shape(ctx: ShapeContext) -> ShapeResult:
    x = ctx.input()
    dim = _dim(ctx, x)
    if ctx["keepdim"]:
        shape = tuple(1 if i == dim else d for i, d in enumerate(x.shape))
    else:
        shape = tuple(d for i, d in enumerate(x.shape) if i != dim)
    return ShapeResult({"out": TensorSpec(shape, "int64")})


register(
    LayerType(
        id="argmax",
        label="ArgMax",
        category="Pooling",
        summary="The index of the largest (or smallest) value along a dimension.",
        explanation=(
            "Gives, for every position of the other dimensions, the index (int64) of the "
            "largest value along `dim` (or of the smallest, with op min); the first one when "
            "several are equal (the last with `last`). A classifier's predicted class is the "
            "argmax of its logits."
        ),
        formula="y = argmax over dim of x  (argmin with op min)",
        infer=_argmax_shape,
        count_macs=_per_value,
        params=(
            ParamSpec("op", "choice", "max", "Largest or smallest.", choices=("max", "min")),
            _DIM,
            ParamSpec("keepdim", "bool", False, "Keep the dimension with size 1."),
            ParamSpec("last", "bool", False, "Among equal values, the last index."),
        ),
        name_prefix="argmax",
        key_params=("op", "dim"),
    )
)


def _triangle_shape(ctx: ShapeContext) -> ShapeResult:
    x = ctx.input()
    if x.rank < 2 or (x.rank == 2 and x.shape[0] == "N"):
        raise ctx.fail(f"needs a matrix in its last two dimensions, but gets {shape_text(x)}")
    return ShapeResult({"out": x})


register(
    LayerType(
        id="triangle",
        label="Triangle",
        category="Reshape",
        summary="Keeps the upper or lower triangle of the last two dimensions, zeroes the rest.",
        explanation=(
            "Zeroes the values below (upper) or above (lower) a diagonal of every matrix in "
            "the last two dimensions. diagonal 0 is the main diagonal, 1 the one above it, -1 "
            "the one below: a causal attention mask is the lower triangle of ones."
        ),
        formula="upper: y[i, j] = x[i, j] if j - i >= diagonal else 0  (lower: j - i <= diagonal)",
        infer=_triangle_shape,
        params=(
            ParamSpec("part", "choice", "upper", "The triangle kept.", choices=("upper", "lower")),
            ParamSpec(
                "diagonal", "int", 0, "Which diagonal bounds it.", minimum=-4096, maximum=4096
            ),
        ),
        name_prefix="tri",
        key_params=("part", "diagonal"),
    )
)


def _cumsum_shape(ctx: ShapeContext) -> ShapeResult:
    x = ctx.input()
    _dim(ctx, x)
    if x.dtype == "bool":
        raise ctx.fail(f"sums bool values {shape_text(x)}: Cast them to int64 first")
    return ShapeResult({"out": x})


register(
    LayerType(
        id="cumsum",
        label="CumSum",
        category="Reshape",
        summary="Running sums along a dimension.",
        explanation=(
            "Each value becomes the sum of the values up to it along `dim` (from the end with "
            "reverse; without itself with exclusive, so the first is 0). The positions of the "
            "real tokens of a padded batch are the running sum of its mask."
        ),
        formula="y[i] = x[0] + ... + x[i]  (exclusive: up to i - 1)",
        infer=_cumsum_shape,
        count_macs=_per_value,
        params=(
            _DIM,
            ParamSpec("exclusive", "bool", False, "Leave each value out of its own sum."),
            ParamSpec("reverse", "bool", False, "Sum from the end."),
        ),
        name_prefix="cumsum",
        key_params=("dim",),
    )
)


def _gather_shape(ctx: ShapeContext) -> ShapeResult:
    x, index = ctx.input("in"), ctx.input("index")
    if index.dtype != "int64":
        raise ctx.fail(f"needs int64 indices, but index is {index.dtype} {shape_text(index)}")
    if index.rank != x.rank:
        raise ctx.fail(
            f"needs index {shape_text(index)} of the same rank as in {shape_text(x)}",
            port="index",
        )
    _dim(ctx, x)
    return ShapeResult({"out": TensorSpec(index.shape, x.dtype)})


register(
    LayerType(
        id="gather_elements",
        label="GatherElements",
        category="Reshape",
        summary="Picks values of in at the positions index gives along a dimension.",
        explanation=(
            "For every position of index, takes the value of in at the same position except "
            "along `dim`, where index says which one (torch.gather): the probability of each "
            "example's target class is gather_elements(probabilities, dim=1, index=targets). "
            "The result has index's shape."
        ),
        formula="y[i][j] = x[i][index[i][j]]  (dim 1)",
        infer=_gather_shape,
        inputs=(PortSpec("in", "The values."), PortSpec("index", "Positions along dim (int64).")),
        params=(_DIM,),
        name_prefix="gather",
        key_params=("dim",),
    )
)

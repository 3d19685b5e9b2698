"""Arithmetic between tensors: Subtract, Divide and MatMul (with broadcasting), and the learned
Parameter tensor that such arithmetic often takes as one operand (LayerScale, a class token)."""

from __future__ import annotations

from math import prod

from dlstudio.core.tensor_spec import TensorSpec
from dlstudio.layers.registry import register
from dlstudio.layers.rules import broadcast_shape, same_dtype
from dlstudio.layers.spec import (
    LayerType,
    ParamSpec,
    PortSpec,
    ShapeContext,
    ShapeResult,
    StatContext,
    shape_text,
)

_PAIR = (PortSpec("in1", "The left operand."), PortSpec("in2", "The right operand."))


def _pair(ctx: ShapeContext) -> list[tuple[str, TensorSpec]]:
    return [("in1", ctx.input("in1")), ("in2", ctx.input("in2"))]


def _binary_shape(ctx: ShapeContext) -> ShapeResult:
    items = _pair(ctx)
    shape = broadcast_shape(ctx, items)
    same_dtype(ctx, items)
    return ShapeResult({"out": items[0][1].with_shape(shape)})


def _binary_macs(ctx: StatContext) -> int:
    return prod(ctx.out_shape())


_BROADCAST = (
    "Shapes broadcast as in NumPy: aligned on the last dimension, each size must equal the "
    "other's or be 1 (a missing leading dimension counts as 1), and the 1s are repeated."
)

for _id, _label, _op, _summary, _explanation in (
    (
        "subtract",
        "Subtract",
        "-",
        "Element-wise difference in1 - in2, with broadcasting.",
        "Subtracts in2 from in1 value by value, as in centring (x - mean) or the "
        "(1 - mask) of an attention mask. " + _BROADCAST,
    ),
    (
        "divide",
        "Divide",
        "/",
        "Element-wise quotient in1 / in2, with broadcasting.",
        "Divides in1 by in2 value by value (true division, as torch's `/`), as in normalising by "
        "a norm or a standard deviation. " + _BROADCAST,
    ),
):
    register(
        LayerType(
            id=_id,
            label=_label,
            category="Merge",
            summary=_summary,
            explanation=_explanation,
            formula=f"y = in1 {_op} in2",
            infer=_binary_shape,
            count_macs=_binary_macs,
            inputs=_PAIR,
            name_prefix="sub" if _id == "subtract" else "div",
        )
    )


def _matmul_shape(ctx: ShapeContext) -> ShapeResult:
    a, b = ctx.input("in1"), ctx.input("in2")
    same_dtype(ctx, [("in1", a), ("in2", b)])
    if not a.is_float:
        raise ctx.fail(f"needs floating-point values but in1 is {a.dtype} {shape_text(a)}")
    if a.rank < 1 or b.rank < 1:
        raise ctx.fail("needs inputs with at least one dimension")
    # torch.matmul: a 1-D operand is a vector (a row on the left, a column on the right).
    a_shape = a.shape if a.rank > 1 else (1, *a.shape)
    b_shape = b.shape if b.rank > 1 else (*b.shape, 1)
    inner_a, inner_b = a_shape[-1], b_shape[-2]
    if inner_a != inner_b:
        raise ctx.fail(
            f"multiplies in1 {shape_text(a)} by in2 {shape_text(b)}, so in1's last size "
            f"({inner_a}) must equal in2's {'only' if b.rank == 1 else 'second-to-last'} size "
            f"({inner_b})",
            port="in2",
        )
    batch = broadcast_shape(
        ctx, [("in1", a.with_shape(a_shape[:-2])), ("in2", b.with_shape(b_shape[:-2]))]
    )
    shape = (*batch, *([a_shape[-2]] if a.rank > 1 else []), *([b_shape[-1]] if b.rank > 1 else []))
    return ShapeResult({"out": a.with_shape(shape)}, {"inner": inner_a})


def _matmul_macs(ctx: StatContext) -> int:
    # The concrete inner size: the inferred one may be a length (probabilities @ values).
    return prod(ctx.out_shape()) * ctx.in_shape("in1")[-1]


register(
    LayerType(
        id="matmul",
        label="MatMul",
        category="Merge",
        summary="Matrix product of two tensors, batched and broadcast as torch.matmul.",
        explanation=(
            "Multiplies the matrices held in the last two dimensions of in1 and in2 (in1's last "
            "size must equal in2's second-to-last); the dimensions before them are batch "
            "dimensions and broadcast as in NumPy. A 1-D operand is a vector. Attention scores "
            "are the product of queries and transposed keys, Q K^T."
        ),
        formula="y[..., i, j] = sum_k in1[..., i, k] * in2[..., k, j]",
        infer=_matmul_shape,
        count_macs=_matmul_macs,
        inputs=_PAIR,
        name_prefix="matmul",
        inferred=("inner",),
    )
)


def _parameter_shape(ctx: ShapeContext) -> ShapeResult:
    bad = [d for d in ctx["shape"] if not isinstance(d, int) or d < 1]
    if bad:
        raise ctx.fail(f"needs sizes of at least 1, got {tuple(ctx['shape'])}")
    view = ctx["view"]
    if not view:
        return ShapeResult({"out": TensorSpec(tuple(ctx["shape"]))})
    if any(not isinstance(d, int) or d < 1 for d in view) or prod(view) != prod(ctx["shape"]):
        raise ctx.fail(
            f"view {tuple(view)} must hold the {prod(ctx['shape'])} values of shape "
            f"{tuple(ctx['shape'])}"
        )
    return ShapeResult({"out": TensorSpec(tuple(view))})


register(
    LayerType(
        id="parameter",
        label="Parameter",
        category="Input / Output",
        summary="A learned tensor of a fixed shape (no batch), e.g. LayerScale's (C, 1, 1).",
        explanation=(
            "Holds a tensor of learned values that takes part in the computation like an input "
            "but is trained with the weights: LayerScale's per-channel factor (C, 1, 1) that "
            "Multiply broadcasts over (N, C, H, W), a class token (1, 1, D) or learned position "
            "embeddings (1, T, D) that Add broadcasts over the batch. Its shape has no batch "
            "dimension. It starts at the constant `value`, or normally distributed with standard "
            "deviation `value` when init is normal. `view` reads it in another shape of the "
            "same values: timm keeps LayerScale's factor as (C,) and multiplies by its view "
            "(1, C, 1, 1)."
        ),
        formula="y = theta  (a learned tensor of the given shape; theta.view(view) with a view)",
        infer=_parameter_shape,
        count_params=lambda ctx: prod(ctx["shape"]),
        inputs=(),
        params=(
            ParamSpec("shape", "dims", (8, 1, 1), "Sizes of the tensor (no batch dimension)."),
            ParamSpec(
                "init",
                "choice",
                "constant",
                "How the values start: all equal to value, or random normal with std value.",
                choices=("constant", "normal"),
            ),
            ParamSpec(
                "value",
                "float",
                1.0,
                "The starting value (constant) or standard deviation (normal).",
                minimum=-1e6,
                maximum=1e6,
            ),
            ParamSpec(
                "view",
                "dims",
                None,
                "The shape it is used in (same values, e.g. (1, C, 1, 1)); empty: its own.",
                optional=True,
            ),
        ),
        name_prefix="param",
        key_params=("shape",),
    )
)

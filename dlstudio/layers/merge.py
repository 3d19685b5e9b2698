"""Merging several tensors: Add, Multiply, Concat."""

from __future__ import annotations

from math import prod

from dlstudio.core.tensor_spec import TensorSpec
from dlstudio.layers.registry import register
from dlstudio.layers.rules import add_dims, broadcast_shape, same_dtype
from dlstudio.layers.spec import (
    MAX_PORTS,
    Fix,
    LayerType,
    ParamSpec,
    ShapeContext,
    ShapeResult,
    StatContext,
    shape_text,
)

_INPUTS = ParamSpec("inputs", "int", 2, "Number of input ports.", minimum=2, maximum=MAX_PORTS)


def _ordered_inputs(ctx: ShapeContext) -> list[tuple[str, TensorSpec]]:
    return sorted(ctx.inputs.items(), key=lambda kv: int(kv[0][2:]))


def _projection(want: TensorSpec, got: TensorSpec, port: str) -> tuple[Fix, ...]:
    """A learned projection that gives ``got`` the shape ``want`` (a residual's shortcut):
    Dense on the features, or a 1x1 convolution (with a stride) on channels and size."""
    a, b = want.shape, got.shape
    if len(a) != len(b) or len(a) < 2 or a[0] != b[0]:
        return ()
    if len(a) in (2, 3) and a[:-1] == b[:-1] and isinstance(a[-1], int):
        units = a[-1]
        return (
            Fix.insert(
                f"insert Dense({units}) on {port} to project it", "dense", port, units=units
            ),
        )
    if len(a) == 4 and all(isinstance(d, int) for d in (*a[1:], *b[1:])):
        a2, b2 = int(a[2]), int(b[2])
        stride = b2 // a2 if a2 and b2 % a2 == 0 else 0
        if stride and b[3] == a[3] * stride:
            label = f"insert Conv2d({a[1]}, 1x1" + (f", stride {stride}" if stride > 1 else "")
            return (
                Fix.insert(
                    label + f") on {port} to project it",
                    "conv2d",
                    port,
                    out_channels=a[1],
                    kernel_size=1,
                    stride=stride,
                ),
            )
    return ()


def _elementwise_shape(ctx: ShapeContext) -> ShapeResult:
    items = _ordered_inputs(ctx)
    first = items[0][1]
    fixes: tuple[Fix, ...] = ()
    for port, spec in items[1:]:
        if spec.rank == first.rank and spec.shape != first.shape:
            fixes = _projection(first, spec, port)
            break
    shape = broadcast_shape(ctx, items, fixes)
    same_dtype(ctx, items)
    return ShapeResult({"out": first.with_shape(shape)})


def _elementwise_macs(ctx: StatContext) -> int:
    return prod(ctx.out_shape()[1:]) * (len(ctx.inputs) - 1)


for _id, _label, _summary, _formula, _explanation in (
    (
        "add",
        "Add",
        "Element-wise sum with broadcasting: the skip connection of ResNet.",
        "y = x1 + x2 + ...",
        "Adds tensors value by value. A residual (skip) connection adds a block's input to its "
        "output, so the block only learns a correction and gradients flow straight back through "
        "the sum: what makes 100-layer ResNets trainable. Shapes broadcast as in NumPy: aligned "
        "on the last dimension, a size of 1 (or a missing leading dimension) is repeated to "
        "match, so a (C, 1, 1) Parameter adds one bias per channel.",
    ),
    (
        "multiply",
        "Multiply",
        "Element-wise product with broadcasting (gating, squeeze-and-excitation).",
        "y = x1 * x2 * ...",
        "Multiplies tensors value by value; used for gating, as in GLU layers and attention-"
        "style weighting. Shapes broadcast as in NumPy (aligned on the last dimension, sizes "
        "equal or 1): squeeze-and-excitation multiplies (N, C, H, W) feature maps by (N, C, 1, "
        "1) channel weights, and LayerScale multiplies by a learned (C, 1, 1) Parameter.",
    ),
):
    register(
        LayerType(
            id=_id,
            label=_label,
            category="Merge",
            summary=_summary,
            explanation=_explanation,
            formula=_formula,
            infer=_elementwise_shape,
            count_macs=_elementwise_macs,
            params=(_INPUTS,),
            name_prefix=_id,
            variadic_inputs="inputs",
            inputs=(),
        )
    )


def _concat_shape(ctx: ShapeContext) -> ShapeResult:
    items = _ordered_inputs(ctx)
    first_port, first = items[0]
    axis = ctx["axis"]
    # Axis 0 is the batch, unless the tensors have none (a model without a batch axis).
    batched = first.rank > 0 and first.shape[0] == "N"
    if not -first.rank <= axis < first.rank or (axis % first.rank == 0 and batched):
        raise ctx.fail(
            f"has axis={axis}, which must be a non-batch dimension of the "
            f"{first.rank}-D input {shape_text(first)}"
        )
    axis %= first.rank
    for port, spec in items[1:]:
        same_rank = spec.rank == first.rank
        others_match = same_rank and all(
            a == b
            for i, (a, b) in enumerate(zip(spec.shape, first.shape, strict=True))
            if i != axis
        )
        if not others_match:
            raise ctx.fail(
                f"joins along axis {axis}, so all other sizes must match, but {first_port} is "
                f"{shape_text(first)} and {port} is {shape_text(spec)}",
                port=port,
            )
    joined = add_dims([spec.shape[axis] for _, spec in items])
    shape = list(first.shape)
    shape[axis] = joined
    return ShapeResult({"out": first.with_shape(tuple(shape))})


register(
    LayerType(
        id="concat",
        label="Concat",
        category="Merge",
        summary="Joins tensors along an axis (channels by default), as in DenseNet and U-Net.",
        explanation=(
            "Stacks its inputs side by side along `axis`; all other sizes must match. Joining "
            "feature maps along the channel axis (1) keeps every input's features for the next "
            "layer, as in Inception, DenseNet and U-Net skip connections."
        ),
        formula="y = cat([x1, x2, ...], dim=axis)",
        infer=_concat_shape,
        params=(
            _INPUTS,
            ParamSpec(
                "axis",
                "int",
                1,
                "Dimension to join along (1 = channels or features; -1 = last).",
                minimum=-8,
                maximum=8,
            ),
        ),
        name_prefix="concat",
        variadic_inputs="inputs",
        inputs=(),
        key_params=("axis",),
    )
)

"""Pooling: max and average windows, adaptive and global average pooling."""

from __future__ import annotations

from math import prod

from dlstudio.layers.registry import register
from dlstudio.layers.rules import is_float, pair_text, reshape_fix, window_out, window_out_ceil
from dlstudio.layers.spec import (
    LayerType,
    ParamSpec,
    ShapeContext,
    ShapeResult,
    StatContext,
    shape_text,
)

_LAYOUT = {1: "(N, C, L)", 2: "(N, C, H, W)"}


def _pool_params(spatial: int, kind: str) -> tuple[ParamSpec, ...]:
    common = (
        ParamSpec("kernel_size", "size", 2, "Window size.", length=spatial, maximum=1024),
        ParamSpec(
            "stride",
            "size",
            None,
            "Step between windows; empty means the kernel size.",
            length=spatial,
            maximum=1024,
            optional=True,
        ),
        ParamSpec(
            "padding",
            "size",
            0,
            "Padding on each side (at most half the kernel; use a Pad layer for more).",
            length=spatial,
            minimum=0,
            maximum=512,
        ),
        ParamSpec(
            "ceil_mode",
            "bool",
            False,
            "Round the output size up: a last, partial window at the end is kept.",
        ),
    )
    if kind == "max":
        return (
            *common,
            ParamSpec(
                "dilation",
                "size",
                1,
                "Spacing between the window's elements.",
                length=spatial,
                maximum=1024,
            ),
        )
    return (
        *common,
        ParamSpec(
            "count_include_pad",
            "bool",
            True,
            "Count the zero padding in each window's average (torch's default).",
        ),
    )


def _pool_shape(spatial: int):
    def rule(ctx: ShapeContext) -> ShapeResult:
        x = is_float(ctx)
        if x.rank != spatial + 2:
            raise ctx.fail(
                f"needs a {spatial + 2}-D input {_LAYOUT[spatial]} but gets {shape_text(x)}",
                *(reshape_fix(ctx, x) if spatial == 2 else ()),
            )
        kernel, padding = ctx["kernel_size"], ctx["padding"]
        stride = ctx["stride"] or kernel
        dilation = ctx.params.get("dilation") or (1,) * spatial
        dims = []
        for i, size in enumerate(x.shape[2:]):
            if padding[i] * 2 > kernel[i]:
                raise ctx.fail(
                    f"padding {padding[i]} must be at most half the kernel ({kernel[i]}): "
                    "put a Pad layer before it for more"
                )
            args = (size, kernel[i], stride[i], padding[i], dilation[i])
            out = window_out_ceil(*args) if ctx["ceil_mode"] else window_out(*args)
            if out is None:
                raise ctx.fail(
                    f"rounds up (ceil_mode) over dimension {i + 2} of {shape_text(x)}, whose "
                    "size is not fixed; with a free size it needs padding 0 and a kernel at "
                    "least the stride"
                )
            if isinstance(out, int) and out < 1:
                raise ctx.fail(
                    f"window {pair_text(kernel)} is larger than the input "
                    f"{shape_text(x)}: use a smaller kernel"
                )
            dims.append(out)
        return ShapeResult({"out": x.with_shape((*x.shape[:2], *dims))})

    return rule


def _pool_macs(ctx: StatContext) -> int:
    # Not multiply-accumulates strictly, but the window reads; reported so pooling is not "free".
    return prod(ctx.out_shape()[1:]) * prod(ctx["kernel_size"])


def _register_pool(kind: str, spatial: int) -> None:
    is_max = kind == "max"
    what = "maximum" if is_max else "average"
    register(
        LayerType(
            id=f"{kind}pool{spatial}d",
            label=f"{'Max' if is_max else 'Avg'}Pool{spatial}d",
            category="Pooling",
            summary=f"Keeps the {what} of each window: shrinks the feature map, no weights.",
            explanation=(
                f"Slides a window over each channel and keeps the {what} value. With the default "
                "stride (= kernel) a 2x2 window halves height and width, reducing computation and "
                "making features tolerant to small shifts. Has no learnable parameters."
            ),
            formula=f"y = {'max' if is_max else 'mean'} over each kernel window of x",
            infer=_pool_shape(spatial),
            count_macs=_pool_macs,
            params=_pool_params(spatial, kind),
            name_prefix="pool",
            key_params=("kernel_size", "stride"),
        )
    )


for _kind in ("max", "avg"):
    for _spatial in (1, 2):
        _register_pool(_kind, _spatial)


def _adaptive_shape(ctx: ShapeContext) -> ShapeResult:
    x = is_float(ctx)
    if x.rank != 4:
        raise ctx.fail(f"needs a 4-D input (N, C, H, W) but gets {shape_text(x)}")
    return ShapeResult({"out": x.with_shape((*x.shape[:2], *ctx["output_size"]))})


def _adaptive_macs(ctx: StatContext) -> int:
    return prod(ctx.in_shape()[1:])


ADAPTIVE_AVG_POOL2D = register(
    LayerType(
        id="adaptive_avgpool2d",
        label="AdaptiveAvgPool2d",
        category="Pooling",
        summary="Averages each channel down to a fixed output size, whatever the input size.",
        explanation=(
            "Chooses the windows itself so the output is always output_size; with (1, 1) it is "
            "global average pooling, as at the end of ResNet, which lets the network accept any "
            "image size."
        ),
        formula="y[c, i, j] = mean of x[c] over the (i, j)-th adaptive window",
        infer=_adaptive_shape,
        count_macs=_adaptive_macs,
        params=(ParamSpec("output_size", "size", 1, "Output height and width.", maximum=4096),),
        name_prefix="avgpool",
        key_params=("output_size",),
    )
)


def _global_shape(ctx: ShapeContext) -> ShapeResult:
    x = is_float(ctx)
    if x.rank < 3:
        raise ctx.fail(
            f"needs an input with spatial sizes (N, C, H, W) or (N, C, L) but gets {shape_text(x)}"
        )
    return ShapeResult({"out": x.with_shape(x.shape[:2])})


GLOBAL_AVG_POOL = register(
    LayerType(
        id="global_avgpool",
        label="GlobalAvgPool",
        category="Pooling",
        summary="Averages each channel over all positions: (N, C, H, W) -> (N, C).",
        explanation=(
            "Replaces each feature map by its mean, giving one number per channel. A parameter-free "
            "alternative to Flatten + big Dense layers before a classifier."
        ),
        formula="y[n, c] = mean over h, w of x[n, c, h, w]",
        infer=_global_shape,
        count_macs=_adaptive_macs,
        name_prefix="gap",
    )
)

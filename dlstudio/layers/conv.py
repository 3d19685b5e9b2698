"""Convolutions: Conv1d, Conv2d and ConvTranspose2d."""

from __future__ import annotations

from math import prod

from dlstudio.core.tensor_spec import TensorSpec
from dlstudio.layers.registry import register
from dlstudio.layers.rules import is_float, pair_text, reshape_fix, static_size, window_out
from dlstudio.layers.spec import (
    LayerType,
    ParamSpec,
    ShapeContext,
    ShapeResult,
    StatContext,
    shape_text,
)

_LAYOUT = {1: "(N, C, L)", 2: "(N, C, H, W)"}


def _conv_params(spatial: int, transposed: bool = False) -> tuple[ParamSpec, ...]:
    padding_help = (
        "Zeros added on each side; 'same' keeps the size (stride 1 only), 'valid' adds none."
        if not transposed
        else "Removes this many rows/columns from each side of the output."
    )
    params = [
        ParamSpec(
            "out_channels",
            "int",
            16,
            "Number of filters, i.e. output channels.",
            minimum=1,
            maximum=100_000,
        ),
        ParamSpec("kernel_size", "size", 3, "Size of each filter.", length=spatial, maximum=1024),
        ParamSpec(
            "stride", "size", 1, "Step between filter positions.", length=spatial, maximum=1024
        ),
        ParamSpec(
            "padding",
            "padding" if not transposed else "size",
            0,
            padding_help,
            length=spatial,
            maximum=1024,
        ),
    ]
    if transposed:
        params.append(
            ParamSpec(
                "output_padding",
                "size",
                0,
                "Extra size added to one side of the output to reach an exact size.",
                length=spatial,
                minimum=0,
                maximum=64,
            )
        )
        params[3] = ParamSpec(
            "padding", "size", 0, padding_help, length=spatial, minimum=0, maximum=1024
        )
    params += [
        ParamSpec(
            "dilation",
            "size",
            1,
            "Spacing between filter taps (atrous convolution).",
            length=spatial,
            maximum=1024,
        ),
        ParamSpec(
            "groups",
            "int",
            1,
            "Split channels into groups convolved separately "
            "(groups = in_channels is a depthwise convolution).",
            minimum=1,
            maximum=100_000,
        ),
        ParamSpec(
            "bias", "bool", True, "Learn a bias per output channel (turn off before BatchNorm)."
        ),
    ]
    return tuple(params)


def _check_input(ctx: ShapeContext, spatial: int) -> TensorSpec:
    x = is_float(ctx)
    if x.rank != spatial + 2:
        raise ctx.fail(
            f"needs a {spatial + 2}-D input {_LAYOUT[spatial]} but gets {shape_text(x)}",
            *(reshape_fix(ctx, x) if spatial == 2 else ()),
        )
    return x


def _check_groups(ctx: ShapeContext, in_channels: int) -> None:
    groups = ctx["groups"]
    for what, channels in (("input", in_channels), ("output", ctx["out_channels"])):
        if channels % groups:
            raise ctx.fail(f"has groups={groups}, which must divide the {channels} {what} channels")


def _conv_shape(spatial: int):
    def rule(ctx: ShapeContext) -> ShapeResult:
        x = _check_input(ctx, spatial)
        in_channels = static_size(ctx, x.shape[1], "number of input channels")
        _check_groups(ctx, in_channels)
        kernel, stride, dilation = ctx["kernel_size"], ctx["stride"], ctx["dilation"]
        padding = ctx["padding"]
        if padding == "same" and any(s != 1 for s in stride):
            raise ctx.fail(
                f"padding 'same' needs stride 1, but stride is {pair_text(stride)}: "
                "use a number for padding"
            )
        dims = []
        for i, size in enumerate(x.shape[2:]):
            if padding == "same":
                dims.append(size)
                continue
            pad = 0 if padding == "valid" else padding[i]
            out = window_out(size, kernel[i], stride[i], pad, dilation[i])
            if isinstance(out, int) and out < 1:
                raise ctx.fail(
                    f"kernel {pair_text(kernel)} (dilation {pair_text(dilation)}, padding "
                    f"{pad}) does not fit the {pair_text(tuple(x.shape[2:]))} input "
                    f"{shape_text(x)}: use a smaller kernel or more padding"
                )
            dims.append(out)
        return ShapeResult(
            {"out": x.with_shape((x.shape[0], ctx["out_channels"], *dims))},
            {"in_channels": in_channels},
        )

    return rule


def _conv_param_count(ctx: StatContext) -> int:
    weights = ctx["out_channels"] * (ctx["in_channels"] // ctx["groups"]) * prod(ctx["kernel_size"])
    return weights + (ctx["out_channels"] if ctx["bias"] else 0)


def _conv_macs(ctx: StatContext) -> int:
    per_position = (ctx["in_channels"] // ctx["groups"]) * prod(ctx["kernel_size"])
    return prod(ctx.out_shape()[1:]) * per_position


def _transpose_shape(spatial: int):
    def rule(ctx: ShapeContext) -> ShapeResult:
        return _transposed(ctx, spatial)

    return rule


def _transposed(ctx: ShapeContext, spatial: int) -> ShapeResult:
    x = _check_input(ctx, spatial)
    in_channels = static_size(ctx, x.shape[1], "number of input channels")
    _check_groups(ctx, in_channels)
    dims = []
    for i, size in enumerate(x.shape[2:]):
        if ctx["output_padding"][i] >= max(ctx["stride"][i], ctx["dilation"][i]):
            raise ctx.fail(
                f"output_padding {ctx['output_padding'][i]} must be smaller than the "
                f"stride ({ctx['stride'][i]}) or the dilation ({ctx['dilation'][i]})"
            )
        grow = (
            ctx["dilation"][i] * (ctx["kernel_size"][i] - 1)
            + ctx["output_padding"][i]
            + 1
            - 2 * ctx["padding"][i]
        )
        if isinstance(size, int):
            out = (size - 1) * ctx["stride"][i] + grow
            if out < 1:
                raise ctx.fail(
                    f"padding {ctx['padding'][i]} removes more than the output "
                    f"has; use less padding"
                )
        else:
            out = f"({size}-1)*{ctx['stride'][i]}+{grow}"
        dims.append(out)
    return ShapeResult(
        {"out": x.with_shape((x.shape[0], ctx["out_channels"], *dims))},
        {"in_channels": in_channels},
    )


def _transpose_params(ctx: StatContext) -> int:
    weights = ctx["in_channels"] * (ctx["out_channels"] // ctx["groups"]) * prod(ctx["kernel_size"])
    return weights + (ctx["out_channels"] if ctx["bias"] else 0)


def _transpose_macs(ctx: StatContext) -> int:
    per_input = (ctx["out_channels"] // ctx["groups"]) * prod(ctx["kernel_size"])
    return prod(ctx.in_shape()[1:]) * per_input


_CONV_FORMULA = "y[c_out] = b[c_out] + sum over c_in and kernel offsets of W[c_out, c_in] * x"

CONV1D = register(
    LayerType(
        id="conv1d",
        label="Conv1d",
        category="Convolution",
        summary="1-D convolution over a sequence (N, C, L): slides filters along the length.",
        explanation=(
            "Slides out_channels learned filters of width kernel_size along the sequence; each "
            "filter sees all input channels. Useful for audio, sensor signals and character "
            "sequences. Output length = floor((L + 2*padding - dilation*(kernel-1) - 1)/stride) + 1."
        ),
        formula=_CONV_FORMULA,
        infer=_conv_shape(1),
        count_params=_conv_param_count,
        count_macs=_conv_macs,
        params=_conv_params(1),
        name_prefix="conv",
        key_params=("out_channels", "kernel_size", "stride"),
        inferred=("in_channels",),
    )
)

CONV2D = register(
    LayerType(
        id="conv2d",
        label="Conv2d",
        category="Convolution",
        summary="2-D convolution over images (N, C, H, W): learned filters slide across the image.",
        explanation=(
            "Each of out_channels filters is a kernel_size window over all input channels; sliding "
            "it over the image gives one feature map. Weights are shared across positions, so a "
            "conv layer has far fewer parameters than a dense one and detects a pattern wherever it "
            "appears. Output size = floor((H + 2*padding - dilation*(kernel-1) - 1)/stride) + 1. "
            "in_channels is read from the input."
        ),
        formula=_CONV_FORMULA + ";  H_out = floor((H + 2p - d(k-1) - 1)/s) + 1",
        infer=_conv_shape(2),
        count_params=_conv_param_count,
        count_macs=_conv_macs,
        params=_conv_params(2),
        name_prefix="conv",
        key_params=("out_channels", "kernel_size", "stride", "padding"),
        inferred=("in_channels",),
    )
)

_TRANSPOSE_EXPLANATION = (
    "The gradient of a convolution used as a layer: each input position spreads a learned "
    "kernel into the output, so stride 2 doubles the size. Used in decoders, autoencoders, "
    "segmentation networks and WaveNet-style upsamplers. L_out = (L-1)*stride - 2*padding + "
    "dilation*(k-1) + output_padding + 1; groups splits the channels as in a convolution."
)

CONV_TRANSPOSE1D = register(
    LayerType(
        id="conv_transpose1d",
        label="ConvTranspose1d",
        category="Convolution",
        summary="Transposed convolution over sequences (N, C, L): upsamples with learned filters.",
        explanation=_TRANSPOSE_EXPLANATION,
        formula="L_out = (L - 1)s - 2p + d(k - 1) + output_padding + 1",
        infer=_transpose_shape(1),
        count_params=_transpose_params,
        count_macs=_transpose_macs,
        params=_conv_params(1, transposed=True),
        name_prefix="deconv",
        key_params=("out_channels", "kernel_size", "stride"),
        inferred=("in_channels",),
    )
)

CONV_TRANSPOSE2D = register(
    LayerType(
        id="conv_transpose2d",
        label="ConvTranspose2d",
        category="Convolution",
        summary="Transposed ('de-') convolution: upsamples feature maps with learned filters.",
        explanation=_TRANSPOSE_EXPLANATION,
        formula="H_out = (H - 1)s - 2p + d(k - 1) + output_padding + 1",
        infer=_transpose_shape(2),
        count_params=_transpose_params,
        count_macs=_transpose_macs,
        params=_conv_params(2, transposed=True),
        name_prefix="deconv",
        key_params=("out_channels", "kernel_size", "stride"),
        inferred=("in_channels",),
    )
)

"""Normalisations that do not use the batch: GroupNorm, InstanceNorm1d/2d, RMSNorm, and the
LocalResponseNorm of AlexNet and GoogLeNet."""

from __future__ import annotations

from math import prod

from dlstudio.layers.normalization import EPS_PARAM, MOMENTUM_PARAM, last_dim_norm_shape
from dlstudio.layers.registry import register
from dlstudio.layers.rules import is_float, static_size
from dlstudio.layers.spec import (
    Fix,
    LayerType,
    ParamSpec,
    ShapeContext,
    ShapeResult,
    StatContext,
    shape_text,
)


def _per_value_macs(ctx: StatContext) -> int:
    return prod(ctx.in_shape()[1:])


# -------------------------------------------------------------------- GroupNorm
def _group_shape(ctx: ShapeContext) -> ShapeResult:
    x = is_float(ctx)
    if x.rank < 2:
        raise ctx.fail(f"needs channels (N, C, ...) but gets {shape_text(x)}")
    channels = static_size(ctx, x.shape[1], "number of channels")
    groups = ctx["num_groups"]
    if channels % groups:
        near = [g for g in range(1, channels + 1) if channels % g == 0]
        best = min(near, key=lambda g: (abs(g - groups), g))
        raise ctx.fail(
            f"splits {channels} channels of {shape_text(x)} into {groups} groups, but "
            f"{channels} is not divisible by {groups}",
            Fix.set_param(f"set num_groups to {best}", "num_groups", best),
        )
    return ShapeResult({"out": x}, {"num_channels": channels})


def _affine_params(count: str):
    def rule(ctx: StatContext) -> int:
        return 2 * ctx[count] if ctx["affine"] else 0

    return rule


register(
    LayerType(
        id="groupnorm",
        label="GroupNorm",
        category="Normalization",
        summary="Normalises groups of channels within each example (no batch statistics).",
        explanation=(
            "Splits the channels into num_groups groups and normalises each group of each "
            "example over its channels and positions, then scales and shifts every channel by "
            "learned gamma and beta. It does not depend on the batch, so it works with batches "
            "of one (detection, diffusion U-Nets); one group is LayerNorm over (C, H, W), one "
            "group per channel is InstanceNorm."
        ),
        formula="y = gamma_c * (x - mean_g) / sqrt(var_g + eps) + beta_c  (g: c's group)",
        infer=_group_shape,
        count_params=_affine_params("num_channels"),
        count_macs=_per_value_macs,
        params=(
            ParamSpec("num_groups", "int", 32, "Number of channel groups.", minimum=1),
            EPS_PARAM,
            ParamSpec("affine", "bool", True, "Learn gamma (scale) and beta (shift) per channel."),
        ),
        name_prefix="norm",
        key_params=("num_groups",),
        inferred=("num_channels",),
    )
)


# ----------------------------------------------------------------- InstanceNorm
def _instance_shape(spatial: int):
    layout = "(N, C, L)" if spatial == 1 else "(N, C, H, W)"

    def rule(ctx: ShapeContext) -> ShapeResult:
        x = is_float(ctx)
        if x.rank != spatial + 2:
            raise ctx.fail(f"needs a {spatial + 2}-D input {layout} but gets {shape_text(x)}")
        features = static_size(ctx, x.shape[1], "number of channels")
        return ShapeResult({"out": x}, {"num_features": features})

    return rule


for _spatial in (1, 2):
    register(
        LayerType(
            id=f"instancenorm{_spatial}d",
            label=f"InstanceNorm{_spatial}d",
            category="Normalization",
            summary="Normalises each channel of each example over its positions (style transfer).",
            explanation=(
                "Normalises every channel of every example to zero mean and unit variance over "
                "its own positions, which removes each image's contrast and is why style-"
                "transfer networks use it. affine adds a learned scale and shift per channel; "
                "track_running_stats keeps running averages (buffers) for evaluation, as "
                "BatchNorm does."
            ),
            formula="y = gamma_c * (x[n, c] - mean(x[n, c])) / sqrt(var(x[n, c]) + eps) + beta_c",
            infer=_instance_shape(_spatial),
            count_params=_affine_params("num_features"),
            count_macs=_per_value_macs,
            params=(
                EPS_PARAM,
                MOMENTUM_PARAM,
                ParamSpec("affine", "bool", False, "Learn gamma (scale) and beta (shift)."),
                ParamSpec(
                    "track_running_stats",
                    "bool",
                    False,
                    "Keep running averages and use them at evaluation.",
                    label="running stats",
                ),
            ),
            name_prefix="norm",
            inferred=("num_features",),
        )
    )


# ---------------------------------------------------------------------- RMSNorm
register(
    LayerType(
        id="rmsnorm",
        label="RMSNorm",
        category="Normalization",
        summary="Scales each feature vector to unit root mean square (LLaMA, T5).",
        explanation=(
            "Divides each position's feature vector by its root mean square, then multiplies "
            "by a learned gain per feature. Unlike LayerNorm it neither subtracts the mean nor "
            "adds a shift: cheaper, and what LLaMA and T5 use. An empty eps uses the dtype's "
            "machine epsilon, as torch does."
        ),
        formula="y = x / sqrt(mean(x^2) + eps) * gamma  (over the last dimension)",
        infer=last_dim_norm_shape,
        count_params=lambda ctx: ctx["normalized_shape"] if ctx["elementwise_affine"] else 0,
        count_macs=_per_value_macs,
        params=(
            ParamSpec(
                "eps",
                "float",
                None,
                "Added to the mean square; empty: the dtype's machine epsilon.",
                minimum=0.0,
                maximum=1.0,
                optional=True,
            ),
            ParamSpec("elementwise_affine", "bool", True, "Learn gamma.", label="affine"),
        ),
        name_prefix="norm",
        inferred=("normalized_shape",),
    )
)


# ------------------------------------------------------------ LocalResponseNorm
def _lrn_shape(ctx: ShapeContext) -> ShapeResult:
    x = is_float(ctx)
    if x.rank < 3:
        raise ctx.fail(f"needs channels and positions (N, C, ...) but gets {shape_text(x)}")
    return ShapeResult({"out": x})


register(
    LayerType(
        id="local_response_norm",
        label="LocalResponseNorm",
        category="Normalization",
        summary="Divides each value by the activity of neighbouring channels (AlexNet).",
        explanation=(
            "Each value is divided by a power of the summed squares of the same position in "
            "`size` neighbouring channels, so strongly active channels damp their neighbours "
            "(lateral inhibition). AlexNet and GoogLeNet used it; BatchNorm replaced it."
        ),
        formula="y_c = x_c / (k + alpha / size * sum over c' near c of x_c'^2) ^ beta",
        infer=_lrn_shape,
        count_macs=lambda ctx: prod(ctx.in_shape()[1:]) * ctx["size"],
        params=(
            ParamSpec("size", "int", 5, "Number of neighbouring channels summed.", minimum=1),
            ParamSpec("alpha", "float", 1e-4, "Scale of the sum.", minimum=0.0, maximum=1e6),
            ParamSpec("beta", "float", 0.75, "Exponent.", minimum=0.0, maximum=1e3),
            ParamSpec("k", "float", 1.0, "Added constant.", minimum=0.0, maximum=1e6),
        ),
        name_prefix="lrn",
        key_params=("size",),
    )
)

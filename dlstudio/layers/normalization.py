"""Normalisation and regularisation: BatchNorm1d/2d, LayerNorm, Dropout, StochasticDepth."""

from __future__ import annotations

from math import prod

from dlstudio.layers.registry import register
from dlstudio.layers.rules import is_float, static_size
from dlstudio.layers.spec import (
    LayerType,
    ParamSpec,
    ShapeContext,
    ShapeResult,
    StatContext,
    shape_text,
)

EPS_PARAM = ParamSpec(
    "eps", "float", 1e-5, "Added to the variance for numerical stability.", minimum=0.0, maximum=1.0
)
"""The epsilon every normalisation layer takes."""
MOMENTUM_PARAM = ParamSpec(
    "momentum",
    "float",
    0.1,
    "Weight of the current batch in the running averages.",
    minimum=0.0,
    maximum=1.0,
)
"""The running averages' momentum of the layers that keep them (BatchNorm, InstanceNorm)."""


def _batchnorm_shape(ranks: tuple[int, ...], layout: str):
    def rule(ctx: ShapeContext) -> ShapeResult:
        x = is_float(ctx)
        if x.rank not in ranks:
            raise ctx.fail(f"needs {layout} but gets {shape_text(x)}")
        features = static_size(ctx, x.shape[1], "number of channels")
        return ShapeResult({"out": x}, {"num_features": features})

    return rule


def _batchnorm_params(ctx: StatContext) -> int:
    return 2 * ctx["num_features"] if ctx["affine"] else 0


def _elementwise_macs(ctx: StatContext) -> int:
    return prod(ctx.in_shape()[1:])


_BN_EXPLANATION = (
    "Normalises each channel with the mean and variance of the current batch during training "
    "(running averages at evaluation), then scales by a learned gamma and shifts by beta. "
    "Stabilises and speeds up training of deep networks; place it after a conv or dense layer, "
    "before the activation. Running mean and variance are buffers, not parameters."
)
_BN_PARAMS = (
    EPS_PARAM,
    MOMENTUM_PARAM,
    ParamSpec("affine", "bool", True, "Learn gamma (scale) and beta (shift)."),
)

register(
    LayerType(
        id="batchnorm1d",
        label="BatchNorm1d",
        category="Normalization",
        summary="Batch normalisation of features (N, C) or channels of sequences (N, C, L).",
        explanation=_BN_EXPLANATION,
        formula="y = gamma * (x - mean_batch) / sqrt(var_batch + eps) + beta",
        infer=_batchnorm_shape((2, 3), "(N, C) or (N, C, L)"),
        count_params=_batchnorm_params,
        count_macs=_elementwise_macs,
        params=_BN_PARAMS,
        name_prefix="bn",
        inferred=("num_features",),
    )
)

register(
    LayerType(
        id="batchnorm2d",
        label="BatchNorm2d",
        category="Normalization",
        summary="Batch normalisation of image channels (N, C, H, W).",
        explanation=_BN_EXPLANATION,
        formula="y = gamma * (x - mean_batch) / sqrt(var_batch + eps) + beta",
        infer=_batchnorm_shape((4,), "a 4-D input (N, C, H, W)"),
        count_params=_batchnorm_params,
        count_macs=_elementwise_macs,
        params=_BN_PARAMS,
        name_prefix="bn",
        inferred=("num_features",),
    )
)


def last_dim_norm_shape(ctx: ShapeContext) -> ShapeResult:
    """Shape rule of a norm over the last dimension (LayerNorm, RMSNorm): any float input of at
    least (N, features), unchanged; the feature size is inferred."""
    x = is_float(ctx)
    if x.rank < 2:
        raise ctx.fail(f"needs at least (N, features) but gets {shape_text(x)}")
    size = static_size(ctx, x.shape[-1], "feature size (last dimension)")
    return ShapeResult({"out": x}, {"normalized_shape": size})


def _layernorm_params(ctx: StatContext) -> int:
    if not ctx["elementwise_affine"]:
        return 0
    return ctx["normalized_shape"] * (2 if ctx["bias"] else 1)


register(
    LayerType(
        id="layernorm",
        label="LayerNorm",
        category="Normalization",
        summary="Normalises each example over its last dimension (used in Transformers).",
        explanation=(
            "Normalises each position's feature vector to zero mean and unit variance, then scales "
            "and shifts it with learned gamma and beta. Unlike BatchNorm it does not depend on the "
            "batch, so it behaves the same in training and inference and suits sequences; every "
            "Transformer block uses it."
        ),
        formula="y = gamma * (x - mean(x)) / sqrt(var(x) + eps) + beta  (over the last dimension)",
        infer=last_dim_norm_shape,
        count_params=_layernorm_params,
        count_macs=_elementwise_macs,
        params=(
            EPS_PARAM,
            ParamSpec("elementwise_affine", "bool", True, "Learn gamma and beta.", label="affine"),
            ParamSpec("bias", "bool", True, "Learn beta (the shift)."),
        ),
        name_prefix="norm",
        inferred=("normalized_shape",),
    )
)


def _identity_shape(ctx: ShapeContext) -> ShapeResult:
    return ShapeResult({"out": is_float(ctx)})


register(
    LayerType(
        id="dropout",
        label="Dropout",
        category="Normalization",
        summary="Randomly zeroes a fraction p of values during training (regularisation).",
        explanation=(
            "During training each value is set to zero with probability p and the rest are scaled "
            "by 1/(1-p), so no single neuron can be relied on and the network overfits less. At "
            "evaluation it does nothing."
        ),
        formula="y = x * mask / (1 - p),  mask ~ Bernoulli(1 - p)",
        infer=_identity_shape,
        params=(
            ParamSpec(
                "p", "float", 0.5, "Probability of zeroing each value.", minimum=0.0, maximum=0.99
            ),
        ),
        name_prefix="dropout",
        key_params=("p",),
    )
)


def _channels_shape(ctx: ShapeContext) -> ShapeResult:
    x = is_float(ctx)
    if x.rank != 4:
        raise ctx.fail(
            f"needs a 4-D input (N, C, H, W) but gets {shape_text(x)}; use Dropout for other shapes"
        )
    return ShapeResult({"out": x})


register(
    LayerType(
        id="dropout2d",
        label="Dropout2d",
        category="Normalization",
        summary="Randomly zeroes whole feature maps during training (for conv layers).",
        explanation=(
            "Neighbouring pixels of a feature map are strongly correlated, so zeroing single "
            "values regularises little. Dropout2d zeroes each whole channel with probability p "
            "(and scales the rest by 1/(1-p)) during training; at evaluation it does nothing."
        ),
        formula="y[n, c] = x[n, c] * m[n, c] / (1 - p),  m ~ Bernoulli(1 - p)",
        infer=_channels_shape,
        params=(
            ParamSpec(
                "p", "float", 0.5, "Probability of zeroing each channel.", minimum=0.0, maximum=0.99
            ),
        ),
        name_prefix="dropout",
        key_params=("p",),
    )
)


register(
    LayerType(
        id="stochastic_depth",
        label="StochasticDepth",
        category="Normalization",
        summary="Drops whole residual branches at random while training (DropPath).",
        explanation=(
            "While training, zeroes the whole input of an example (mode row) or of the whole "
            "batch (mode batch) with probability p and scales what survives by 1/(1-p); at "
            "evaluation it passes its input through. Placed on a residual branch before the "
            "Add, it trains a network of random depth, as in EfficientNet, ConvNeXt and Swin "
            "(torchvision's StochasticDepth, timm's DropPath). Its random draws follow torch's "
            "seed, so the same seed gives the same run."
        ),
        formula="y = x * m / (1 - p),  m ~ Bernoulli(1 - p) per example (row) or per batch",
        infer=_identity_shape,
        params=(
            ParamSpec(
                "p", "float", 0.1, "Probability of dropping the branch.", minimum=0.0, maximum=1.0
            ),
            ParamSpec(
                "mode",
                "choice",
                "row",
                "row: an independent draw per example; batch: one draw for the whole batch.",
                choices=("row", "batch"),
            ),
        ),
        name_prefix="drop_path",
        key_params=("p",),
    )
)

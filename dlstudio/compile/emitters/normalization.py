"""Normalisation and regularisation: BatchNorm, LayerNorm, Dropout."""

from __future__ import annotations

from dlstudio.compile.emitters.base import Emission, EmitContext, call, lit, options

_BN_DEFAULTS = {"eps": 1e-5, "momentum": 0.1, "affine": True}


def _batchnorm(cls: str):
    def emit(ctx: EmitContext) -> Emission:
        module = call(cls, lit(ctx["num_features"]), **options(ctx.params, _BN_DEFAULTS))
        return Emission(f"{ctx.module}({ctx.arg()})", module)

    emit.__doc__ = f"``{cls}(num_features)``; running statistics are buffers, not parameters."
    return emit


def layernorm(ctx: EmitContext) -> Emission:
    """``nn.LayerNorm`` over the last dimension."""
    defaults = {"eps": 1e-5, "elementwise_affine": True, "bias": True}
    module = call("nn.LayerNorm", lit(ctx["normalized_shape"]), **options(ctx.params, defaults))
    return Emission(f"{ctx.module}({ctx.arg()})", module)


def dropout(ctx: EmitContext) -> Emission:
    """``nn.Dropout(p)``: a module, so ``model.eval()`` switches it off."""
    return Emission(f"{ctx.module}({ctx.arg()})", call("nn.Dropout", lit(ctx["p"])))


def dropout2d(ctx: EmitContext) -> Emission:
    """``nn.Dropout2d(p)``: zeroes whole channels while training."""
    return Emission(f"{ctx.module}({ctx.arg()})", call("nn.Dropout2d", lit(ctx["p"])))


EMITTERS = {
    "batchnorm1d": _batchnorm("nn.BatchNorm1d"),
    "batchnorm2d": _batchnorm("nn.BatchNorm2d"),
    "layernorm": layernorm,
    "dropout": dropout,
    "dropout2d": dropout2d,
}

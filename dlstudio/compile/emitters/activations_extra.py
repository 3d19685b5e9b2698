"""The torch side of the activations in :mod:`dlstudio.layers.activations_extra`, called
functionally (they hold no weights)."""

from __future__ import annotations

import math

from dlstudio.compile.emitters.base import Emission, EmitContext, lit
from dlstudio.layers.activations_extra import SELU_ALPHA, SELU_SCALE


def _plain(func: str):
    def emit(ctx: EmitContext) -> Emission:
        return Emission(f"{func}({ctx.arg()})")

    emit.__doc__ = f"``{func}(x)``."
    return emit


def _with_alpha(func: str):
    def emit(ctx: EmitContext) -> Emission:
        if ctx["alpha"] == 1.0:
            return Emission(f"{func}({ctx.arg()})")
        return Emission(f"{func}({ctx.arg()}, alpha={lit(ctx['alpha'])})")

    emit.__doc__ = f"``{func}(x, alpha=...)``."
    return emit


def selu(ctx: EmitContext) -> Emission:
    """``F.selu(x)`` with torch's constants, else ``gamma * F.elu(x, alpha=...)``."""
    alpha, gamma = ctx["alpha"], ctx["gamma"]
    plain = isinstance(alpha, float) and isinstance(gamma, float)
    # ONNX files hold the constants rounded to float32: within 1e-6 they are torch's own.
    close = math.isclose(alpha, SELU_ALPHA, rel_tol=1e-6) if plain else False
    if close and math.isclose(gamma, SELU_SCALE, rel_tol=1e-6):
        return Emission(f"F.selu({ctx.arg()})")
    return Emission(f"{lit(gamma)} * F.elu({ctx.arg()}, alpha={lit(alpha)})")


def thresholded_relu(ctx: EmitContext) -> Emission:
    """``F.threshold(x, alpha, 0.0)``: values at or below alpha become 0."""
    return Emission(f"F.threshold({ctx.arg()}, {lit(ctx['alpha'])}, 0.0)")


def scaled_hardsigmoid(ctx: EmitContext) -> Emission:
    """``(x * alpha + beta).clamp(0.0, 1.0)``."""
    return Emission(f"({ctx.arg()} * {lit(ctx['alpha'])} + {lit(ctx['beta'])}).clamp(0.0, 1.0)")


EMITTERS = {
    "elu": _with_alpha("F.elu"),
    "celu": _with_alpha("F.celu"),
    "selu": selu,
    "softplus": _plain("F.softplus"),
    "softsign": _plain("F.softsign"),
    "mish": _plain("F.mish"),
    "thresholded_relu": thresholded_relu,
    "scaled_hardsigmoid": scaled_hardsigmoid,
}

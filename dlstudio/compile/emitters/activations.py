"""Activations, called functionally: they have no weights, so no submodule is needed."""

from __future__ import annotations

from dlstudio.compile.emitters.base import Emission, EmitContext, lit


def _plain(func: str):
    def emit(ctx: EmitContext) -> Emission:
        return Emission(f"{func}({ctx.arg()})")

    emit.__doc__ = f"``{func}(x)``."
    return emit


def leaky_relu(ctx: EmitContext) -> Emission:
    """``F.leaky_relu(x, negative_slope)``."""
    return Emission(f"F.leaky_relu({ctx.arg()}, {lit(ctx['negative_slope'])})")


def gelu(ctx: EmitContext) -> Emission:
    """``F.gelu(x)``, or with ``approximate="tanh"``."""
    if ctx["approximate"] == "none":
        return Emission(f"F.gelu({ctx.arg()})")
    return Emission(f"F.gelu({ctx.arg()}, approximate={lit(ctx['approximate'])})")


def _softmax(func: str):
    def emit(ctx: EmitContext) -> Emission:
        return Emission(f"{func}({ctx.arg()}, dim={lit(ctx['dim'])})")

    emit.__doc__ = f"``{func}(x, dim=...)``."
    return emit


EMITTERS = {
    "relu": _plain("F.relu"),
    "leaky_relu": leaky_relu,
    "gelu": gelu,
    "tanh": _plain("torch.tanh"),
    "sigmoid": _plain("torch.sigmoid"),
    "relu6": _plain("F.relu6"),
    "silu": _plain("F.silu"),
    "hardswish": _plain("F.hardswish"),
    "hardsigmoid": _plain("F.hardsigmoid"),
    "softmax": _softmax("F.softmax"),
    "log_softmax": _softmax("F.log_softmax"),
}

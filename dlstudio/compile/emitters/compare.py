"""The torch side of :mod:`dlstudio.layers.compare`: comparisons as Python operators, logic as
``torch.logical_*``, Maximum and Minimum as nested ``torch.maximum``/``torch.minimum``."""

from __future__ import annotations

from dlstudio.compile.emitters.base import Emission, EmitContext
from dlstudio.layers.compare import SYMBOLS


def compare(ctx: EmitContext) -> Emission:
    """``a < b``."""
    return Emission(f"{ctx.arg('in1')} {SYMBOLS[ctx['op']]} {ctx.arg('in2')}")


def logical(ctx: EmitContext) -> Emission:
    """``torch.logical_and(a, b)``."""
    return Emission(f"torch.logical_{ctx['op']}({ctx.arg('in1')}, {ctx.arg('in2')})")


def logical_not(ctx: EmitContext) -> Emission:
    """``torch.logical_not(x)``."""
    return Emission(f"torch.logical_not({ctx.arg()})")


def _extreme(func: str):
    def emit(ctx: EmitContext) -> Emission:
        args = [ctx.args[p] for p in sorted(ctx.args, key=lambda port: int(port[2:]))]
        text = args[0]
        for arg in args[1:]:
            text = f"{func}({text}, {arg})"
        return Emission(text)

    emit.__doc__ = f"``{func}(a, b)``, nested for more inputs."
    return emit


def value_test(ctx: EmitContext) -> Emission:
    """``torch.isnan(x)``, ``torch.isinf(x)``, ``torch.isposinf(x)``, ``torch.isneginf(x)``."""
    return Emission(f"torch.is{ctx['test']}({ctx.arg()})")


EMITTERS = {
    "value_test": value_test,
    "compare": compare,
    "logical": logical,
    "logical_not": logical_not,
    "maximum": _extreme("torch.maximum"),
    "minimum": _extreme("torch.minimum"),
}

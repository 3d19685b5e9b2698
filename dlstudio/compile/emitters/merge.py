"""Merging tensors: Add, Multiply, Concat, written as plain operators."""

from __future__ import annotations

from dlstudio.compile.emitters.base import Emission, EmitContext, lit


def _ordered_args(ctx: EmitContext) -> list[str]:
    ports = sorted(ctx.args, key=lambda port: int(port[2:]))
    return [ctx.args[p] for p in ports]


def add(ctx: EmitContext) -> Emission:
    """``a + b + ...``: a skip connection reads as a sum."""
    return Emission(" + ".join(_ordered_args(ctx)))


def multiply(ctx: EmitContext) -> Emission:
    """``a * b * ...``."""
    return Emission(" * ".join(_ordered_args(ctx)))


def concat(ctx: EmitContext) -> Emission:
    """``torch.cat([a, b], dim=axis)``."""
    return Emission(f"torch.cat([{', '.join(_ordered_args(ctx))}], dim={lit(ctx['axis'])})")


EMITTERS = {"add": add, "multiply": multiply, "concat": concat}

"""Reshaping: Flatten, Reshape, Permute, RepeatVector, written as tensor methods."""

from __future__ import annotations

from dlstudio.compile.emitters.base import Emission, EmitContext, EmitError, lit


def flatten(ctx: EmitContext) -> Emission:
    """``x.flatten(1)`` (or with explicit start and end)."""
    start, end = ctx["start_dim"], ctx["end_dim"]
    args = lit(start) if end == -1 else f"{lit(start)}, {lit(end)}"
    return Emission(f"{ctx.arg()}.flatten({args})")


def reshape(ctx: EmitContext) -> Emission:
    """``x.reshape(-1, *shape)``: the batch stays free (the analysis resolved any -1); with a
    symbolic size, ``x.reshape(x.size(0), -1, 4, 16)`` (torch infers the length)."""
    shape = ctx.outputs["out"].shape[1:]
    if not all(type(d) is int for d in shape):
        target = ", ".join(lit(d) for d in ctx["shape"])
        return Emission(f"{ctx.arg()}.reshape({ctx.arg()}.size(0), {target})")
    return Emission(f"{ctx.arg()}.reshape(-1, {', '.join(lit(d) for d in shape)})")


def permute(ctx: EmitContext) -> Emission:
    """``x.permute(0, 2, 1)``."""
    return Emission(f"{ctx.arg()}.permute({', '.join(lit(d) for d in ctx['dims'])})")


def repeat_vector(ctx: EmitContext) -> Emission:
    """``x.unsqueeze(1).repeat(1, times, 1)``: the same vector at every output step."""
    return Emission(f"{ctx.arg()}.unsqueeze(1).repeat(1, {lit(ctx['times'])}, 1)")


def identity(ctx: EmitContext) -> Emission:
    """``nn.Identity()``: a named module, so the place survives a round trip through Python."""
    return Emission(f"{ctx.module}({ctx.arg()})", "nn.Identity()")


def placeholder(ctx: EmitContext) -> Emission:
    """Never emitted: the analysis reports every placeholder as an error first."""
    raise EmitError(f"{ctx.attr} is a placeholder for {ctx['op']}; replace it before compiling")


EMITTERS = {
    "flatten": flatten,
    "reshape": reshape,
    "permute": permute,
    "repeat_vector": repeat_vector,
    "identity": identity,
    "placeholder": placeholder,
}

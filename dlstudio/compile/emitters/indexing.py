"""The torch side of :mod:`dlstudio.layers.indexing`: ``torch.argmax``, ``torch.triu``/``tril``
and ``cumsum`` (flipped for a reverse sum, minus the value itself for an exclusive one)."""

from __future__ import annotations

from dlstudio.compile.emitters.base import Emission, EmitContext, call, lit


def argmax(ctx: EmitContext) -> Emission:
    """``torch.argmax(x, dim=1)``; the last of equal values: the first of the flipped tensor,
    counted from the end (``x.size(1) - 1 - torch.argmax(x.flip(1), dim=1)``)."""
    x, dim = ctx.arg(), lit(ctx["dim"])
    kwargs = {"dim": dim}
    if ctx["keepdim"]:
        kwargs["keepdim"] = lit(True)
    if ctx["last"]:
        flipped = call(f"torch.arg{ctx['op']}", f"{x}.flip({dim})", **kwargs)
        return Emission(f"{x}.size({dim}) - 1 - {flipped}")
    return Emission(call(f"torch.arg{ctx['op']}", x, **kwargs))


def triangle(ctx: EmitContext) -> Emission:
    """``torch.triu(x, diagonal=1)``."""
    func = "torch.triu" if ctx["part"] == "upper" else "torch.tril"
    if ctx["diagonal"] == 0:
        return Emission(call(func, ctx.arg()))
    return Emission(call(func, ctx.arg(), diagonal=lit(ctx["diagonal"])))


def cumsum(ctx: EmitContext) -> Emission:
    """``x.cumsum(dim)``; reverse: ``x.flip(dim).cumsum(dim).flip(dim)``; exclusive: ``- x``."""
    x, dim = ctx.arg(), lit(ctx["dim"])
    text = f"{x}.flip({dim}).cumsum({dim}).flip({dim})" if ctx["reverse"] else f"{x}.cumsum({dim})"
    if ctx["exclusive"]:
        text = f"{text} - {x}"
    return Emission(text)


def gather_elements(ctx: EmitContext) -> Emission:
    """``torch.gather(x, 1, index)``."""
    return Emission(call("torch.gather", ctx.arg(), lit(ctx["dim"]), ctx.arg("index")))


EMITTERS = {
    "argmax": argmax,
    "triangle": triangle,
    "cumsum": cumsum,
    "gather_elements": gather_elements,
}

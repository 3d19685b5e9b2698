"""Split, Slice, Squeeze, Unsqueeze, Transpose, Expand and Tile, written as tensor methods and
indexing, as a person would write them."""

from __future__ import annotations

from dlstudio.compile.emitters.base import Emission, EmitContext, lit


def _axis(ctx: EmitContext, param: str, extra: int = 0) -> int:
    """The parameter as a non-negative dimension (the analysis checked its range)."""
    return ctx[param] % (ctx.inputs["in"].rank + extra)


def split(ctx: EmitContext) -> Emission:
    """``a, b = x.split([2, 6], dim=-1)``, or ``x.chunk(2, dim=-1)`` for equal pieces."""
    dim = lit(ctx["dim"])
    if ctx["sizes"] is None:
        forward = f"{ctx.arg()}.chunk({lit(ctx['outputs'])}, dim={dim})"
    else:
        forward = f"{ctx.arg()}.split({lit(list(ctx['sizes']))}, dim={dim})"
    return Emission(forward, outputs=tuple(ctx.outputs))


def slice_(ctx: EmitContext) -> Emission:
    """``x[:, 1:-1]``: one slice along the layer's dimension, ``:`` before it."""
    start, end, step = ctx["start"], ctx["end"], ctx["step"]
    text = f"{lit(start) if start else ''}:{'' if end is None else lit(end)}"
    if step != 1:
        text += f":{lit(step)}"
    return Emission(f"{ctx.arg()}[{':, ' * _axis(ctx, 'dim')}{text}]")


def squeeze(ctx: EmitContext) -> Emission:
    """``x.squeeze(-1)``."""
    return Emission(f"{ctx.arg()}.squeeze({lit(ctx['dim'])})")


def unsqueeze(ctx: EmitContext) -> Emission:
    """``x.unsqueeze(1)``."""
    return Emission(f"{ctx.arg()}.unsqueeze({lit(ctx['dim'])})")


def transpose(ctx: EmitContext) -> Emission:
    """``x.transpose(-2, -1)``."""
    return Emission(f"{ctx.arg()}.transpose({lit(ctx['dim0'])}, {lit(ctx['dim1'])})")


def expand(ctx: EmitContext) -> Emission:
    """``x.expand(4, -1)``; with ``like`` wired, ``x.expand(like.shape[0], -1, -1)``."""
    sizes = [lit(s) for s in ctx["shape"]]
    if "like" in ctx.args:
        sizes[0] = f"{ctx.arg('like')}.shape[0]"
    return Emission(f"{ctx.arg()}.expand({', '.join(sizes)})")


def tile(ctx: EmitContext) -> Emission:
    """``x.repeat(1, 2)``: torch's name for tiling."""
    return Emission(f"{ctx.arg()}.repeat({', '.join(lit(r) for r in ctx['repeats'])})")


EMITTERS = {
    "split": split,
    "slice": slice_,
    "squeeze": squeeze,
    "unsqueeze": unsqueeze,
    "transpose": transpose,
    "expand": expand,
    "tile": tile,
}

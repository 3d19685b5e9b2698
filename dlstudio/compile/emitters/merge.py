"""Merging and arithmetic: Add, Multiply, Subtract, Divide, MatMul, Concat, written as plain
operators, and a learned Parameter written as ``nn.Parameter``."""

from __future__ import annotations

from dlstudio.compile.emitters.base import Emission, EmitContext, lit


def _ordered_args(ctx: EmitContext) -> list[str]:
    ports = sorted(ctx.args, key=lambda port: int(port[2:]))
    return [ctx.args[p] for p in ports]


def _operator(symbol: str):
    def emit(ctx: EmitContext) -> Emission:
        return Emission(f" {symbol} ".join(_ordered_args(ctx)))

    emit.__doc__ = f"``a {symbol} b``: torch broadcasts the operands as the analysis did."
    return emit


def concat(ctx: EmitContext) -> Emission:
    """``torch.cat([a, b], dim=axis)``."""
    return Emission(f"torch.cat([{', '.join(_ordered_args(ctx))}], dim={lit(ctx['axis'])})")


def parameter(ctx: EmitContext) -> Emission:
    """``nn.Parameter(torch.full(shape, value))``: the tensor itself is the attribute, so its
    ``state_dict`` key is the node's name, as torchvision's ``layer_scale``; read through its
    ``view`` when it has one (timm's ``gamma.view(1, -1, 1, 1)``)."""
    shape = lit(tuple(ctx["shape"]))
    if ctx["init"] == "normal":
        start = f"torch.randn({shape}) * {lit(ctx['value'])}"
    else:
        start = f"torch.full({shape}, {lit(ctx['value'])})"
    read = f"{ctx.module}.view({lit(tuple(ctx['view']))})" if ctx["view"] else ctx.module
    return Emission(read, f"nn.Parameter({start})")


EMITTERS = {
    "add": _operator("+"),
    "multiply": _operator("*"),
    "subtract": _operator("-"),
    "divide": _operator("/"),
    "matmul": _operator("@"),
    "concat": concat,
    "parameter": parameter,
}

"""The torch side of :mod:`dlstudio.layers.constant`: a Parameter that is not trained."""

from __future__ import annotations

from dlstudio.compile.emitters.base import Emission, EmitContext, lit


def constant(ctx: EmitContext) -> Emission:
    """``nn.Parameter(torch.full(shape, value, dtype=...), requires_grad=False)``: saved in
    the ``state_dict`` under the node's name (any dtype), skipped by the optimiser."""
    value = ctx["value"]
    if ctx["dtype"] == "bool":
        value = bool(value)
    elif not ctx["dtype"].startswith(("float", "bfloat")) and isinstance(value, float):
        value = int(value) if value.is_integer() else value
    start = f"torch.full({lit(tuple(ctx['shape']))}, {lit(value)}, dtype=torch.{ctx['dtype']})"
    return Emission(ctx.module, f"nn.Parameter({start}, requires_grad=False)")


EMITTERS = {"constant": constant}

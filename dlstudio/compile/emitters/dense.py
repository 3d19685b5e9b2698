"""Dense layers: ``nn.Linear``."""

from __future__ import annotations

from dlstudio.compile.emitters.base import Emission, EmitContext, call, lit


def dense(ctx: EmitContext) -> Emission:
    """``nn.Linear(in_features, units)``; on sequences it acts on every step."""
    kwargs = {} if ctx["bias"] else {"bias": "False"}
    module = call("nn.Linear", lit(ctx["in_features"]), lit(ctx["units"]), **kwargs)
    return Emission(f"{ctx.module}({ctx.arg()})", module)


EMITTERS = {"dense": dense}

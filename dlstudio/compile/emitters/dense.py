"""Dense layers: ``nn.Linear``."""

from __future__ import annotations

from dlstudio.compile.emitters.base import Emission, EmitContext, call, lit


def dense(ctx: EmitContext) -> Emission:
    """``nn.Linear(in_features, units)``; on sequences it acts on every step."""
    # False, or a block parameter (SymBool) inside a block class, is written out.
    kwargs = {} if ctx["bias"] is True else {"bias": lit(ctx["bias"])}
    module = call("nn.Linear", lit(ctx["in_features"]), lit(ctx["units"]), **kwargs)
    return Emission(f"{ctx.module}({ctx.arg()})", module)


EMITTERS = {"dense": dense}

"""GroupNorm, InstanceNorm, RMSNorm, LocalResponseNorm and StochasticDepth as torch modules,
and Pad as ``F.pad``."""

from __future__ import annotations

from dlstudio.compile.emitters.base import Emission, EmitContext, call, lit, options
from dlstudio.compile.emitters.helpers import Helper, register_helper

register_helper(
    Helper(
        "StochasticDepth",
        '''
class StochasticDepth(nn.Module):
    """Drops the whole input of an example (mode "row") or of the batch ("batch") with
    probability p while training, scaling what survives by 1 / (1 - p); passes it through at
    evaluation. The same computation as torchvision.ops.StochasticDepth."""

    def __init__(self, p: float, mode: str) -> None:
        super().__init__()
        self.p = p
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        survival = 1.0 - self.p
        shape = [x.shape[0]] + [1] * (x.dim() - 1) if self.mode == "row" else [1] * x.dim()
        noise = torch.empty(shape, dtype=x.dtype, device=x.device).bernoulli_(survival)
        if survival > 0.0:
            noise.div_(survival)
        return x * noise
''',
    )
)


def _module(ctx: EmitContext, module: str) -> Emission:
    return Emission(f"{ctx.module}({ctx.arg()})", module)


def groupnorm(ctx: EmitContext) -> Emission:
    """``nn.GroupNorm(num_groups, num_channels)``."""
    extra = options(ctx.params, {"eps": 1e-5, "affine": True})
    return _module(
        ctx, call("nn.GroupNorm", lit(ctx["num_groups"]), lit(ctx["num_channels"]), **extra)
    )


def _instancenorm(cls: str):
    def emit(ctx: EmitContext) -> Emission:
        defaults = {"eps": 1e-5, "momentum": 0.1, "affine": False, "track_running_stats": False}
        extra = options(ctx.params, defaults)
        return _module(ctx, call(cls, lit(ctx["num_features"]), **extra))

    emit.__doc__ = f"``{cls}(num_features)`` with the options that differ from torch's."
    return emit


def rmsnorm(ctx: EmitContext) -> Emission:
    """``nn.RMSNorm(normalized_shape)``."""
    extra = options(ctx.params, {"eps": None, "elementwise_affine": True})
    return _module(ctx, call("nn.RMSNorm", lit(ctx["normalized_shape"]), **extra))


def local_response_norm(ctx: EmitContext) -> Emission:
    """``nn.LocalResponseNorm(size)``."""
    extra = options(ctx.params, {"alpha": 1e-4, "beta": 0.75, "k": 1.0})
    return _module(ctx, call("nn.LocalResponseNorm", lit(ctx["size"]), **extra))


def stochastic_depth(ctx: EmitContext) -> Emission:
    """``StochasticDepth(p, mode)``: a module, so ``model.eval()`` switches it off."""
    module = call("StochasticDepth", lit(ctx["p"]), lit(ctx["mode"]))
    return Emission(f"{ctx.module}({ctx.arg()})", module, helpers=("StochasticDepth",))


def pad(ctx: EmitContext) -> Emission:
    """``F.pad(x, (1, 1), mode="reflect")``."""
    extra = {}
    if ctx["mode"] != "constant":
        extra["mode"] = lit(ctx["mode"])
    elif ctx["value"] != 0.0:
        extra["value"] = lit(ctx["value"])
    return Emission(call("F.pad", ctx.arg(), lit(tuple(ctx["pads"])), **extra))


EMITTERS = {
    "groupnorm": groupnorm,
    "instancenorm1d": _instancenorm("nn.InstanceNorm1d"),
    "instancenorm2d": _instancenorm("nn.InstanceNorm2d"),
    "rmsnorm": rmsnorm,
    "local_response_norm": local_response_norm,
    "stochastic_depth": stochastic_depth,
    "pad": pad,
}

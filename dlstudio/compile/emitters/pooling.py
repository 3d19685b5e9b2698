"""Pooling: max and average windows, adaptive and global average pooling."""

from __future__ import annotations

from dlstudio.compile.emitters.base import Emission, EmitContext, call, lit, size


def _pool(cls: str):
    def emit(ctx: EmitContext) -> Emission:
        kernel, stride = ctx["kernel_size"], ctx["stride"]
        kwargs = {}
        if stride is not None and tuple(stride) != tuple(kernel):
            kwargs["stride"] = size(stride)
        if any(p != 0 for p in ctx["padding"]):
            kwargs["padding"] = size(ctx["padding"])
        if "dilation" in ctx.params and any(d != 1 for d in ctx["dilation"]):
            kwargs["dilation"] = size(ctx["dilation"])
        if ctx["ceil_mode"] is not False:  # True, or a block parameter inside a block class
            kwargs["ceil_mode"] = lit(ctx["ceil_mode"])
        if ctx.params.get("count_include_pad", True) is not True:
            kwargs["count_include_pad"] = lit(ctx["count_include_pad"])
        return Emission(f"{ctx.module}({ctx.arg()})", call(cls, size(kernel), **kwargs))

    emit.__doc__ = f"``{cls}(kernel_size)``; stride defaults to the kernel, as in the catalogue."
    return emit


def adaptive_avgpool2d(ctx: EmitContext) -> Emission:
    """``nn.AdaptiveAvgPool2d(output_size)``."""
    module = call("nn.AdaptiveAvgPool2d", lit(tuple(ctx["output_size"])))
    return Emission(f"{ctx.module}({ctx.arg()})", module)


def global_avgpool(ctx: EmitContext) -> Emission:
    """The mean over every spatial dimension: ``x.mean(dim=(2, 3))``."""
    rank = ctx.inputs["in"].rank
    dims = tuple(range(2, rank))
    dim = lit(dims[0]) if len(dims) == 1 else lit(dims)
    return Emission(f"{ctx.arg()}.mean(dim={dim})")


EMITTERS = {
    "maxpool1d": _pool("nn.MaxPool1d"),
    "maxpool2d": _pool("nn.MaxPool2d"),
    "avgpool1d": _pool("nn.AvgPool1d"),
    "avgpool2d": _pool("nn.AvgPool2d"),
    "adaptive_avgpool2d": adaptive_avgpool2d,
    "global_avgpool": global_avgpool,
}

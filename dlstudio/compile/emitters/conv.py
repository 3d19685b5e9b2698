"""Convolutions: ``nn.Conv1d``, ``nn.Conv2d``, ``nn.ConvTranspose1d`` and ``2d``."""

from __future__ import annotations

from dlstudio.compile.emitters.base import Emission, EmitContext, call, lit, size


def _common(ctx: EmitContext, transposed: bool) -> dict[str, str]:
    kwargs = {"kernel_size": size(ctx["kernel_size"])}
    if any(s != 1 for s in ctx["stride"]):
        kwargs["stride"] = size(ctx["stride"])
    padding = ctx["padding"]
    if padding == "same":
        kwargs["padding"] = lit("same")
    elif padding != "valid" and any(p != 0 for p in padding):
        kwargs["padding"] = size(padding)
    if transposed and any(p != 0 for p in ctx["output_padding"]):
        kwargs["output_padding"] = size(ctx["output_padding"])
    if any(d != 1 for d in ctx["dilation"]):
        kwargs["dilation"] = size(ctx["dilation"])
    if ctx["groups"] != 1:
        kwargs["groups"] = lit(ctx["groups"])
    if ctx["bias"] is not True:  # False, or a block parameter (SymBool) inside a block class
        kwargs["bias"] = lit(ctx["bias"])
    return kwargs


def _conv(cls: str, transposed: bool = False):
    def emit(ctx: EmitContext) -> Emission:
        kwargs = _common(ctx, transposed)
        module = call(cls, lit(ctx["in_channels"]), lit(ctx["out_channels"]), **kwargs)
        return Emission(f"{ctx.module}({ctx.arg()})", module)

    emit.__doc__ = f"``{cls}`` with only the options that differ from torch's defaults."
    return emit


EMITTERS = {
    "conv1d": _conv("nn.Conv1d"),
    "conv2d": _conv("nn.Conv2d"),
    "conv_transpose1d": _conv("nn.ConvTranspose1d", transposed=True),
    "conv_transpose2d": _conv("nn.ConvTranspose2d", transposed=True),
}

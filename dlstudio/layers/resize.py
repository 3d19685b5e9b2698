"""Resize (Upsample): change the spatial size by a scale factor or to a size."""

from __future__ import annotations

from math import floor, prod

from dlstudio.core.tensor_spec import Dim
from dlstudio.layers.registry import register
from dlstudio.layers.rules import is_float, mul_dims
from dlstudio.layers.spec import (
    Fix,
    LayerType,
    ParamSpec,
    ShapeContext,
    ShapeResult,
    shape_text,
)

MODES = ("nearest", "nearest-exact", "linear", "bicubic")


def _resize_shape(ctx: ShapeContext) -> ShapeResult:
    x = is_float(ctx)
    spatial = x.rank - 2
    if not 1 <= spatial <= 3:
        raise ctx.fail(f"needs (N, C, L), (N, C, H, W) or (N, C, D, H, W) but gets {shape_text(x)}")
    mode, scale, size = ctx["mode"], ctx["scale_factor"], ctx["size"]
    if mode == "bicubic" and spatial != 2:
        raise ctx.fail(f"mode bicubic needs an image (N, C, H, W), but gets {shape_text(x)}")
    if ctx["align_corners"] and mode not in ("linear", "bicubic"):
        raise ctx.fail(
            f"has align_corners with mode {mode}; only linear and bicubic use it",
            Fix.set_param("turn align_corners off", "align_corners", False),
        )
    if (scale is None) == (size is None):
        raise ctx.fail("needs either scale_factor or size (exactly one of them)")
    if size is not None:
        if len(size) != spatial or any(s < 1 for s in size):
            raise ctx.fail(
                f"size {tuple(size)} must give {spatial} sizes of at least 1 for {shape_text(x)}"
            )
        return ShapeResult({"out": x.with_shape((*x.shape[:2], *size))})
    dims: list[Dim] = []
    for d in x.shape[2:]:
        if isinstance(d, int):
            dims.append(floor(d * scale))
        elif float(scale).is_integer():
            dims.append(mul_dims([d, int(scale)]))
        else:
            raise ctx.fail(
                f"scales {shape_text(x)}, whose size {d} is not fixed, by {scale}; with a free "
                "size the scale must be a whole number"
            )
    if any(isinstance(d, int) and d < 1 for d in dims):
        raise ctx.fail(f"scale_factor {scale} shrinks {shape_text(x)} to nothing")
    return ShapeResult({"out": x.with_shape((*x.shape[:2], *dims))})


register(
    LayerType(
        id="resize",
        label="Resize",
        category="Convolution",
        summary="Upsamples (or shrinks) feature maps by a factor or to a size (Upsample).",
        explanation=(
            "Changes the length, or height and width, of every channel by interpolation, as "
            "torch.nn.functional.interpolate: nearest copies the nearest value (torch's "
            "legacy rule, rounding down), nearest-exact rounds to the nearest centre, linear "
            "interpolates (bilinear for images, trilinear for volumes) and bicubic uses 4 x 4 "
            "neighbours. Give a scale_factor (the output is floor(size x factor)) or the "
            "output size. align_corners maps the corner pixels onto each other (linear and "
            "bicubic). U-Nets and feature pyramids upsample this way."
        ),
        formula="y = interpolate(x, scale_factor or size, mode)",
        infer=_resize_shape,
        count_macs=lambda ctx: prod(ctx.out_shape()),
        params=(
            ParamSpec("mode", "choice", "nearest", "How new values are computed.", choices=MODES),
            ParamSpec(
                "scale_factor",
                "float",
                2.0,
                "Factor on every spatial size; empty when size is given.",
                optional=True,
                minimum=0.001,
                maximum=1024.0,
            ),
            ParamSpec(
                "size",
                "dims",
                None,
                "Output sizes (length, or height and width); empty when scaling.",
                optional=True,
            ),
            ParamSpec("align_corners", "bool", False, "Align corner pixels (linear, bicubic)."),
        ),
        name_prefix="resize",
        key_params=("mode", "scale_factor"),
    )
)

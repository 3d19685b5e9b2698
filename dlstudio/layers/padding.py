"""Pad: widen (or, with negative amounts, crop) the last dimensions, each side on its own."""

from __future__ import annotations

from dlstudio.core.tensor_spec import Dim
from dlstudio.layers.registry import register
from dlstudio.layers.rules import add_dim
from dlstudio.layers.spec import LayerType, ParamSpec, ShapeContext, ShapeResult, shape_text

MODES = ("constant", "reflect", "replicate", "circular")


def _pad_shape(ctx: ShapeContext) -> ShapeResult:
    x, pads, mode = ctx.input(), tuple(ctx["pads"]), ctx["mode"]
    sides = len(pads) // 2
    if len(pads) % 2:
        raise ctx.fail(
            f"pads {pads} has {len(pads)} amounts; give two per dimension (before and after), "
            "last dimension first"
        )
    if sides > x.rank - 1:
        raise ctx.fail(
            f"pads {pads} covers {sides} dimensions, but {shape_text(x)} has only "
            f"{x.rank - 1} besides the batch"
        )
    if mode != "constant":
        if any(p < 0 for p in pads):
            raise ctx.fail(f"pads {pads}: negative amounts (cropping) need mode constant")
        # torch pads reflect/replicate/circular over the last 1-3 dimensions of a batch of
        # channels: (N, C, L), (N, C, H, W) or (N, C, D, H, W).
        if not 1 <= sides <= 3 or x.rank != sides + 2:
            raise ctx.fail(
                f"mode {mode} pads the last 1 to 3 dimensions of an input (N, C, ...) with "
                f"exactly that many after the channels, but pads {pads} covers {sides} and "
                f"the input is {shape_text(x)}"
            )
    shape: list[Dim] = list(x.shape)
    for i in range(sides):
        axis = x.rank - 1 - i
        before, after = pads[2 * i], pads[2 * i + 1]
        size = shape[axis]
        limit = {"reflect": 1, "circular": 0}.get(mode)
        if limit is not None and isinstance(size, int) and max(before, after) > size - limit:
            most = size - limit
            raise ctx.fail(
                f"mode {mode} can add at most {most} on each side of dimension {axis} "
                f"(size {size}) of {shape_text(x)}, but pads {pads} asks {max(before, after)}"
            )
        new = add_dim(size, before + after)
        if isinstance(new, int) and new < 1:
            raise ctx.fail(
                f"pads {pads} crops dimension {axis} of {shape_text(x)} to nothing ({new})"
            )
        shape[axis] = new
    return ShapeResult({"out": x.with_shape(tuple(shape))})


register(
    LayerType(
        id="pad",
        label="Pad",
        category="Reshape",
        summary="Adds values around the last dimensions, each side on its own.",
        explanation=(
            "Widens the last dimensions by the amounts in `pads`, two per dimension starting "
            "from the last (left, right, then top, bottom, ...), as torch.nn.functional.pad. "
            "constant fills with `value` (negative amounts crop), reflect mirrors the edge "
            "without repeating it, replicate repeats the edge value, circular wraps around. "
            "Use it for padding a convolution or pooling cannot express: uneven sides, or more "
            "than half a pooling window."
        ),
        formula="y = F.pad(x, pads, mode, value)",
        infer=_pad_shape,
        params=(
            ParamSpec(
                "pads",
                "dims",
                (1, 1),
                "Amounts before and after each dimension, last dimension first.",
            ),
            ParamSpec("mode", "choice", "constant", "What fills the new places.", choices=MODES),
            ParamSpec(
                "value",
                "float",
                0.0,
                "Fill value (mode constant).",
                minimum=-3.4e38,
                maximum=3.4e38,
            ),
        ),
        name_prefix="pad",
        key_params=("pads", "mode"),
    )
)

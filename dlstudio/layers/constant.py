"""A fixed tensor of any dtype (no batch): the integer or bool operands exported files store,
a table of ids, a mask. Unlike a Parameter it is not trained."""

from __future__ import annotations

from math import prod

from dlstudio.core.tensor_spec import TensorSpec
from dlstudio.layers.io import DTYPES
from dlstudio.layers.registry import register
from dlstudio.layers.spec import LayerType, ParamSpec, ShapeContext, ShapeResult


def _constant_shape(ctx: ShapeContext) -> ShapeResult:
    bad = [d for d in ctx["shape"] if not isinstance(d, int) or d < 1]
    if bad or not ctx["shape"]:
        raise ctx.fail(f"needs one or more sizes of at least 1, got {tuple(ctx['shape'])}")
    if ctx["dtype"] == "bool" and ctx["value"] not in (0.0, 1.0):
        raise ctx.fail(f"is bool, so its value must be 0 or 1, got {ctx['value']}")
    return ShapeResult({"out": TensorSpec(tuple(ctx["shape"]), ctx["dtype"])})


register(
    LayerType(
        id="constant",
        label="Constant",
        category="Input / Output",
        summary="A fixed tensor of any dtype and shape (no batch), kept with the weights.",
        explanation=(
            "Holds a tensor that takes part in the computation like an input but never "
            "changes: the integer or bool operands of comparisons and masks, a table of ids. "
            "It is saved with the weights (an imported file fills in its values) and is not "
            "trained. Every value starts at `value`. Its shape has no batch dimension; the "
            "layer reading it broadcasts it over the batch."
        ),
        formula="y = c  (a fixed tensor)",
        infer=_constant_shape,
        count_params=lambda ctx: prod(ctx["shape"]),
        inputs=(),
        params=(
            ParamSpec("shape", "dims", (1,), "Sizes of the tensor (no batch dimension)."),
            ParamSpec("dtype", "choice", "int64", "The values' dtype.", choices=DTYPES),
            ParamSpec(
                "value", "float", 0.0, "The value every entry starts at.", minimum=-1e6, maximum=1e6
            ),
        ),
        name_prefix="const",
        key_params=("shape", "dtype"),
    )
)

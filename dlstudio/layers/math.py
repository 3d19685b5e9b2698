"""Value-by-value math: functions of one tensor (exp, log, sqrt, ..., pow, clamp), arithmetic
with a constant, Cast to another dtype, and Where (choose by a condition)."""

from __future__ import annotations

from math import prod

from dlstudio.core.tensor_spec import TensorSpec
from dlstudio.layers.registry import register
from dlstudio.layers.rules import broadcast_shape, same_dtype
from dlstudio.layers.spec import (
    Fix,
    LayerType,
    ParamSpec,
    PortSpec,
    ShapeContext,
    ShapeResult,
    StatContext,
    shape_text,
)

FUNCTIONS = (
    "exp",
    "log",
    "sqrt",
    "rsqrt",
    "neg",
    "abs",
    "reciprocal",
    "erf",
    "sin",
    "cos",
    "pow",
    "clamp",
    "tan",
    "asin",
    "acos",
    "atan",
    "sinh",
    "cosh",
    "asinh",
    "acosh",
    "atanh",
    "sign",
    "floor",
    "ceil",
    "round",
)
CONSTANT_OPS = ("x + c", "x - c", "c - x", "x * c", "x / c", "c / x")
DTYPES = ("float32", "float16", "bfloat16", "float64", "int64", "int32", "bool")
_BIG = 3.4e38


def _per_value(ctx: StatContext) -> int:
    return prod(ctx.out_shape())


def _float_input(ctx: ShapeContext, port: str = "in") -> TensorSpec:
    x = ctx.input(port)
    if not x.is_float:
        raise ctx.fail(
            f"needs floating-point values but {port} is {x.dtype} {shape_text(x)}",
            Fix.insert(
                f"insert a Cast to float32 before {ctx.name}", "cast", port, dtype="float32"
            ),
            port=port,
        )
    return x


def _math_shape(ctx: ShapeContext) -> ShapeResult:
    x = ctx.input()
    if ctx["function"] == "clamp":
        low, high = ctx["min"], ctx["max"]
        if low is None and high is None:
            raise ctx.fail("clamps, but neither min nor max is set: set one or both")
        if low is not None and high is not None and low > high:
            raise ctx.fail(f"clamps to min {low} above max {high}: swap them")
        if not x.is_float:  # torch: an integer tensor clamped to float limits becomes float32
            x = TensorSpec(x.shape, "float32", x.mask)
    elif ctx["function"] not in ("neg", "abs"):
        x = _float_input(ctx)
    return ShapeResult({"out": x})


register(
    LayerType(
        id="math",
        label="Math",
        category="Activation",
        summary="A function of each value: exp, log, sqrt, rsqrt, abs, erf, pow, clamp, ...",
        explanation=(
            "Applies one function to every value: exp, log (natural), sqrt, rsqrt (1 / sqrt), "
            "neg (-x), abs, reciprocal (1 / x), erf (the Gauss error function, inside exact "
            "GELU), sin, cos, tan and their inverses and hyperbolic forms, sign, floor, ceil, "
            "round (halves to even), pow (x to the constant `exponent`) or clamp (limit to "
            "[min, max], either side may be empty). Exported models spell out normalisations "
            "and activations with these."
        ),
        formula="y = f(x),  e.g. y = x ^ exponent or y = min(max(x, min), max)",
        infer=_math_shape,
        count_macs=_per_value,
        params=(
            ParamSpec("function", "choice", "exp", "The function applied.", choices=FUNCTIONS),
            ParamSpec(
                "exponent",
                "float",
                2.0,
                "The power (function pow).",
                minimum=-_BIG,
                maximum=_BIG,
            ),
            ParamSpec(
                "min",
                "float",
                None,
                "Lower limit (function clamp); empty: none.",
                optional=True,
                minimum=-_BIG,
                maximum=_BIG,
            ),
            ParamSpec(
                "max",
                "float",
                None,
                "Upper limit (function clamp); empty: none.",
                optional=True,
                minimum=-_BIG,
                maximum=_BIG,
            ),
        ),
        name_prefix="math",
        key_params=("function",),
    )
)


def _constant_shape(ctx: ShapeContext) -> ShapeResult:
    x = ctx.input()
    if x.dtype == "bool":
        raise ctx.fail(
            "does arithmetic, but its input is bool",
            Fix.insert(f"insert a Cast to float32 before {ctx.name}", "cast", dtype="float32"),
        )
    # A Python float with an integer tensor gives torch's default float dtype.
    return ShapeResult({"out": x if x.is_float else TensorSpec(x.shape, "float32", x.mask)})


register(
    LayerType(
        id="constant_op",
        label="ConstantOp",
        category="Merge",
        summary="Arithmetic with a constant: x + c, x - c, c - x, x * c, x / c or c / x.",
        explanation=(
            "Combines every value with the constant `value`: scaling attention scores by "
            "1 / sqrt(d) is x * c, the (1 - mask) of a Hugging Face attention mask is c - x. "
            "Integer inputs give float32 results, as in torch."
        ),
        formula="y = x op c",
        infer=_constant_shape,
        count_macs=_per_value,
        params=(
            ParamSpec("op", "choice", "x * c", "The operation.", choices=CONSTANT_OPS),
            ParamSpec("value", "float", 1.0, "The constant c.", minimum=-_BIG, maximum=_BIG),
        ),
        name_prefix="const",
        key_params=("op", "value"),
    )
)


def _cast_shape(ctx: ShapeContext) -> ShapeResult:
    x = ctx.input()
    return ShapeResult({"out": TensorSpec(x.shape, ctx["dtype"], x.mask)})


register(
    LayerType(
        id="cast",
        label="Cast",
        category="Reshape",
        summary="Converts values to another dtype (float32, float16, int64, bool, ...).",
        explanation=(
            "Converts every value to `dtype`: an integer mask to float32 before arithmetic, "
            "to bool for Where or an attention mask, or activations to float16. Converting to "
            "an integer type rounds toward zero; to bool, every nonzero value is True."
        ),
        formula="y = x.to(dtype)",
        infer=_cast_shape,
        params=(ParamSpec("dtype", "choice", "float32", "The new dtype.", choices=DTYPES),),
        name_prefix="cast",
        key_params=("dtype",),
    )
)


def _where_shape(ctx: ShapeContext) -> ShapeResult:
    condition = ctx.input("condition")
    if condition.dtype != "bool":
        raise ctx.fail(
            f"needs a bool condition, but condition is {condition.dtype} {shape_text(condition)}",
            Fix.insert("insert a Cast to bool on condition", "cast", "condition", dtype="bool"),
            port="condition",
        )
    items = [("condition", condition), ("in1", ctx.input("in1")), ("in2", ctx.input("in2"))]
    dtype = same_dtype(ctx, items[1:])
    shape = broadcast_shape(ctx, items)
    return ShapeResult({"out": TensorSpec(shape, dtype, items[1][1].mask)})


register(
    LayerType(
        id="where",
        label="Where",
        category="Merge",
        summary="Takes in1 where the condition is True, in2 elsewhere (with broadcasting).",
        explanation=(
            "Chooses value by value: in1 where condition is True, in2 where it is False. The "
            "three shapes broadcast as in NumPy, so a (N, 1, 1, S) mask can blank out a whole "
            "(N, heads, T, S) block of attention scores."
        ),
        formula="y = in1 if condition else in2",
        infer=_where_shape,
        count_macs=_per_value,
        inputs=(
            PortSpec("condition", "Where to take in1 (bool)."),
            PortSpec("in1", "Values where the condition is True."),
            PortSpec("in2", "Values where it is False."),
        ),
        name_prefix="where",
    )
)

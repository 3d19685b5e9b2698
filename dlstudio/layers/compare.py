"""Comparisons and logic, value by value: Compare (<, <=, >, >=, ==, !=) gives bool, And / Or /
Xor / Not combine bools, Maximum and Minimum keep the larger or smaller value. All broadcast as
in NumPy."""

from __future__ import annotations

from math import prod

from dlstudio.core.tensor_spec import TensorSpec
from dlstudio.layers.registry import register
from dlstudio.layers.rules import broadcast_shape, same_dtype
from dlstudio.layers.spec import (
    MAX_PORTS,
    Fix,
    LayerType,
    ParamSpec,
    PortSpec,
    ShapeContext,
    ShapeResult,
    StatContext,
    shape_text,
)

SYMBOLS = {
    "less": "<",
    "less_equal": "<=",
    "greater": ">",
    "greater_equal": ">=",
    "equal": "==",
    "not_equal": "!=",
}
"""Each comparison by name (a parameter value) and its Python operator."""
LOGIC = ("and", "or", "xor")
_PAIR = (PortSpec("in1", "The left operand."), PortSpec("in2", "The right operand."))
_BROADCAST = (
    " Shapes broadcast as in NumPy: aligned on the last dimension, each size must equal the "
    "other's or be 1."
)


def _per_value(ctx: StatContext) -> int:
    return prod(ctx.out_shape())


def _pair(ctx: ShapeContext) -> list[tuple[str, TensorSpec]]:
    return [("in1", ctx.input("in1")), ("in2", ctx.input("in2"))]


def _bool_inputs(ctx: ShapeContext, items: list[tuple[str, TensorSpec]]) -> None:
    for port, spec in items:
        if spec.dtype != "bool":
            raise ctx.fail(
                f"combines bool values, but {port} is {spec.dtype} {shape_text(spec)}",
                Fix.insert(f"insert a Cast to bool on {port}", "cast", port, dtype="bool"),
                port=port,
            )


def _compare_shape(ctx: ShapeContext) -> ShapeResult:
    items = _pair(ctx)
    same_dtype(ctx, items)
    shape = broadcast_shape(ctx, items)
    return ShapeResult({"out": TensorSpec(shape, "bool", items[0][1].mask)})


register(
    LayerType(
        id="compare",
        label="Compare",
        category="Merge",
        summary="Compares two tensors value by value (less, equal, greater, ...): a bool tensor.",
        explanation=(
            "True where the comparison holds, False elsewhere: a mask of the values above a "
            "threshold, of the padding tokens (ids == 0), of the steps before the current one. "
            "Feed it to Where, to an attention mask, or Cast it to float32." + _BROADCAST
        ),
        formula="y = in1 op in2",
        infer=_compare_shape,
        count_macs=_per_value,
        inputs=_PAIR,
        params=(ParamSpec("op", "choice", "less", "The comparison.", choices=tuple(SYMBOLS)),),
        name_prefix="compare",
        key_params=("op",),
    )
)


def _logic_shape(ctx: ShapeContext) -> ShapeResult:
    items = _pair(ctx)
    _bool_inputs(ctx, items)
    shape = broadcast_shape(ctx, items)
    return ShapeResult({"out": TensorSpec(shape, "bool", items[0][1].mask)})


register(
    LayerType(
        id="logical",
        label="Logic",
        category="Merge",
        summary="And, or, xor of two bool tensors, value by value.",
        explanation=(
            "Combines two masks: and keeps what both allow (a padding mask and a causal mask), "
            "or what either allows, xor what exactly one allows." + _BROADCAST
        ),
        formula="y = in1 and in2  (or, xor)",
        infer=_logic_shape,
        count_macs=_per_value,
        inputs=_PAIR,
        params=(ParamSpec("op", "choice", "and", "The operation.", choices=LOGIC),),
        name_prefix="logic",
        key_params=("op",),
    )
)


def _not_shape(ctx: ShapeContext) -> ShapeResult:
    x = ctx.input()
    _bool_inputs(ctx, [("in", x)])
    return ShapeResult({"out": x})


register(
    LayerType(
        id="logical_not",
        label="Not",
        category="Merge",
        summary="Turns True into False and False into True.",
        explanation="Inverts a bool mask: the padding steps of a mask of real steps.",
        formula="y = not x",
        infer=_not_shape,
        count_macs=_per_value,
        name_prefix="not",
    )
)


def _ordered(ctx: ShapeContext) -> list[tuple[str, TensorSpec]]:
    return sorted(ctx.inputs.items(), key=lambda kv: int(kv[0][2:]))


def _extreme_shape(ctx: ShapeContext) -> ShapeResult:
    items = _ordered(ctx)
    same_dtype(ctx, items)
    shape = broadcast_shape(ctx, items)
    return ShapeResult({"out": items[0][1].with_shape(shape)})


for _id, _label, _which in (("maximum", "Maximum", "larger"), ("minimum", "Minimum", "smaller")):
    register(
        LayerType(
            id=_id,
            label=_label,
            category="Merge",
            summary=f"Keeps the {_which} value at each position of several tensors.",
            explanation=(
                f"Takes the {_which} of the inputs value by value (NaN wins, as in torch): a "
                "floor or ceiling that is itself a tensor." + _BROADCAST
            ),
            formula=f"y = {_id[:3]}(x1, x2, ...)",
            infer=_extreme_shape,
            count_macs=_per_value,
            params=(
                ParamSpec(
                    "inputs", "int", 2, "Number of input ports.", minimum=2, maximum=MAX_PORTS
                ),
            ),
            name_prefix=_id[:3],
            variadic_inputs="inputs",
            inputs=(),
        )
    )


TESTS = ("nan", "inf", "posinf", "neginf")


def _test_shape(ctx: ShapeContext) -> ShapeResult:
    x = ctx.input()
    return ShapeResult({"out": TensorSpec(x.shape, "bool", x.mask)})


register(
    LayerType(
        id="value_test",
        label="IsNaN / IsInf",
        category="Merge",
        summary="True where a value is NaN, infinite, +inf or -inf.",
        explanation=(
            "Marks the special floating-point values: nan (not a number, e.g. 0 / 0 or a "
            "softmax over a row of -inf), inf (either infinity), posinf or neginf. Exported "
            "attention uses it to zero the rows that a mask blanks out completely."
        ),
        formula="y = isnan(x)  (isinf, isposinf, isneginf)",
        infer=_test_shape,
        count_macs=_per_value,
        params=(ParamSpec("test", "choice", "nan", "What to look for.", choices=TESTS),),
        name_prefix="is",
        key_params=("test",),
    )
)

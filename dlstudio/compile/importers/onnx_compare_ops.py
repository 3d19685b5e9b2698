"""ONNX comparisons and logic -> the Compare, Logic, Not, Maximum and Minimum layers; a constant
operand becomes a Parameter node, as for arithmetic (:mod:`.onnx_arith`)."""

from __future__ import annotations

from dlstudio.compile.importers.onnx_arith import operands
from dlstudio.compile.importers.values import Unmapped

_COMPARE = {
    "Less": "less",
    "LessOrEqual": "less_equal",
    "Greater": "greater",
    "GreaterOrEqual": "greater_equal",
    "Equal": "equal",
}
_LOGIC = {"And": "and", "Or": "or", "Xor": "xor"}


def _one_dtype(w, node) -> None:
    kinds = {str(w.values[n].dtype) for n in node.input if n and n in w.values}
    if len(kinds) > 1:
        raise Unmapped(f"compares values of different dtypes ({', '.join(sorted(kinds))})")


def compare(w, node, inputs, attrs):
    """Less, LessOrEqual, Greater, GreaterOrEqual, Equal."""
    _one_dtype(w, node)
    a, b = operands(w, node, inputs[:2])
    params = {"op": _COMPARE[node.op_type]}
    return w.layer(node, "compare", params, ("in1", a), ("in2", b))


def logical(w, node, inputs, attrs):
    """And, Or, Xor of two bool tensors."""
    a, b = operands(w, node, inputs[:2])
    params = {"op": _LOGIC[node.op_type]}
    return w.layer(node, "logical", params, ("in1", a), ("in2", b))


def logical_not(w, node, inputs, attrs):
    """Not."""
    return w.layer(node, "logical_not", {}, w._ref(inputs[0]))


def extreme(w, node, inputs, attrs):
    """Max and Min of one or more tensors (one: itself)."""
    _one_dtype(w, node)
    refs = operands(w, node, inputs)
    if len(refs) == 1:
        return refs[0]
    type_id = "maximum" if node.op_type == "Max" else "minimum"
    wires = [(f"in{i}", r) for i, r in enumerate(refs, start=1)]
    return w.layer(node, type_id, {"inputs": len(refs)}, *wires)


def value_test(w, node, inputs, attrs):
    """IsNaN, and IsInf with its detect_positive / detect_negative flags."""
    test = "nan"
    if node.op_type == "IsInf":
        positive, negative = attrs.get("detect_positive", 1), attrs.get("detect_negative", 1)
        if not positive and not negative:
            raise Unmapped("detects neither infinity")
        test = "inf" if positive and negative else ("posinf" if positive else "neginf")
    value = w.values.get(node.input[0])
    if value is not None and value.dtype.kind != "f":
        raise Unmapped(f"tests {value.dtype} values")
    return w.layer(node, "value_test", {"test": test}, w._ref(inputs[0]))


OPS = {
    "IsNaN": value_test,
    "IsInf": value_test,
    **dict.fromkeys(_COMPARE, compare),
    **dict.fromkeys(_LOGIC, logical),
    "Not": logical_not,
    "Max": extreme,
    "Min": extreme,
}
"""Mappers by ONNX ``op_type``."""

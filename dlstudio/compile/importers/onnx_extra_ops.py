"""ONNX operators made of a few catalogue layers, or mapped onto one with a twist:
GlobalMaxPool (Reduce max), Einsum of two operands, PRelu (Where x < 0 of x * slope), Mean of N
inputs (Add, then divide), LpNormalization (x over its L1 or L2 norm) and Gemm with ``alpha``,
``beta`` or ``transA``."""

from __future__ import annotations

import numpy as np

from dlstudio.compile.importers.onnx_arith import constant, operands
from dlstudio.compile.importers.onnx_shape_ops import _last, _step
from dlstudio.compile.importers.values import Unmapped


def _float_input(w, node) -> None:
    value = w.values.get(node.input[0])
    if value is not None and value.dtype != np.float32:
        raise Unmapped(f"computes on {value.dtype} values")


def global_max_pool(w, node, inputs, attrs):
    """GlobalMaxPool: the maximum over every spatial axis, kept with size 1."""
    rank = len(w.shape(node.input[0]))
    if rank < 3:
        raise Unmapped("an input without channels and positions")
    params = {"op": "max", "dims": tuple(range(2, rank)), "keepdim": True}
    return w.layer(node, "reduce", params, w._ref(inputs[0]))


def einsum(w, node, inputs, attrs):
    """Einsum of two tensors in the Einsum layer's form (letters, ``->``, no ellipsis)."""
    equation = attrs.get("equation", b"")
    equation = (equation.decode() if isinstance(equation, bytes) else equation).replace(" ", "")
    if len(inputs) != 2 or "..." in equation or "->" not in equation:
        raise Unmapped(f"equation {equation!r} (two operands with an explicit result only)")
    _float_input(w, node)
    a, b = operands(w, node, inputs, matrices=True)
    return w.layer(node, "einsum", {"equation": equation}, ("in1", a), ("in2", b))


def prelu(w, node, inputs, attrs):
    """PRelu with a stored slope of any broadcastable shape: where(x < 0, x * slope, x)."""
    slope = inputs[1]
    if not isinstance(slope, np.ndarray):
        raise Unmapped("the slope is computed, not stored")
    _float_input(w, node)
    x, slope_ref = operands(w, node, inputs[:2])
    zero = constant(w, node, np.zeros(1, np.float32), 0)
    negative = _step(w, w.layer(node, "compare", {"op": "less"}, ("in1", x), ("in2", zero)))
    scaled = _step(w, w.layer(node, "multiply", {}, ("in1", x), ("in2", slope_ref)))
    out = w.layer(node, "where", {}, ("condition", negative), ("in1", scaled), ("in2", x))
    return _last(w, node, out)


def mean(w, node, inputs, attrs):
    """Mean of N inputs: their sum divided by N."""
    _float_input(w, node)
    refs = operands(w, node, inputs)
    if len(refs) == 1:
        return refs[0]
    wires = [(f"in{i}", r) for i, r in enumerate(refs, start=1)]
    total = _step(w, w.layer(node, "add", {"inputs": len(refs)}, *wires))
    params = {"op": "x / c", "value": float(len(refs))}
    return _last(w, node, w.layer(node, "constant_op", params, total))


def lp_normalization(w, node, inputs, attrs):
    """LpNormalization (p 1 or 2): x divided by its norm along ``axis`` (0 where it is 0)."""
    p = attrs.get("p", 2)
    if p not in (1, 2):
        raise Unmapped(f"p={p}")
    _float_input(w, node)
    rank = len(w.shape(node.input[0]))
    axis = attrs.get("axis", -1) % rank
    if axis == 0 and w.batch:
        raise Unmapped("normalises along the batch dimension")
    x = w._ref(inputs[0])
    params = {"op": f"l{p}", "dims": (axis,), "keepdim": True}
    norm = _step(w, w.layer(node, "reduce", params, x))
    # A zero norm gives 0, as in ONNX, not 0 / 0: the norm is at least the smallest float32.
    low = {"function": "clamp", "min": float(np.finfo(np.float32).tiny)}
    norm = _step(w, w.layer(node, "math", low, norm))
    return _last(w, node, w.layer(node, "divide", {}, ("in1", x), ("in2", norm)))


def gemm(plain):
    """Gemm with ``alpha`` and ``beta`` folded into the stored weight and bias, and
    ``transA`` as a Permute in front (a model without a batch axis); else ``plain``."""

    def mapper(w, node, inputs, attrs):
        alpha, beta = float(attrs.get("alpha", 1.0)), float(attrs.get("beta", 1.0))
        trans_a = attrs.get("transA", 0)
        if not trans_a and alpha == 1.0 and beta == 1.0:
            return plain(w, node, inputs, attrs)
        b = inputs[1]
        c = inputs[2] if len(inputs) > 2 else None
        if not isinstance(b, np.ndarray) or (c is not None and not isinstance(c, np.ndarray)):
            raise Unmapped("weights are computed, not stored")
        x = inputs[0]
        if trans_a:
            if w.batch:
                raise Unmapped("transA (the batch would move)")
            x = _step(w, w.layer(node, "permute", {"dims": (1, 0)}, w._ref(x)))
        scaled = [x, (b * np.float32(alpha)).astype(b.dtype)]
        if c is not None:
            scaled.append((c * np.float32(beta)).astype(c.dtype))
        rest = {k: v for k, v in attrs.items() if k not in ("alpha", "beta", "transA")}
        return _last(w, node, plain(w, node, scaled, rest))

    return mapper


OPS = {
    "GlobalMaxPool": global_max_pool,
    "Einsum": einsum,
    "PRelu": prelu,
    "Mean": mean,
    "LpNormalization": lp_normalization,
}
"""Mappers by ONNX ``op_type`` (Gemm wraps the plain mapper: see :func:`gemm`)."""

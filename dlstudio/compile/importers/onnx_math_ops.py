"""ONNX reductions, element-wise math, casts, Where, Pad and the feature normalisations (RMS,
group, instance, local response) -> the Reduce, Math, Cast, Where, Pad and normalisation
layers. Each refuses, with the reason, what its layer does not compute the same way."""

from __future__ import annotations

import numpy as np
import torch

from dlstudio.compile.importers.onnx_arith import constant, operands
from dlstudio.compile.importers.onnx_norm_axes import flattened, normalised_axes
from dlstudio.compile.importers.values import Unmapped

_REDUCE = {
    "ReduceSum": "sum",
    "ReduceMean": "mean",
    "ReduceMax": "max",
    "ReduceMin": "min",
    "ReduceProd": "prod",
    "ReduceL1": "l1",
    "ReduceL2": "l2",
    "ReduceSumSquare": "sum_square",
    "ReduceLogSum": "log_sum",
    "ReduceLogSumExp": "logsumexp",
}
_FLOAT_REDUCTIONS = ("prod", "l1", "l2", "sum_square", "log_sum", "logsumexp")
"""Imported from float inputs only: torch sums integers in int64, ONNX in their own dtype."""
_MATH = {
    "Exp": "exp",
    "Log": "log",
    "Sqrt": "sqrt",
    "Neg": "neg",
    "Abs": "abs",
    "Reciprocal": "reciprocal",
    "Sin": "sin",
    "Cos": "cos",
    "Erf": "erf",
    "Tan": "tan",
    "Asin": "asin",
    "Acos": "acos",
    "Atan": "atan",
    "Sinh": "sinh",
    "Cosh": "cosh",
    "Asinh": "asinh",
    "Acosh": "acosh",
    "Atanh": "atanh",
    "Sign": "sign",
    "Floor": "floor",
    "Ceil": "ceil",
    "Round": "round",
}
_CASTS = ("float32", "float16", "float64", "int64", "int32", "bool")


def _t(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array).copy())


def _float_input(w, node) -> None:
    value = w.values.get(node.input[0])
    if value is not None and value.dtype.kind != "f":
        raise Unmapped(f"computes on {value.dtype} values")


def reduce(w, node, inputs, attrs):
    """ReduceSum/Mean/Max/Min/Prod, ReduceL1/L2, ReduceSumSquare, ReduceLogSum(Exp) over
    constant axes (an attribute, or an input from opset 18;
    ReduceSum's from 13)."""
    axes = attrs.get("axes")
    if axes is None and len(inputs) > 1 and inputs[1] is not None:
        if not isinstance(inputs[1], np.ndarray):
            raise Unmapped("axes are computed, not constant")
        axes = [int(a) for a in np.atleast_1d(inputs[1])]
    rank = len(w.shape(node.input[0]))
    if not axes:
        if attrs.get("noop_with_empty_axes", 0):
            return w._ref(inputs[0])
        axes = list(range(rank))
    axes = sorted(a % rank for a in axes)
    if 0 in axes and w.batch:
        raise Unmapped("reduces over the batch dimension")
    if rank == 0:
        return w._ref(inputs[0])
    if _REDUCE[node.op_type] in _FLOAT_REDUCTIONS:
        _float_input(w, node)
    params = {
        "op": _REDUCE[node.op_type],
        "dims": tuple(axes),
        "keepdim": bool(attrs.get("keepdims", 1)),
    }
    return w.layer(node, "reduce", params, w._ref(inputs[0]))


def math(w, node, inputs, attrs):
    """Exp, Log, Sqrt, Neg, Abs, Reciprocal, the trigonometric and hyperbolic functions, Erf,
    Sign, Floor, Ceil and Round, on floats."""
    _float_input(w, node)
    return w.layer(node, "math", {"function": _MATH[node.op_type]}, w._ref(inputs[0]))


def power(w, node, inputs, attrs):
    """Pow by one constant exponent; by a tensor, refused."""
    exponent = inputs[1]
    if not isinstance(exponent, np.ndarray) or exponent.size != 1:
        raise Unmapped("raises to a power that is not one constant")
    _float_input(w, node)
    params = {"function": "pow", "exponent": float(exponent.reshape(-1)[0])}
    return w.layer(node, "math", params, w._ref(inputs[0]))


def cast(w, node, inputs, attrs):
    """Cast (and CastLike) to a dtype the Cast layer has; to the same dtype, nothing."""
    before, after = w.values.get(node.input[0]), w.values.get(node.output[0])
    if before is None or after is None:
        raise Unmapped("the dtypes are unknown")
    if before.dtype == after.dtype:
        return inputs[0]
    target = str(after.dtype)
    if target not in _CASTS:
        raise Unmapped(f"casts to {target}")
    if before.dtype.kind == "f" and after.dtype.kind in "iub":
        raise Unmapped(f"casts {before.dtype} to {target} (ONNX rounds where torch truncates)")
    return w.layer(node, "cast", {"dtype": target}, w._ref(inputs[0]))


def where(w, node, inputs, attrs):
    """Where(condition, x, y) with any of them constant (floats held by Parameters)."""
    condition = inputs[0]
    if isinstance(condition, np.ndarray):
        raise Unmapped("the condition is a constant")
    a, b = operands(w, node, inputs[1:3], first=1)
    return w.layer(node, "where", {}, ("condition", w._ref(condition)), ("in1", a), ("in2", b))


def pad(w, node, inputs, attrs):
    """Pad with constant pads (ONNX: every axis' begins, then its ends; torch: last axis
    first, before and after); modes constant, reflect, edge (replicate), wrap (circular)."""
    mode = attrs.get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    mode = {"edge": "replicate", "wrap": "circular"}.get(mode, mode)
    if w.opset < 11:
        pads, value = list(attrs.get("pads", [])), float(attrs.get("value", 0.0))
        axes = None
    else:
        pads = _constant(inputs, 1, "pads")
        value = _constant(inputs, 2, "value")
        value = float(value[0]) if value else 0.0
        axes = _constant(inputs, 3, "axes")
    rank = len(w.shape(node.input[0]))
    axes = [a % rank for a in axes] if axes else list(range(rank))
    half = len(pads) // 2
    amounts = {a: (pads[i], pads[i + half]) for i, a in enumerate(axes)}
    if w.batch and amounts.get(0, (0, 0)) != (0, 0):
        raise Unmapped("pads the batch dimension")
    last = [a for a in range(rank) if amounts.get(a, (0, 0)) != (0, 0)]
    if not last:
        return w._ref(inputs[0])
    torch_pads = []
    for a in range(rank - 1, min(last) - 1, -1):
        torch_pads.extend(amounts.get(a, (0, 0)))
    params = {"pads": tuple(torch_pads), "mode": mode, "value": value}
    return w.layer(node, "pad", params, w._ref(inputs[0]))


def _constant(inputs, index: int, what: str) -> list | None:
    if len(inputs) <= index or inputs[index] is None:
        return None
    if not isinstance(inputs[index], np.ndarray):
        raise Unmapped(f"{what} are computed, not constant")
    return np.atleast_1d(inputs[index]).tolist()


def rms_norm(w, node, inputs, attrs):
    """RMSNormalization over the axes from ``axis`` on, with a stored scale."""
    start, _rank = normalised_axes(w, node, attrs)
    _float_input(w, node)
    params = {"eps": float(attrs.get("epsilon", 1e-5))}
    return flattened(w, node, inputs[0], start, "rmsnorm", params, {"weight": inputs[1]})


def group_norm(w, node, inputs, attrs):
    """GroupNormalization (opset 21: scale and bias per channel) -> GroupNorm."""
    scale, bias = inputs[1], inputs[2]
    channels = w.shape(node.input[0])[1]
    if w.opset < 21 or not all(isinstance(v, np.ndarray) for v in (scale, bias)):
        raise Unmapped("scale and bias per group (before opset 21) or computed")
    if scale.shape != (channels,) or attrs.get("stash_type", 1) != 1:
        raise Unmapped("scale and bias are not one per channel")
    params = {"num_groups": attrs["num_groups"], "eps": float(attrs.get("epsilon", 1e-5))}
    weights = {"weight": _t(scale), "bias": _t(bias)}
    return w.layer(node, "groupnorm", params, w._ref(inputs[0]), weights=weights)


def instance_norm(w, node, inputs, attrs):
    """InstanceNormalization -> InstanceNorm1d/2d with its scale and bias."""
    rank = len(w.shape(node.input[0]))
    type_id = {3: "instancenorm1d", 4: "instancenorm2d"}.get(rank)
    scale, bias = inputs[1], inputs[2]
    if type_id is None or not w.batch:
        raise Unmapped(f"a {rank}-D input")
    if not all(isinstance(v, np.ndarray) for v in (scale, bias)):
        raise Unmapped("scale and bias are computed, not stored")
    params = {"eps": float(attrs.get("epsilon", 1e-5)), "affine": True}
    weights = {"weight": _t(scale), "bias": _t(bias)}
    return w.layer(node, type_id, params, w._ref(inputs[0]), weights=weights)


def lrn(w, node, inputs, attrs):
    """LRN -> LocalResponseNorm (the same formula: alpha is divided by the size in both)."""
    params = {
        "size": attrs["size"],
        "alpha": float(attrs.get("alpha", 1e-4)),
        "beta": float(attrs.get("beta", 0.75)),
        "k": float(attrs.get("bias", 1.0)),
    }
    if len(w.shape(node.input[0])) < 3:
        raise Unmapped("an input without channels and positions")
    return w.layer(node, "local_response_norm", params, w._ref(inputs[0]))


OPS = {
    **dict.fromkeys(_REDUCE, reduce),
    **dict.fromkeys(_MATH, math),
    "Pow": power,
    "Cast": cast,
    "CastLike": cast,
    "Where": where,
    "Pad": pad,
    "RMSNormalization": rms_norm,
    "GroupNormalization": group_norm,
    "InstanceNormalization": instance_norm,
    "LRN": lrn,
}
"""The plain mappers (ReduceMean and Erf keep their patterns first, see :mod:`.onnx_ops`)."""


def attention(w, node, inputs, attrs):
    """Attention (opset 23) without a cache, soft cap or grouped heads ->
    ScaledDotProductAttention: 4-D (N, heads, T, D) inputs as layout split, 3-D (N, T, E) as
    merged with ``q_num_heads``; a boolean or additive mask on the mask port."""
    if any(len(inputs) > i and inputs[i] is not None for i in (4, 5, 6)):
        raise Unmapped("a key/value cache or padded key lengths")
    if attrs.get("softcap", 0.0) or attrs.get("qk_matmul_output_mode", 0):
        raise Unmapped("softcap or a scores output")
    if attrs.get("q_num_heads", 0) != attrs.get("kv_num_heads", 0):
        raise Unmapped("grouped heads (fewer key/value heads than query heads)")
    ranks = {
        v.ndim if isinstance(v, np.ndarray) else len(w.shape(name) or ())
        for name, v in zip(node.input[:3], inputs[:3], strict=True)
    }
    rank = ranks.pop()
    if ranks or rank not in (3, 4):
        raise Unmapped("queries, keys and values of different ranks")
    params = {"layout": "split" if rank == 4 else "merged", "causal": bool(attrs.get("is_causal"))}
    if rank == 3:
        params["num_heads"] = attrs.get("q_num_heads") or 1
    if "scale" in attrs:
        params["scale"] = float(attrs["scale"])
    q, k, v = operands(w, node, inputs[:3], matrices=True)
    wires = [("query", q), ("key", k), ("value", v)]
    mask = inputs[3] if len(inputs) > 3 else None
    if mask is not None:
        kind = mask.dtype if isinstance(mask, np.ndarray) else w.values[node.input[3]].dtype
        params["mask_type"] = "boolean" if kind == np.bool_ else "additive"
        if isinstance(mask, np.ndarray) and kind != np.bool_:
            wires.append(("mask", constant(w, node, mask, 4)))
        elif isinstance(mask, np.ndarray):
            raise Unmapped("a constant boolean mask")
        else:
            wires.append(("mask", w._ref(mask)))
    return w.layer(node, "scaled_dot_product_attention", params, *wires)


OPS["Attention"] = attention

"""ONNX activations with parameters -> the activation layers: Elu, Celu, Selu, Softplus,
Softsign, Mish, ThresholdedRelu, HardSigmoid with any slope, and Clip to any range."""

from __future__ import annotations

import math

import numpy as np

from dlstudio.compile.importers.values import Unmapped

_NO_LIMIT = 3.4e38
"""Clip before opset 11 writes a missing limit as the largest float32."""


def _float_input(w, node) -> None:
    value = w.values.get(node.input[0])
    if value is not None and value.dtype.kind != "f":
        raise Unmapped(f"computes on {value.dtype} values")


def _alpha(default: float):
    def mapper(w, node, inputs, attrs):
        _float_input(w, node)
        type_id = {"Elu": "elu", "Celu": "celu", "ThresholdedRelu": "thresholded_relu"}
        params = {"alpha": float(attrs.get("alpha", default))}
        return w.layer(node, type_id[node.op_type], params, w._ref(inputs[0]))

    return mapper


def _plain(type_id: str):
    def mapper(w, node, inputs, attrs):
        _float_input(w, node)
        return w.layer(node, type_id, {}, w._ref(inputs[0]))

    return mapper


def selu(w, node, inputs, attrs):
    """Selu: ONNX's defaults are torch's constants rounded to float32."""
    _float_input(w, node)
    params = {
        "alpha": float(attrs.get("alpha", 1.67326319217681884765625)),
        "gamma": float(attrs.get("gamma", 1.05070102214813232421875)),
    }
    return w.layer(node, "selu", params, w._ref(inputs[0]))


def hard_sigmoid(w, node, inputs, attrs):
    """HardSigmoid: torch's Hardsigmoid for alpha 1/6, beta 0.5; any other slope as such."""
    _float_input(w, node)
    alpha, beta = float(attrs.get("alpha", 0.2)), float(attrs.get("beta", 0.5))
    if math.isclose(alpha, 1 / 6, rel_tol=1e-4) and beta == 0.5:
        return w.layer(node, "hardsigmoid", {}, w._ref(inputs[0]))
    params = {"alpha": alpha, "beta": beta}
    return w.layer(node, "scaled_hardsigmoid", params, w._ref(inputs[0]))


def clip(w, node, inputs, attrs):
    """Clip: ReLU6 for [0, 6], else a clamp to the constant limits (either may be absent)."""
    limits = []
    for index, key in ((1, "min"), (2, "max")):
        value = inputs[index] if len(inputs) > index else attrs.get(key)
        if value is not None and not isinstance(value, (np.ndarray, float, int)):
            raise Unmapped(f"the {key} limit is computed, not constant")
        if value is not None and np.size(value) != 1:
            raise Unmapped(f"a {key} limit of shape {list(np.shape(value))}")
        value = None if value is None else float(np.reshape(value, -1)[0])
        limits.append(None if value is not None and abs(value) >= _NO_LIMIT else value)
    low, high = limits
    if low == 0.0 and high == 6.0:
        return w.layer(node, "relu6", {}, w._ref(inputs[0]))
    _float_input(w, node)
    if low is None and high is None:
        return w._ref(inputs[0])
    if low is not None and high is not None and low > high:
        raise Unmapped(f"clips to [{low}, {high}], an empty range")
    params = {"function": "clamp", "min": low, "max": high}
    return w.layer(node, "math", params, w._ref(inputs[0]))


OPS = {
    "Elu": _alpha(1.0),
    "Celu": _alpha(1.0),
    "ThresholdedRelu": _alpha(1.0),
    "Selu": selu,
    "Softplus": _plain("softplus"),
    "Softsign": _plain("softsign"),
    "Mish": _plain("mish"),
    "HardSigmoid": hard_sigmoid,
    "Clip": clip,
}
"""Mappers by ONNX ``op_type``."""

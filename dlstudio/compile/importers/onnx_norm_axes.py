"""LayerNormalization and RMSNormalization over the trailing axes from ``axis`` on (not only
the last): Flatten from ``axis``, the normalisation over the flattened features, and Reshape
back. The scale (and bias) flatten the same way; the values are those of one normalisation
over the block, which is what ONNX computes."""

from __future__ import annotations

from math import prod

import numpy as np
import torch

from dlstudio.compile.importers.onnx_shape_ops import _last, _step
from dlstudio.compile.importers.values import Unmapped


def normalised_axes(w, node, attrs) -> tuple[int, int]:
    """(first normalised axis, rank); refused when the batch would be normalised over."""
    rank = len(w.shape(node.input[0]))
    start = attrs.get("axis", -1) % rank
    if start == 0 and w.batch:
        raise Unmapped("normalises over the batch dimension")
    return start, rank


def flattened(w, node, x, start: int, type_id: str, params: dict, weights: dict):
    """``type_id`` over the axes from ``start`` on: Flatten, the layer, Reshape back."""
    before = w.shape(node.input[0])
    features = prod(before[start:])
    flat_weights = {}
    for key, value in weights.items():
        if not isinstance(value, np.ndarray):
            raise Unmapped(f"the {key} is computed, not stored")
        if value.size != features:
            value = np.broadcast_to(value, before[start:])
        flat_weights[key] = torch.from_numpy(np.ascontiguousarray(value).reshape(-1).copy())
    ref = w._ref(x)
    if start < len(before) - 1:
        flat = {"start_dim": start, "end_dim": -1}
        ref = _step(w, w.layer(node, "flatten", flat, ref))
    ref = w.layer(node, type_id, params, ref, weights=flat_weights)
    if start < len(before) - 1:
        ref = _step(w, ref)
        ref = w.layer(node, "reshape", {"shape": tuple(before[1:])}, ref)
    return _last(w, node, ref)


def statistics(w, node, x, start: int, eps: float) -> list:
    """LayerNormalization's second and third outputs, the mean and 1 / sqrt(variance + eps)
    over the normalised axes (kept with size 1), as Reduce, Subtract, Math and ConstantOp."""
    rank = len(w.shape(node.input[0]))
    dims = tuple(range(start, rank))
    source = w._ref(x)
    keep = {"dims": dims, "keepdim": True}
    names = w.builder.result.source_names
    mean = _step(w, w.layer(node, "reduce", {"op": "mean", **keep}, source))
    if node.output[1]:
        names[mean.node_id] = node.output[1]
    centred = _step(w, w.layer(node, "subtract", {}, ("in1", source), ("in2", mean)))
    square = _step(w, w.layer(node, "math", {"function": "pow", "exponent": 2.0}, centred))
    variance = _step(w, w.layer(node, "reduce", {"op": "mean", **keep}, square))
    shifted = _step(w, w.layer(node, "constant_op", {"op": "x + c", "value": eps}, variance))
    inverse = _step(w, w.layer(node, "math", {"function": "rsqrt"}, shifted))
    if len(node.output) > 2 and node.output[2]:
        names[inverse.node_id] = node.output[2]
    return [mean, inverse]

"""ONNX ArgMax/ArgMin, Trilu and CumSum -> the ArgMax, Triangle and CumSum layers."""

from __future__ import annotations

import numpy as np

from dlstudio.compile.importers.onnx_arith import operands
from dlstudio.compile.importers.values import Unmapped


def _scalar(inputs, index: int, what: str, default: int) -> int:
    if len(inputs) <= index or inputs[index] is None:
        return default
    if not isinstance(inputs[index], np.ndarray) or inputs[index].size != 1:
        raise Unmapped(f"{what} is computed, not one constant")
    return int(inputs[index].reshape(-1)[0])


def _not_batch(w, dim: int, rank: int, what: str) -> int:
    dim %= max(rank, 1)
    if dim == 0 and w.batch:
        raise Unmapped(f"{what} along the batch dimension")
    return dim


def argmax(w, node, inputs, attrs):
    """ArgMax and ArgMin (the first index when values tie, or the last)."""
    rank = len(w.shape(node.input[0]))
    dim = _not_batch(w, attrs.get("axis", 0), rank, "looks")
    params = {
        "op": "max" if node.op_type == "ArgMax" else "min",
        "dim": dim,
        "keepdim": bool(attrs.get("keepdims", 1)),
        "last": bool(attrs.get("select_last_index", 0)),
    }
    return w.layer(node, "argmax", params, w._ref(inputs[0]))


def trilu(w, node, inputs, attrs):
    """Trilu with a constant diagonal offset ``k``."""
    params = {
        "part": "upper" if attrs.get("upper", 1) else "lower",
        "diagonal": _scalar(inputs, 1, "the diagonal k", 0),
    }
    return w.layer(node, "triangle", params, w._ref(inputs[0]))


def cumsum(w, node, inputs, attrs):
    """CumSum along a constant axis, of floats or int64 (torch sums other integers in int64)."""
    value = w.values.get(node.input[0])
    if value is not None and value.dtype.kind != "f" and value.dtype != np.int64:
        raise Unmapped(f"running sums of {value.dtype} values (torch gives int64)")
    rank = len(w.shape(node.input[0]))
    if len(inputs) < 2 or not isinstance(inputs[1], np.ndarray):
        raise Unmapped("the axis is computed, not constant")
    dim = _not_batch(w, int(inputs[1].reshape(-1)[0]), rank, "sums")
    params = {
        "dim": dim,
        "exclusive": bool(attrs.get("exclusive", 0)),
        "reverse": bool(attrs.get("reverse", 0)),
    }
    return w.layer(node, "cumsum", params, w._ref(inputs[0]))


def gather_elements(w, node, inputs, attrs):
    """GatherElements with indices that are not negative (torch.gather has no negative ones)."""
    index = inputs[1]
    if isinstance(index, np.ndarray) and (index < 0).any():
        raise Unmapped("negative indices (torch.gather takes none)")
    rank = len(w.shape(node.input[0]))
    dim = _not_batch(w, attrs.get("axis", 0), rank, "gathers")
    kind = index.dtype if isinstance(index, np.ndarray) else w.values[node.input[1]].dtype
    if kind != np.int64:
        raise Unmapped(f"{kind} indices (torch.gather takes int64)")
    data, positions = operands(w, node, inputs[:2])
    params = {"dim": dim}
    return w.layer(node, "gather_elements", params, ("in", data), ("index", positions))


OPS = {
    "ArgMax": argmax,
    "ArgMin": argmax,
    "Trilu": trilu,
    "CumSum": cumsum,
    "GatherElements": gather_elements,
}
"""Mappers by ONNX ``op_type``."""

"""ONNX operators that take tensors apart or change their dimensions -> Split, Slice, Squeeze,
Unsqueeze, Expand and Tile layers, plus Cast to the dtype a value already has, and
ConvTranspose. The batch (axis 0) is never split, sliced, squeezed or tiled: a node that would
is refused with that reason."""

from __future__ import annotations

import numpy as np
import torch

from dlstudio.compile.importers.builder import TensorRef
from dlstudio.compile.importers.values import Unmapped

_END = 2**31 - 1
"""ONNX writes "to the end" as a huge end (INT64_MAX, INT32_MAX); Python slicing says None."""


def _list(value) -> list[int] | None:
    if value is None:
        return None
    if not isinstance(value, np.ndarray):
        raise Unmapped("a size or axis that is computed, not constant")
    return [int(v) for v in np.atleast_1d(value)]


def _axes(w, node, inputs, attrs, index: int = 1) -> list[int] | None:
    """``axes`` from the attribute (older opsets) or the input at ``index``."""
    axes = attrs.get("axes")
    if axes is None and len(inputs) > index:
        axes = _list(inputs[index])
    return None if axes is None else list(axes)


def _not_batch(axes: list[int], rank: int, what: str) -> list[int]:
    axes = [a % rank for a in axes]
    if 0 in axes:
        raise Unmapped(f"{what} the batch dimension (axis 0)")
    return axes


def split(w, node, inputs, attrs):
    """Split into pieces of the sizes the example run gave (``split``/``num_outputs``)."""
    rank = len(w.shape(node.input[0]))
    (axis,) = _not_batch([attrs.get("axis", 0)], rank, "splits")
    sizes = [w.shape(name)[axis] for name in node.output]
    if len(sizes) < 2:
        return [w._ref(inputs[0])]
    if min(sizes) < 1:
        raise Unmapped(f"pieces of sizes {sizes} (an empty piece)")
    params = {"outputs": len(sizes), "dim": axis, "sizes": tuple(sizes)}
    ref = w.layer(node, "split", params, w._ref(inputs[0]))
    return [TensorRef(ref.node_id, f"out{i}") for i in range(1, len(sizes) + 1)]


def slice_(w, node, inputs, attrs):
    """One Slice layer per sliced axis (positive steps; Python clamps as ONNX does)."""
    if w.opset < 10:
        starts, ends = attrs.get("starts"), attrs.get("ends")
        axes, steps = attrs.get("axes"), None
    else:
        starts, ends = _list(inputs[1]), _list(inputs[2])
        axes = _list(inputs[3]) if len(inputs) > 3 and inputs[3] is not None else None
        steps = _list(inputs[4]) if len(inputs) > 4 and inputs[4] is not None else None
    rank = len(w.shape(node.input[0]))
    axes = _not_batch(list(axes or range(len(starts))), rank, "slices")
    steps = list(steps or [1] * len(starts))
    if any(s < 1 for s in steps):
        raise Unmapped(f"steps {steps} (only forward steps have a layer)")
    ref = w._ref(inputs[0])
    for axis, start, end, step in zip(axes, starts, ends, steps, strict=True):
        params = {
            "dim": axis,
            "start": max(int(start), -_END),
            "end": None if end >= _END else max(int(end), -_END),
            "step": step,
        }
        ref = w.layer(node, "slice", params, ref)
    return ref


def squeeze(w, node, inputs, attrs):
    """One Squeeze layer per removed axis (all size-1 axes but the batch when none given)."""
    before = w.shape(node.input[0])
    axes = _axes(w, node, inputs, attrs)
    if axes is None:
        axes = [a for a in range(1, len(before)) if before[a] == 1]
    ref = w._ref(inputs[0])
    for axis in sorted(_not_batch(axes, len(before), "squeezes"), reverse=True):
        ref = w.layer(node, "squeeze", {"dim": axis}, ref)
    return ref


def unsqueeze(w, node, inputs, attrs):
    """One Unsqueeze layer per inserted axis, in increasing order of the output's axes."""
    after = w.shape(node.output[0])
    axes = _axes(w, node, inputs, attrs)
    ref = w._ref(inputs[0])
    for axis in sorted(_not_batch(axes or [], len(after), "inserts")):
        ref = w.layer(node, "unsqueeze", {"dim": axis}, ref)
    return ref


def expand(w, node, inputs, attrs):
    """Expand to the example's output shape, keeping the batch (-1) and the rank."""
    before, after = w.shape(node.input[0]), w.shape(node.output[0])
    if len(before) != len(after) or before[0] != after[0]:
        raise Unmapped(f"broadcasts {list(before)} to {list(after)} (the batch would move)")
    if before == after:
        return w._ref(inputs[0])
    target = [-1] + [-1 if b == a else a for b, a in zip(before[1:], after[1:], strict=True)]
    return w.layer(node, "expand", {"shape": tuple(target)}, w._ref(inputs[0]))


def tile(w, node, inputs, attrs):
    """Tile with the batch repeated once."""
    repeats = _list(inputs[1])
    if not repeats or repeats[0] != 1:
        raise Unmapped(f"repeats {repeats} (the batch would be repeated)")
    return w.layer(node, "tile", {"repeats": tuple(repeats)}, w._ref(inputs[0]))


def cast(w, node, inputs, attrs):
    """Cast to the dtype the value already has: nothing to do."""
    before, after = w.values.get(node.input[0]), w.values.get(node.output[0])
    if before is not None and after is not None and before.dtype == after.dtype:
        return inputs[0]
    kinds = f"{getattr(before, 'dtype', '?')} to {getattr(after, 'dtype', '?')}"
    raise Unmapped(f"casts {kinds}")


def conv_transpose(w, node, inputs, attrs):
    """ConvTranspose (2-D, stored weights, symmetric pads) -> ConvTranspose2d."""
    weight = inputs[1]
    bias = inputs[2] if len(inputs) > 2 else None
    if not isinstance(weight, np.ndarray) or (
        bias is not None and not isinstance(bias, np.ndarray)
    ):
        raise Unmapped("weights are computed, not stored")
    if weight.ndim != 4:
        raise Unmapped(f"{weight.ndim - 2}-D transposed convolution")
    if attrs.get("output_shape") or attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise Unmapped("output_shape or auto_pad (the padding is computed)")
    pads = list(attrs.get("pads", [0] * 4))
    if pads[:2] != pads[2:]:
        raise Unmapped(f"asymmetric padding {pads}")
    group = attrs.get("group", 1)
    params = {
        "out_channels": weight.shape[1] * group,
        "kernel_size": tuple(weight.shape[2:]),
        "stride": tuple(attrs.get("strides", [1, 1])),
        "padding": tuple(pads[:2]),
        "output_padding": tuple(attrs.get("output_padding", [0, 0])),
        "dilation": tuple(attrs.get("dilations", [1, 1])),
        "groups": group,
        "bias": bias is not None,
    }
    weights = {"weight": torch.from_numpy(np.ascontiguousarray(weight).copy())}
    if bias is not None:
        weights["bias"] = torch.from_numpy(np.ascontiguousarray(bias).copy())
    return w.layer(node, "conv_transpose2d", params, w._ref(inputs[0]), weights=weights)


OPS = {
    "Split": split,
    "Slice": slice_,
    "Squeeze": squeeze,
    "Unsqueeze": unsqueeze,
    "Expand": expand,
    "Tile": tile,
    "Cast": cast,
    "ConvTranspose": conv_transpose,
}
"""The plain mappers; the patterns in :mod:`.onnx_patterns` fall back to them."""

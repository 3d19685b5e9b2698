"""ONNX pooling and normalisation -> pooling, BatchNorm and LayerNorm layers, with the
semantics that change by opset (``auto_pad``, ``training_mode``, ``is_test``) and Dropout, which
passes its input through at inference."""

from __future__ import annotations

import numpy as np
import torch

from dlstudio.compile.importers.onnx_math_ops import reduce
from dlstudio.compile.importers.onnx_norm_axes import flattened, normalised_axes, statistics
from dlstudio.compile.importers.values import Unmapped


def _t(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array).copy())


def _pads(w, node, attrs, kernel: tuple[int, ...], dilation: tuple[int, ...]) -> tuple[int, ...]:
    """Symmetric padding per spatial axis from ``pads`` or ``auto_pad`` (SAME_UPPER/LOWER
    computed from the input size, as onnxruntime does; VALID is none)."""
    begin, end = _sides(w, node, attrs, kernel, dilation)
    if begin != end:
        raise Unmapped(f"asymmetric padding ({list(begin)} before, {list(end)} after)")
    return begin


def _sides(w, node, attrs, kernel, dilation) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The padding before and after each spatial axis (``pads``, or ``auto_pad``)."""
    spatial = len(kernel)
    auto = attrs.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    if auto in ("NOTSET", ""):
        pads = list(attrs.get("pads") or [0] * (2 * spatial))
        return tuple(pads[:spatial]), tuple(pads[spatial:])
    if auto == "VALID":
        return (0,) * spatial, (0,) * spatial
    size = w.shape(node.input[0])[2:]
    strides = tuple(attrs.get("strides", [1] * spatial))
    begin, end = [], []
    for n, k, s, d in zip(size, kernel, strides, dilation, strict=True):
        total = max((-(-n // s) - 1) * s + (k - 1) * d + 1 - n, 0)
        small, large = total // 2, total - total // 2
        begin.append(small if auto == "SAME_UPPER" else large)
        end.append(large if auto == "SAME_UPPER" else small)
    return tuple(begin), tuple(end)


def _pad_first(w, node, x, kind: str, attrs, kernel, dilation, begin, end):
    """Uneven padding as a Pad layer before the pool. A max pool pads with the edge values
    (every window reaching into the padding holds the edge itself, when windows are contiguous
    and the padding is narrower than the kernel); an average pool that counts the padding pads
    with zeros."""
    if kind == "max" and (
        set(dilation) != {1}
        or any(max(b, e) >= k for b, e, k in zip(begin, end, kernel, strict=True))
    ):
        raise Unmapped(f"uneven padding ({list(begin)} before, {list(end)} after) with dilation")
    if kind == "avg" and not attrs.get("count_include_pad", 0):
        raise Unmapped(
            f"uneven padding ({list(begin)} before, {list(end)} after) left out of the average"
        )
    torch_pads: list[int] = []
    for b, e in reversed(list(zip(begin, end, strict=True))):
        torch_pads.extend((b, e))
    mode = "replicate" if kind == "max" else "constant"
    ref = w.layer(node, "pad", {"pads": tuple(torch_pads), "mode": mode}, w._ref(x))
    w.builder.result.source_names.pop(ref.node_id)  # the pool's value is the node's output
    return ref


def _training(attrs, opset: int) -> bool:
    """Whether a node asks for training behaviour (``training_mode``, or before opset 7 the
    absence of ``is_test``)."""
    if attrs.get("training_mode", 0):
        return True
    return opset < 7 and not attrs.get("is_test", 0)


def _pool(kind: str):
    def mapper(w, node, inputs, attrs):
        kernel = tuple(attrs["kernel_shape"])
        spatial = len(kernel)
        dilation = tuple(attrs.get("dilations", [1] * spatial))
        if kind == "avg" and set(dilation) != {1}:
            raise Unmapped("dilation (an average pool has none in torch)")
        if spatial not in (1, 2):
            raise Unmapped(f"{spatial}-D pooling")
        begin, end = _sides(w, node, attrs, kernel, dilation)
        x = inputs[0]
        if begin != end:
            x = _pad_first(w, node, x, kind, attrs, kernel, dilation, begin, end)
            begin = end = (0,) * spatial
        padding = begin
        reach = [(k - 1) * d + 1 for k, d in zip(kernel, dilation, strict=True)]
        if any(p > r // 2 for p, r in zip(padding, reach, strict=True)):
            raise Unmapped(f"pads {list(padding)} larger than half the kernel {list(kernel)}")
        if attrs.get("storage_order", 0):
            raise Unmapped("storage_order=1")
        params = {"kernel_size": kernel, "padding": padding}
        stride = tuple(attrs.get("strides", [1] * spatial))
        if stride != kernel:
            params["stride"] = stride
        if attrs.get("ceil_mode", 0):
            params["ceil_mode"] = True
        if kind == "max" and set(dilation) != {1}:
            params["dilation"] = dilation
        if kind == "avg" and any(padding):
            params["count_include_pad"] = bool(attrs.get("count_include_pad", 0))
        return w.layer(node, f"{kind}pool{spatial}d", params, w._ref(x))

    return mapper


def _global_pool(w, node, inputs, attrs):
    return w.layer(node, "adaptive_avgpool2d", {"output_size": 1}, w._ref(inputs[0]))


def _reduce_mean(w, node, inputs, attrs):
    axes = attrs.get("axes")
    if axes is None and len(inputs) > 1 and isinstance(inputs[1], np.ndarray):
        axes = np.atleast_1d(inputs[1]).tolist()
    rank = len(w.shape(node.input[0]))
    if rank == 0:
        return reduce(w, node, inputs, attrs)
    axes = sorted(a % rank for a in (axes or []))
    keep = attrs.get("keepdims", 1)
    if not keep and rank >= 3 and axes == list(range(2, rank)):
        return w.layer(node, "global_avgpool", {}, w._ref(inputs[0]))
    if keep and rank == 4 and axes == [2, 3]:
        return w.layer(node, "adaptive_avgpool2d", {"output_size": 1}, w._ref(inputs[0]))
    if not keep and rank == 3 and axes == [1]:
        return w.layer(node, "mean_over_time", {}, w._ref(inputs[0]))
    return reduce(w, node, inputs, attrs)


def _batchnorm(w, node, inputs, attrs):
    x, scale, bias, mean, var = inputs[:5]
    if _training(attrs, w.opset):
        raise Unmapped("training mode (batch statistics)")
    if not attrs.get("spatial", 1):
        raise Unmapped("spatial=0 (statistics per position)")
    if not all(isinstance(v, np.ndarray) for v in (scale, bias, mean, var)):
        raise Unmapped("statistics are computed, not stored")
    rank = len(w.shape(node.input[0]))
    type_id = {2: "batchnorm1d", 3: "batchnorm1d", 4: "batchnorm2d"}.get(rank)
    if type_id is None:
        raise Unmapped(f"{rank}-D input")
    weights = {
        "weight": _t(scale),
        "bias": _t(bias),
        "running_mean": _t(mean),
        "running_var": _t(var),
        "num_batches_tracked": torch.tensor(0),
    }
    params = {
        "eps": attrs.get("epsilon", 1e-5),
        "momentum": round(1 - attrs.get("momentum", 0.9), 6),
    }
    return w.layer(node, type_id, params, w._ref(x), weights=weights)


def _layernorm(w, node, inputs, attrs):
    """LayerNormalization over the axes from ``axis`` on (see :mod:`.onnx_norm_axes`)."""
    x, scale = inputs[0], inputs[1]
    bias = inputs[2] if len(inputs) > 2 else None
    start, _rank = normalised_axes(w, node, attrs)
    weights = {"weight": scale}
    if bias is not None:
        weights["bias"] = bias
    params = {"eps": attrs.get("epsilon", 1e-5), "bias": bias is not None}
    y = flattened(w, node, x, start, "layernorm", params, weights)
    if not any(node.output[1:]):
        return y
    return [y, *statistics(w, node, x, start, float(params["eps"]))]


def _dropout(w, node, inputs, attrs):
    """Inference: the input passes through; training (``training_mode`` true) is refused."""
    training = inputs[2] if len(inputs) > 2 else None
    if training is not None and not (isinstance(training, np.ndarray) and not training.any()):
        raise Unmapped("training_mode (drops values at random)")
    if _training(attrs, w.opset):
        raise Unmapped("training mode (is_test=0, before opset 7)")
    return inputs[0]

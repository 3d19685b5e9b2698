"""ONNX pooling and normalisation -> pooling, BatchNorm and LayerNorm layers, with the
semantics that change by opset (``auto_pad``, ``training_mode``, ``is_test``) and Dropout, which
passes its input through at inference."""

from __future__ import annotations

import numpy as np
import torch

from dlstudio.compile.importers.values import Unmapped


def _t(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array).copy())


def _symmetric(pads: list[int], spatial: int) -> tuple[int, ...]:
    pads = list(pads or [0] * (2 * spatial))
    begin, end = pads[:spatial], pads[spatial:]
    if begin != end:
        raise Unmapped(f"asymmetric padding {pads}")
    return tuple(begin)


def _pads(w, node, attrs, kernel: tuple[int, ...], dilation: tuple[int, ...]) -> tuple[int, ...]:
    """Symmetric padding per spatial axis from ``pads`` or ``auto_pad`` (SAME_UPPER/LOWER
    computed from the input size, as onnxruntime does; VALID is none)."""
    spatial = len(kernel)
    auto = attrs.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    if auto in ("NOTSET", ""):
        return _symmetric(attrs.get("pads"), spatial)
    if auto == "VALID":
        return (0,) * spatial
    size = w.shape(node.input[0])[2:]
    strides = tuple(attrs.get("strides", [1] * spatial))
    begin, end = [], []
    for n, k, s, d in zip(size, kernel, strides, dilation, strict=True):
        total = max((-(-n // s) - 1) * s + (k - 1) * d + 1 - n, 0)
        small, large = total // 2, total - total // 2
        begin.append(small if auto == "SAME_UPPER" else large)
        end.append(large if auto == "SAME_UPPER" else small)
    if begin != end:
        raise Unmapped(f"auto_pad {auto} pads unevenly ({begin} before, {end} after)")
    return tuple(begin)


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
        if attrs.get("ceil_mode", 0) or set(attrs.get("dilations", [1])) != {1}:
            raise Unmapped("ceil_mode or dilation")
        padding = _pads(w, node, attrs, kernel, (1,) * spatial)
        if kind == "avg" and not attrs.get("count_include_pad", 0) and any(padding):
            raise Unmapped("count_include_pad=0 with padding")
        if any(p > k // 2 for p, k in zip(padding, kernel, strict=True)):
            raise Unmapped(f"pads {list(padding)} larger than half the kernel {list(kernel)}")
        if attrs.get("storage_order", 0):
            raise Unmapped("storage_order=1")
        params = {"kernel_size": kernel, "padding": padding}
        stride = tuple(attrs.get("strides", [1] * spatial))
        if stride != kernel:
            params["stride"] = stride
        return w.layer(node, f"{kind}pool{spatial}d", params, w._ref(inputs[0]))

    return mapper


def _global_pool(w, node, inputs, attrs):
    return w.layer(node, "adaptive_avgpool2d", {"output_size": 1}, w._ref(inputs[0]))


def _reduce_mean(w, node, inputs, attrs):
    axes = attrs.get("axes")
    if axes is None and len(inputs) > 1 and isinstance(inputs[1], np.ndarray):
        axes = np.atleast_1d(inputs[1]).tolist()
    rank = len(w.shape(node.input[0]))
    axes = sorted(a % rank for a in (axes or []))
    keep = attrs.get("keepdims", 1)
    if not keep and rank >= 3 and axes == list(range(2, rank)):
        return w.layer(node, "global_avgpool", {}, w._ref(inputs[0]))
    if keep and rank == 4 and axes == [2, 3]:
        return w.layer(node, "adaptive_avgpool2d", {"output_size": 1}, w._ref(inputs[0]))
    if not keep and rank == 3 and axes == [1]:
        return w.layer(node, "mean_over_time", {}, w._ref(inputs[0]))
    raise Unmapped(f"averages over axes {axes}")


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
    x, scale = inputs[0], inputs[1]
    bias = inputs[2] if len(inputs) > 2 else None
    rank = len(w.shape(node.input[0]))
    if attrs.get("axis", -1) % rank != rank - 1:
        raise Unmapped("normalises over more than the last dimension")
    weights = {"weight": _t(scale)}
    if bias is not None:
        weights["bias"] = _t(bias)
    params = {"eps": attrs.get("epsilon", 1e-5), "bias": bias is not None}
    return w.layer(node, "layernorm", params, w._ref(x), weights=weights)


def _dropout(w, node, inputs, attrs):
    """Inference: the input passes through; training (``training_mode`` true) is refused."""
    training = inputs[2] if len(inputs) > 2 else None
    if training is not None and not (isinstance(training, np.ndarray) and not training.any()):
        raise Unmapped("training_mode (drops values at random)")
    if _training(attrs, w.opset):
        raise Unmapped("training mode (is_test=0, before opset 7)")
    return inputs[0]

"""ONNX operators -> catalogue layers, one mapper per ``op_type`` in :data:`OPS`.

A mapper gets the walker, the ONNX node, its input values (graph tensors, numpy constants or
:class:`Deferred` values) and its attributes, and returns the value(s) for its outputs or raises
:class:`Unmapped`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from dlstudio.compile.importers.builder import TensorRef
from dlstudio.compile.importers.call import flatten_span
from dlstudio.compile.importers.values import Deferred, Unmapped


def _local(where: str) -> str:
    return where.strip("/").replace("/", "_").replace(".", "_") or "node"


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


# ---------------------------------------------------------------------- ops
def _conv(w, node, inputs, attrs) -> TensorRef:
    x, weight = inputs[0], inputs[1]
    bias = inputs[2] if len(inputs) > 2 else None
    if not isinstance(weight, np.ndarray) or (
        bias is not None and not isinstance(bias, np.ndarray)
    ):
        raise Unmapped("weights are computed, not stored")
    spatial = weight.ndim - 2
    if spatial not in (1, 2):
        raise Unmapped(f"{spatial}-D convolution")
    dilation = tuple(attrs.get("dilations", [1] * spatial))
    params = {
        "out_channels": weight.shape[0],
        "kernel_size": tuple(weight.shape[2:]),
        "stride": tuple(attrs.get("strides", [1] * spatial)),
        "padding": _pads(w, node, attrs, tuple(weight.shape[2:]), dilation),
        "dilation": dilation,
        "groups": attrs.get("group", 1),
        "bias": bias is not None,
    }
    weights = {"weight": _t(weight)}
    if bias is not None:
        weights["bias"] = _t(bias)
    return w.layer(node, f"conv{spatial}d", params, w._ref(x), weights=weights)


def _gemm(w, node, inputs, attrs) -> TensorRef:
    x, b = inputs[0], inputs[1]
    c = inputs[2] if len(inputs) > 2 else None
    if attrs.get("transA", 0) or attrs.get("alpha", 1.0) != 1.0 or attrs.get("beta", 1.0) != 1.0:
        raise Unmapped("transA, alpha or beta")
    if not isinstance(b, np.ndarray) or (c is not None and not isinstance(c, np.ndarray)):
        raise Unmapped("weights are computed, not stored")
    weight = b if attrs.get("transB", 0) else b.T
    weights = {"weight": _t(weight)}
    if c is not None:
        units = weight.shape[0]
        if c.size not in (1, units) or c.ndim > 2 or (c.ndim == 2 and c.shape[0] != 1):
            raise Unmapped(f"adds a bias of shape {list(c.shape)}, not one value per unit")
        weights["bias"] = _t(np.broadcast_to(c.reshape(-1), (units,)).copy())
    params = {"units": weight.shape[0], "bias": c is not None}
    return w.layer(node, "dense", params, w._ref(x), weights=weights)


def _matmul(w, node, inputs, attrs) -> TensorRef:
    x, b = inputs
    if not isinstance(b, np.ndarray) or b.ndim != 2:
        raise Unmapped("multiplies two computed tensors")
    ref = w.layer(
        node, "dense", {"units": b.shape[1], "bias": False}, w._ref(x), weights={"weight": _t(b.T)}
    )
    w.biasless[ref.node_id] = b.shape[1]
    return ref


def _add(w, node, inputs, attrs) -> Any:
    a, b = inputs
    if isinstance(a, np.ndarray) and not isinstance(b, np.ndarray):
        a, b = b, a
    if isinstance(b, np.ndarray):
        if isinstance(a, Deferred) and a.kind == "erf" and np.allclose(b, 1.0):
            return Deferred("1+erf", a.base, node, inputs, w.shape(node.output[0]))
        if (
            isinstance(a, TensorRef)
            and a.node_id in w.biasless
            and b.shape == (w.biasless[a.node_id],)
        ):
            w.builder.result.source_names[a.node_id] = node.output[0]
            return _fold_bias(w, a, b)
        return _positions(w, node, a, b)
    return w.layer(node, "add", {"inputs": 2}, ("in1", w._ref(a)), ("in2", w._ref(b)))


def _fold_bias(w, ref: TensorRef, bias: np.ndarray) -> TensorRef:
    """MatMul then Add of a vector: one Dense with a bias."""
    graph = w.builder.graph
    key = w.bias_key.pop(ref.node_id, "bias")
    if key == "bias":
        params = dict(graph.node(ref.node_id).params)
        params.pop("bias", None)
        graph.update_node(ref.node_id, params=params)
    w.builder.result.weights[ref.node_id][key] = _t(bias)
    del w.biasless[ref.node_id]
    return ref


def _positions(w, node, x, table: np.ndarray) -> TensorRef:
    shape = w.shape(node.output[0])
    table = np.squeeze(table, 0) if table.ndim == 3 and table.shape[0] == 1 else table
    if shape is None or len(shape) != 3 or table.shape != tuple(shape[1:]):
        raise Unmapped(f"adds a constant of shape {table.shape}")
    params = {"mode": "learned", "max_len": table.shape[0], "dropout": 0.0}
    return w.layer(node, "positional_encoding", params, w._ref(x), weights={"weight": _t(table)})


def _mul(w, node, inputs, attrs) -> Any:
    a, b = inputs
    if isinstance(a, np.ndarray) and not isinstance(b, np.ndarray):
        a, b = b, a
    gelu = isinstance(a, Deferred) and a.kind == "x*(1+erf)" and isinstance(b, np.ndarray)
    if gelu and np.allclose(b, 0.5):
        return w.layer(node, "gelu", {}, a.base)
    if isinstance(b, Deferred) and b.kind == "1+erf" and a == b.base:
        return Deferred("x*(1+erf)", b.base, node, inputs, w.shape(node.output[0]))
    if isinstance(a, Deferred) and a.kind == "1+erf" and b == a.base:
        return Deferred("x*(1+erf)", a.base, node, inputs, w.shape(node.output[0]))
    if isinstance(b, np.ndarray):
        raise Unmapped("multiplies by a constant")
    return w.layer(node, "multiply", {"inputs": 2}, ("in1", w._ref(a)), ("in2", w._ref(b)))


def _div(w, node, inputs, attrs) -> Any:
    x, c = inputs
    if isinstance(x, TensorRef) and isinstance(c, np.ndarray) and np.allclose(c, math.sqrt(2)):
        return Deferred("x/sqrt2", x, node, inputs, w.shape(node.output[0]))
    raise Unmapped("divides")


def _erf(w, node, inputs, attrs) -> Any:
    x = inputs[0]
    if isinstance(x, Deferred) and x.kind == "x/sqrt2":
        return Deferred("erf", x.base, node, inputs, w.shape(node.output[0]))
    raise Unmapped()


def _unary(type_id: str):
    return lambda w, node, inputs, attrs: w.layer(node, type_id, {}, w._ref(inputs[0]))


def _softmax(type_id: str):
    def mapper(w, node, inputs, attrs):
        shape = w.shape(node.output[0])
        rank = len(shape)
        if w.opset < 13:
            # Before opset 13: the input is flattened to 2-D at ``axis`` (default 1) and
            # normalised over everything from ``axis`` on; one axis when the rest are ones.
            start = attrs.get("axis", 1) % rank
            wide = [a for a in range(start, rank) if shape[a] != 1]
            if len(wide) > 1:
                raise Unmapped(
                    f"normalises over the flattened axes {start}..{rank - 1} (before opset 13)"
                )
            axis = wide[0] if wide else rank - 1
        else:
            axis = attrs.get("axis", -1) % rank
        if axis == 0:
            raise Unmapped("acts over the batch dimension")
        dim = axis - rank
        return w.layer(node, type_id, {"dim": dim}, w._ref(inputs[0]))

    return mapper


def _clip(w, node, inputs, attrs) -> TensorRef:
    low = inputs[1] if len(inputs) > 1 else attrs.get("min")
    high = inputs[2] if len(inputs) > 2 else attrs.get("max")
    if low is not None and high is not None and float(low) == 0.0 and float(high) == 6.0:
        return w.layer(node, "relu6", {}, w._ref(inputs[0]))
    raise Unmapped(f"clips to [{low}, {high}]")


def _leaky(w, node, inputs, attrs):
    return w.layer(
        node, "leaky_relu", {"negative_slope": attrs.get("alpha", 0.01)}, w._ref(inputs[0])
    )


def _hardsigmoid(w, node, inputs, attrs):
    if not (
        math.isclose(attrs.get("alpha", 0.2), 1 / 6, rel_tol=1e-4) and attrs.get("beta", 0.5) == 0.5
    ):
        raise Unmapped("alpha/beta other than torch's 1/6 and 0.5")
    return w.layer(node, "hardsigmoid", {}, w._ref(inputs[0]))


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


def _flatten(w, node, inputs, attrs):
    axis = attrs.get("axis", 1)
    if axis != 1:
        raise Unmapped(f"axis={axis}")
    return w.layer(node, "flatten", {}, w._ref(inputs[0]))


def _reshape(w, node, inputs, attrs):
    before, after = w.shape(node.input[0]), w.shape(node.output[0])
    if not after or after[0] != before[0]:
        raise Unmapped("changes the batch dimension")
    span = flatten_span(before, after)
    if span is not None:
        start, end = span
        params = {"start_dim": start, "end_dim": -1 if end == len(before) - 1 else end}
        return w.layer(node, "flatten", params, w._ref(inputs[0]))
    return w.layer(node, "reshape", {"shape": after[1:]}, w._ref(inputs[0]))


def _transpose(w, node, inputs, attrs):
    perm = tuple(attrs.get("perm", ()))
    if not perm or perm[0] != 0:
        raise Unmapped("moves the batch dimension")
    return w.layer(node, "permute", {"dims": perm}, w._ref(inputs[0]))


def _concat(w, node, inputs, attrs):
    axis = attrs["axis"]
    rank = len(w.shape(node.output[0]))
    if axis % rank == 0:
        raise Unmapped("concatenates along the batch")
    if len(inputs) == 2 and isinstance(inputs[0], np.ndarray) and axis % rank == 1:
        token = inputs[0]
        if token.ndim == 3 and token.shape[1] == 1 and np.all(token == token[:1]):
            return w.layer(
                node, "cls_token", {}, w._ref(inputs[1]), weights={"token": _t(token[:1])}
            )
    refs = [w._ref(v) for v in inputs]
    wires = [(f"in{i}", r) for i, r in enumerate(refs, start=1)]
    return w.layer(node, "concat", {"inputs": len(refs), "axis": axis}, *wires)


def _gather(w, node, inputs, attrs):
    data, index = inputs
    axis = attrs.get("axis", 0)
    if isinstance(data, np.ndarray) and data.ndim == 2 and axis == 0:
        params = {"num_embeddings": data.shape[0], "embedding_dim": data.shape[1]}
        return w.layer(node, "embedding", params, w._ref(index), weights={"weight": _t(data)})
    if (
        isinstance(data, TensorRef)
        and isinstance(index, np.ndarray)
        and index.ndim == 0
        and axis == 1
    ):
        step = int(index)
        if len(w.shape(node.input[0])) == 3:
            which = {0: "first", -1: "last"}.get(step, "index")
            params = {"which": which} if which != "index" else {"which": "index", "index": step}
            return w.layer(node, "select_step", params, data)
    raise Unmapped("gathers other than an embedding lookup or one time step")


def _gelu(w, node, inputs, attrs):
    approximate = attrs.get("approximate", b"none")
    approximate = approximate.decode() if isinstance(approximate, bytes) else approximate
    return w.layer(node, "gelu", {"approximate": approximate}, w._ref(inputs[0]))


def _identity(w, node, inputs, attrs):
    return inputs[0]


def _dropout(w, node, inputs, attrs):
    """Inference: the input passes through; training (``training_mode`` true) is refused."""
    training = inputs[2] if len(inputs) > 2 else None
    if training is not None and not (isinstance(training, np.ndarray) and not training.any()):
        raise Unmapped("training_mode (drops values at random)")
    if _training(attrs, w.opset):
        raise Unmapped("training mode (is_test=0, before opset 7)")
    return inputs[0]


OPS = {
    "Conv": _conv,
    "Gemm": _gemm,
    "MatMul": _matmul,
    "Add": _add,
    "Mul": _mul,
    "Div": _div,
    "Erf": _erf,
    "Gelu": _gelu,
    "Relu": _unary("relu"),
    "Sigmoid": _unary("sigmoid"),
    "Tanh": _unary("tanh"),
    "HardSwish": _unary("hardswish"),
    "HardSigmoid": _hardsigmoid,
    "LeakyRelu": _leaky,
    "Clip": _clip,
    "Softmax": _softmax("softmax"),
    "LogSoftmax": _softmax("log_softmax"),
    "MaxPool": _pool("max"),
    "AveragePool": _pool("avg"),
    "GlobalAveragePool": _global_pool,
    "ReduceMean": _reduce_mean,
    "BatchNormalization": _batchnorm,
    "LayerNormalization": _layernorm,
    "Flatten": _flatten,
    "Reshape": _reshape,
    "Transpose": _transpose,
    "Concat": _concat,
    "Gather": _gather,
    "Identity": _identity,
    "Dropout": _dropout,
}


def _unsqueeze(w, node, inputs, attrs):
    x = inputs[0]
    axes = attrs.get("axes")
    if axes is None and len(inputs) > 1 and isinstance(inputs[1], np.ndarray):
        axes = np.atleast_1d(inputs[1]).tolist()
    shape = w.shape(node.output[0])
    if isinstance(x, TensorRef) and list(axes or []) == [1] and shape and len(shape) == 3:
        return Deferred("unsqueeze1", x, node, inputs, shape)
    raise Unmapped(f"unsqueezes axes {axes}")


def _expand(w, node, inputs, attrs):
    x = inputs[0]
    if isinstance(x, Deferred) and w.shape(node.output[0]) == x.shape:
        return x  # broadcasting to its own shape (RepeatVector writes Expand by ones)
    raise Unmapped("broadcasts a tensor")


def _tile(w, node, inputs, attrs):
    x, repeats = inputs
    if isinstance(x, Deferred) and x.kind == "unsqueeze1" and isinstance(repeats, np.ndarray):
        r = repeats.tolist()
        if len(r) == 3 and r[0] == 1 and r[2] == 1:
            return w.layer(node, "repeat_vector", {"times": int(r[1])}, x.base)
    raise Unmapped("tiles other than RepeatVector's x.unsqueeze(1).repeat(1, n, 1)")


OPS.update({"Unsqueeze": _unsqueeze, "Expand": _expand, "Tile": _tile})

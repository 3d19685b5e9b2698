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

from dlstudio.compile.importers import onnx_activations as activations
from dlstudio.compile.importers import onnx_arith as arith
from dlstudio.compile.importers import onnx_compare_ops as compare_ops
from dlstudio.compile.importers import onnx_extra_ops as extra_ops
from dlstudio.compile.importers import onnx_index_ops as index_ops
from dlstudio.compile.importers import onnx_math_ops as math_ops
from dlstudio.compile.importers import onnx_resize
from dlstudio.compile.importers import onnx_shape_ops as shape_ops
from dlstudio.compile.importers.builder import TensorRef
from dlstudio.compile.importers.call import flatten_span
from dlstudio.compile.importers.onnx_pool_norm import (
    _batchnorm,
    _dropout,
    _global_pool,
    _layernorm,
    _pads,
    _pool,
    _reduce_mean,
)
from dlstudio.compile.importers.values import Deferred, Unmapped


def _local(where: str) -> str:
    return where.strip("/").replace("/", "_").replace(".", "_") or "node"


def _t(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array).copy())


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
    if not isinstance(b, np.ndarray) or b.ndim != 2 or isinstance(x, np.ndarray):
        return arith.matmul(w, node, inputs, attrs)
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
        try:
            return _positions(w, node, a, b)
        except Unmapped:
            pass
    return arith.binary(w, node, inputs, attrs)


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
    return arith.binary(w, node, inputs, attrs)


def _div(w, node, inputs, attrs) -> Any:
    x, c = inputs
    if isinstance(x, TensorRef) and isinstance(c, np.ndarray) and np.allclose(c, math.sqrt(2)):
        return Deferred("x/sqrt2", x, node, inputs, w.shape(node.output[0]))
    return arith.binary(w, node, inputs, attrs)


def _erf(w, node, inputs, attrs) -> Any:
    x = inputs[0]
    if isinstance(x, Deferred) and x.kind == "x/sqrt2":
        return Deferred("erf", x.base, node, inputs, w.shape(node.output[0]))
    return math_ops.math(w, node, inputs, attrs)


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
        if axis == 0 and w.batch:
            raise Unmapped("acts over the batch dimension")
        dim = axis - rank
        return w.layer(node, type_id, {"dim": dim}, w._ref(inputs[0]))

    return mapper


def _leaky(w, node, inputs, attrs):
    return w.layer(
        node, "leaky_relu", {"negative_slope": attrs.get("alpha", 0.01)}, w._ref(inputs[0])
    )


def _flatten(w, node, inputs, attrs):
    axis = attrs.get("axis", 1)
    if axis % max(len(w.shape(node.input[0])), 1) != 1:
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
    # A size that follows the input's length is -1, inferred from the input as it runs.
    moving = [a for a in w.moving.get(node.output[0], ()) if a > 0]
    if len(moving) > 1:
        raise Unmapped("reshapes to several sizes that follow the input's length")
    shape = list(after[1:])
    if moving:
        shape[moving[0] - 1] = -1
    return w.layer(node, "reshape", {"shape": tuple(shape)}, w._ref(inputs[0]))


def _transpose(w, node, inputs, attrs):
    perm = tuple(attrs.get("perm", ()))
    if not perm:
        perm = tuple(reversed(range(len(w.shape(node.input[0])))))
    if perm[0] != 0 and w.batch:
        raise Unmapped("moves the batch dimension")
    return w.layer(node, "permute", {"dims": perm}, w._ref(inputs[0]))


def _concat(w, node, inputs, attrs):
    if len(inputs) == 1:  # densenet's first dense layer concatenates one tensor
        return w._ref(inputs[0])
    axis = attrs["axis"]
    rank = len(w.shape(node.output[0]))
    if axis % rank == 0 and w.batch:
        raise Unmapped("concatenates along the batch")
    if len(inputs) == 2 and isinstance(inputs[0], np.ndarray) and axis % rank == 1:
        token = inputs[0]
        if token.ndim == 3 and token.shape[1] == 1 and np.all(token == token[:1]):
            return w.layer(
                node, "cls_token", {}, w._ref(inputs[1]), weights={"token": _t(token[:1])}
            )
    refs = arith.operands(w, node, inputs)  # a stored piece becomes a Parameter or Constant
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
    "LeakyRelu": _leaky,
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
    return shape_ops.unsqueeze(w, node, inputs, attrs)


def _expand(w, node, inputs, attrs):
    x = inputs[0]
    if isinstance(x, Deferred) and w.shape(node.output[0]) == x.shape:
        return x  # broadcasting to its own shape (RepeatVector writes Expand by ones)
    return shape_ops.expand(w, node, inputs, attrs)


def _tile(w, node, inputs, attrs):
    x, repeats = inputs
    if isinstance(x, Deferred) and x.kind == "unsqueeze1" and isinstance(repeats, np.ndarray):
        r = repeats.tolist()
        if len(r) == 3 and r[0] == 1 and r[2] == 1:
            return w.layer(node, "repeat_vector", {"times": int(r[1])}, x.base)
    return shape_ops.tile(w, node, inputs, attrs)


OPS.update({"Unsqueeze": _unsqueeze, "Expand": _expand, "Tile": _tile})
OPS.update({"Sub": arith.binary, "Sum": arith.variadic("add")})
OPS.update({k: v for k, v in shape_ops.OPS.items() if k not in OPS})
OPS.update({k: v for k, v in math_ops.OPS.items() if k not in OPS})
OPS.update(activations.OPS)
OPS.update(compare_ops.OPS)
OPS.update(onnx_resize.OPS)
OPS.update(index_ops.OPS)
OPS.update(extra_ops.OPS)
OPS["Gemm"] = extra_ops.gemm(_gemm)

PLAIN = {
    "Add": arith.binary,
    "Mul": arith.binary,
    "Div": arith.binary,
    "MatMul": _matmul,
    "Reshape": _reshape,
    "Transpose": _transpose,
    "Softmax": _softmax("softmax"),
    "Erf": math_ops.math,
    "Where": math_ops.where,
    "Unsqueeze": shape_ops.unsqueeze,
    "Slice": shape_ops.slice_,
}
"""Mappers that never defer: a pattern value that stays unfinished (a Div by sqrt 2 that no
Erf follows, a Reshape to heads outside attention) becomes the layer these give."""

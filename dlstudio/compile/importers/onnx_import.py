"""ONNX file -> graph: each node becomes a catalogue layer, initializers become its weights.

onnxruntime runs the model once on an example input so every value's concrete shape is known,
and everything computed from constants or from ``Shape`` folds to a constant. Operations that
only make sense as part of a pattern (``x / sqrt(2)`` inside an exact GELU) wait as deferred
values; if the pattern does not complete they become Placeholders like any other unsupported
node, named in the report by their ONNX node name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from dlstudio.compile.importers.builder import GraphBuilder, TensorRef
from dlstudio.compile.importers.call import flatten_span
from dlstudio.compile.importers.errors import ImportFailed
from dlstudio.compile.importers.onnx_run import example_feeds, run_all
from dlstudio.compile.importers.report import ImportResult
from dlstudio.compile.importers.values import Unmapped


@dataclass
class Deferred:
    """A value awaiting its pattern (``kind``); ``base`` is the tensor the pattern started on."""

    kind: str
    base: TensorRef
    node: Any
    inputs: list[Any]
    shape: tuple[int, ...] | None


_ELEM = {onnx.TensorProto.FLOAT: "float32", onnx.TensorProto.INT64: "int64"}


def import_onnx(path: str | Path, seq_len: int = 16) -> ImportResult:
    """Import the ONNX model at ``path``; see the module docstring."""
    path = Path(path)
    try:
        model = onnx.load(str(path))
    except Exception as exc:
        raise ImportFailed(f"{path} is not an ONNX model DL Studio can read: {exc}") from exc
    feeds = example_feeds(model, seq_len)
    values = run_all(model, feeds)
    return _OnnxWalker(model, values, path.stem, str(path), seq_len).run()


class _OnnxWalker:
    def __init__(self, model, values, name, source, seq_len) -> None:
        self.model = model
        self.values = values
        self.seq_len = seq_len
        self.builder = GraphBuilder(name, source)
        self.env: dict[str, Any] = {}
        self.biasless: dict[str, int] = {}
        self.bias_key: dict[str, str] = {}
        """Where a folded bias goes, when not ``bias`` (attention: ``out_proj.bias``)."""
        """Dense nodes made from a MatMul, awaiting a bias from the Add that follows."""
        for init in model.graph.initializer:
            self.env[init.name] = numpy_helper.to_array(init)

    def run(self) -> ImportResult:
        for value in self.model.graph.input:
            if value.name not in self.env:
                self.env[value.name] = self._input(value)
        for node in self.model.graph.node:
            self._node(node)
        for value in self.model.graph.output:
            try:
                ref = self._ref(self.env[value.name])
            except Unmapped as exc:
                self.builder.report("model output", value.name, "not imported", exc.detail)
                continue
            self.builder.add("output", value.name, {}, [("in", ref)], local=value.name)
        return self.builder.finish()

    def _input(self, value) -> TensorRef:
        t = value.type.tensor_type
        dims = list(t.shape.dim)[1:]
        shape = [d.dim_value if d.dim_value else (d.dim_param or "T") for d in dims]
        shape = [s if isinstance(s, int) else _symbol(s) for s in shape]
        dtype = _ELEM.get(t.elem_type, "float32")
        params: dict[str, Any] = {"shape": tuple(shape), "dtype": dtype}
        if any(isinstance(d, str) for d in shape):
            params["seq_len"] = self.seq_len
        if dtype == "int64":
            params["vocab_size"] = 2
        return TensorRef(self.builder.add("input", value.name, params, local=value.name))

    # ------------------------------------------------------------------ nodes
    def _node(self, node) -> None:
        inputs = [self.env.get(name) if name else None for name in node.input]
        dynamic = any(isinstance(v, (TensorRef, Deferred)) for v in inputs)
        if node.op_type == "Constant" or node.op_type == "Shape" or not dynamic:
            for name in node.output:
                self.env[name] = self.values.get(name)
            return
        mapper = OPS.get(node.op_type)
        try:
            if mapper is None:
                raise Unmapped()
            outputs = mapper(self, node, inputs, _attrs(node))
        except Unmapped as exc:
            outputs = [self._placeholder(node, inputs, exc.detail)]
        if not isinstance(outputs, list):
            # A placeholder stands for every output of the node it replaces.
            outputs = [outputs] * len(node.output)
        for name, value in zip(node.output, outputs, strict=False):
            self.env[name] = value

    def _placeholder(self, node, inputs, detail: str = "") -> TensorRef:
        refs = []
        for value in inputs:
            try:
                refs.append(self._ref(value))
            except Unmapped:
                continue
        shape = self.shape(node.output[0])
        where = node.name or node.output[0]
        return self.builder.placeholder(
            f"ONNX {node.op_type}",
            where,
            refs,
            shape[1:] if shape else None,
            detail,
            local=_local(where),
        )

    # ---------------------------------------------------------------- helpers
    def _ref(self, value: Any) -> TensorRef:
        if isinstance(value, TensorRef):
            return value
        if isinstance(value, Deferred):
            ref = self._placeholder(value.node, value.inputs, "part of an unfinished pattern")
            value.__class__ = _Materialised  # the same object now stands for its placeholder
            value.ref = ref
            return ref
        if isinstance(value, _Materialised):
            return value.ref
        raise Unmapped("uses a constant where a layer needs a tensor")

    def shape(self, name: str) -> tuple[int, ...] | None:
        """The concrete shape of a value from the example run."""
        value = self.values.get(name)
        return tuple(value.shape) if value is not None else None

    def layer(self, node, type_id: str, params: dict, *inputs, weights=None) -> TensorRef:
        """Add the layer replacing ``node`` (named after the ONNX node)."""
        wires = [i if isinstance(i, tuple) else ("in", i) for i in inputs]
        where = node.name or node.output[0]
        node_id = self.builder.add(
            type_id, _local(where), params, wires, weights, local=_local(where)
        )
        return TensorRef(node_id)


class _Materialised:
    ref: TensorRef


def _symbol(name: str) -> str:
    cleaned = "".join(c for c in name if c.isalnum())[:8] or "T"
    return cleaned if cleaned[0].isalpha() and cleaned != "N" else "T"


def _local(where: str) -> str:
    return where.strip("/").replace("/", "_").replace(".", "_") or "node"


def _attrs(node) -> dict[str, Any]:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _t(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array).copy())


def _symmetric(pads: list[int], spatial: int) -> tuple[int, ...]:
    pads = list(pads or [0] * (2 * spatial))
    begin, end = pads[:spatial], pads[spatial:]
    if begin != end:
        raise Unmapped(f"asymmetric padding {pads}")
    return tuple(begin)


# ---------------------------------------------------------------------- ops
def _conv(w: _OnnxWalker, node, inputs, attrs) -> TensorRef:
    x, weight = inputs[0], inputs[1]
    bias = inputs[2] if len(inputs) > 2 else None
    if not isinstance(weight, np.ndarray) or (
        bias is not None and not isinstance(bias, np.ndarray)
    ):
        raise Unmapped("weights are computed, not stored")
    spatial = weight.ndim - 2
    if spatial not in (1, 2):
        raise Unmapped(f"{spatial}-D convolution")
    if attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise Unmapped("auto_pad")
    params = {
        "out_channels": weight.shape[0],
        "kernel_size": tuple(weight.shape[2:]),
        "stride": tuple(attrs.get("strides", [1] * spatial)),
        "padding": _symmetric(attrs.get("pads"), spatial),
        "dilation": tuple(attrs.get("dilations", [1] * spatial)),
        "groups": attrs.get("group", 1),
        "bias": bias is not None,
    }
    weights = {"weight": _t(weight)}
    if bias is not None:
        weights["bias"] = _t(bias)
    return w.layer(node, f"conv{spatial}d", params, w._ref(x), weights=weights)


def _gemm(w: _OnnxWalker, node, inputs, attrs) -> TensorRef:
    x, b = inputs[0], inputs[1]
    c = inputs[2] if len(inputs) > 2 else None
    if attrs.get("transA", 0) or attrs.get("alpha", 1.0) != 1.0 or attrs.get("beta", 1.0) != 1.0:
        raise Unmapped("transA, alpha or beta")
    if not isinstance(b, np.ndarray) or (c is not None and not isinstance(c, np.ndarray)):
        raise Unmapped("weights are computed, not stored")
    weight = b if attrs.get("transB", 0) else b.T
    weights = {"weight": _t(weight)}
    if c is not None:
        weights["bias"] = _t(np.broadcast_to(c, (weight.shape[0],)))
    params = {"units": weight.shape[0], "bias": c is not None}
    return w.layer(node, "dense", params, w._ref(x), weights=weights)


def _matmul(w: _OnnxWalker, node, inputs, attrs) -> TensorRef:
    x, b = inputs
    if not isinstance(b, np.ndarray) or b.ndim != 2:
        raise Unmapped("multiplies two computed tensors")
    ref = w.layer(
        node, "dense", {"units": b.shape[1], "bias": False}, w._ref(x), weights={"weight": _t(b.T)}
    )
    w.biasless[ref.node_id] = b.shape[1]
    return ref


def _add(w: _OnnxWalker, node, inputs, attrs) -> Any:
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
            return _fold_bias(w, a, b)
        return _positions(w, node, a, b)
    return w.layer(node, "add", {"inputs": 2}, ("in1", w._ref(a)), ("in2", w._ref(b)))


def _fold_bias(w: _OnnxWalker, ref: TensorRef, bias: np.ndarray) -> TensorRef:
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


def _positions(w: _OnnxWalker, node, x, table: np.ndarray) -> TensorRef:
    shape = w.shape(node.output[0])
    table = np.squeeze(table, 0) if table.ndim == 3 and table.shape[0] == 1 else table
    if shape is None or len(shape) != 3 or table.shape != tuple(shape[1:]):
        raise Unmapped(f"adds a constant of shape {table.shape}")
    params = {"mode": "learned", "max_len": table.shape[0], "dropout": 0.0}
    return w.layer(node, "positional_encoding", params, w._ref(x), weights={"weight": _t(table)})


def _mul(w: _OnnxWalker, node, inputs, attrs) -> Any:
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


def _div(w: _OnnxWalker, node, inputs, attrs) -> Any:
    x, c = inputs
    if isinstance(x, TensorRef) and isinstance(c, np.ndarray) and np.allclose(c, math.sqrt(2)):
        return Deferred("x/sqrt2", x, node, inputs, w.shape(node.output[0]))
    raise Unmapped("divides")


def _erf(w: _OnnxWalker, node, inputs, attrs) -> Any:
    x = inputs[0]
    if isinstance(x, Deferred) and x.kind == "x/sqrt2":
        return Deferred("erf", x.base, node, inputs, w.shape(node.output[0]))
    raise Unmapped()


def _unary(type_id: str):
    return lambda w, node, inputs, attrs: w.layer(node, type_id, {}, w._ref(inputs[0]))


def _softmax(type_id: str):
    def mapper(w, node, inputs, attrs):
        axis = attrs.get("axis", -1)
        rank = len(w.shape(node.output[0]))
        if axis % rank == 0:
            raise Unmapped("acts over the batch dimension")
        return w.layer(node, type_id, {"dim": axis}, w._ref(inputs[0]))

    return mapper


def _clip(w: _OnnxWalker, node, inputs, attrs) -> TensorRef:
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
        if kind == "avg" and not attrs.get("count_include_pad", 0) and any(attrs.get("pads", [0])):
            raise Unmapped("count_include_pad=0 with padding")
        params = {"kernel_size": kernel, "padding": _symmetric(attrs.get("pads"), spatial)}
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
        axes = inputs[1].tolist()
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
    if (approximate.decode() if isinstance(approximate, bytes) else approximate) != "none":
        raise Unmapped("approximate='tanh'; only the exact GELU is in the catalogue")
    return w.layer(node, "gelu", {}, w._ref(inputs[0]))


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
    "Dropout": _identity,
}


# ---------------------------------------------------------------- recurrent
_GATES = {"LSTM": [0, 2, 3, 1], "GRU": [1, 0, 2]}
"""torch's gate order taken from ONNX's: LSTM i,o,f,c -> i,f,c,o; GRU z,r,h -> r,z,n."""


def _time_major(w, node, inputs, attrs):
    perm = tuple(attrs.get("perm", ()))
    x = inputs[0]
    if perm == (1, 0, 2) and isinstance(x, TensorRef):
        return Deferred("time_major", x, node, inputs, w.shape(node.output[0]))
    return _transpose(w, node, inputs, attrs)


def _recurrent(kind: str):
    def mapper(w, node, inputs, attrs):
        x = inputs[0]
        if not (isinstance(x, Deferred) and x.kind == "time_major"):
            raise Unmapped("the input is not a batch-first sequence")
        weight, recurrence = inputs[1], inputs[2]
        bias = inputs[3] if len(inputs) > 3 else None
        if len(inputs) > 4 and inputs[4] is not None:
            raise Unmapped("sequence lengths are given")
        for state in inputs[5:]:
            if state is not None and not (isinstance(state, np.ndarray) and not state.any()):
                raise Unmapped("an initial state other than zeros")
        if kind == "GRU" and not attrs.get("linear_before_reset", 0):
            raise Unmapped("linear_before_reset=0 (torch's GRU resets after the product)")
        if attrs.get("activations") or attrs.get("clip") or attrs.get("input_forget"):
            raise Unmapped("custom activations, clip or input_forget")
        hidden = attrs["hidden_size"]
        direction = attrs.get("direction", b"forward")
        direction = direction.decode() if isinstance(direction, bytes) else direction
        if direction == "reverse":
            raise Unmapped("reverse direction only")
        gates = len(_GATES[kind])
        order = np.concatenate([np.arange(g * hidden, (g + 1) * hidden) for g in _GATES[kind]])
        weights = {}
        for d in range(weight.shape[0]):
            suffix = "_l0" + ("_reverse" if d == 1 else "")
            weights[f"weight_ih{suffix}"] = _t(weight[d][order])
            weights[f"weight_hh{suffix}"] = _t(recurrence[d][order])
            b = bias[d] if bias is not None else np.zeros(2 * gates * hidden, np.float32)
            weights[f"bias_ih{suffix}"] = _t(b[: gates * hidden][order])
            weights[f"bias_hh{suffix}"] = _t(b[gates * hidden :][order])
        params = {
            "hidden_size": hidden,
            "bidirectional": direction == "bidirectional",
            "return_sequences": True,
        }
        ref = w.layer(node, kind.lower(), params, x.base, weights=weights)
        seq = Deferred("rnn_seq", ref, node, inputs, w.shape(node.output[0]))
        last = Deferred("rnn_hidden", ref, node, inputs, w.shape(node.output[1]))
        return [seq, last]

    return mapper


def _gather_or_hidden(w, node, inputs, attrs):
    data, index = inputs
    if isinstance(data, Deferred) and data.kind == "rnn_hidden" and isinstance(index, np.ndarray):
        rows = data.shape[0]
        row = int(index) % rows
        params = w.builder.graph.node(data.base.node_id).params
        if not params.get("bidirectional") and row == rows - 1:
            return TensorRef(data.base.node_id, "state")
        return Deferred(f"rnn_row{row - rows}", data.base, node, inputs, w.shape(node.output[0]))
    return _gather(w, node, inputs, attrs)


def _concat_or_state(w, node, inputs, attrs):
    if len(inputs) == 2 and all(isinstance(v, Deferred) for v in inputs):
        kinds = [v.kind for v in inputs]
        if kinds == ["rnn_row-2", "rnn_row-1"] and inputs[0].base == inputs[1].base:
            return TensorRef(inputs[0].base.node_id, "state")
    return _concat(w, node, inputs, attrs)


OPS.update(
    {
        "Transpose": _time_major,
        "LSTM": _recurrent("LSTM"),
        "GRU": _recurrent("GRU"),
        "Gather": _gather_or_hidden,
        "Concat": _concat_or_state,
    }
)


# ---------------------------------------------------------------- attention
# DL Studio's MultiheadAttention exports as: q, k, v = x W^T + b (MatMul, Add); each reshaped to
# (N, T, heads, d) and transposed to (N, heads, T, d) (k to (N, heads, d, T)); MatMul, Div by
# sqrt(d), optionally Where(causal mask, -inf), Softmax, MatMul with v, Transpose, Reshape to
# (N, T, E), then the output projection. The projections already became Dense nodes; when the
# pattern completes they fold into one MultiheadAttention node with PyTorch's parameter names.


def _split_heads(w, node, inputs, attrs):
    before, after = w.shape(node.input[0]), w.shape(node.output[0])
    x = inputs[0]
    if isinstance(x, TensorRef) and len(before) == 3 and len(after) == 4:
        if after[:2] == before[:2] and after[2] * after[3] == before[2]:
            return Deferred("heads", x, node, inputs, after)
    if isinstance(x, Deferred) and x.kind == "context_t" and len(after) == 3:
        merged = Deferred("merged", x.base, node, inputs, after)
        merged.parts = x.parts
        return merged
    return _reshape(w, node, inputs, attrs)


def _attention_transpose(w, node, inputs, attrs):
    x, perm = inputs[0], tuple(attrs.get("perm", ()))
    if isinstance(x, Deferred) and x.kind == "heads" and perm == (0, 2, 1, 3):
        return Deferred("heads_t", x.base, node, inputs, w.shape(node.output[0]))
    if isinstance(x, Deferred) and x.kind == "heads" and perm == (0, 2, 3, 1):
        return Deferred("heads_kt", x.base, node, inputs, w.shape(node.output[0]))
    if isinstance(x, Deferred) and x.kind == "context" and perm == (0, 2, 1, 3):
        d = Deferred("context_t", x.base, node, inputs, w.shape(node.output[0]))
        d.parts = x.parts
        return d
    return _time_major(w, node, inputs, attrs)


def _attention_matmul(w, node, inputs, attrs):
    a, b = inputs
    if isinstance(a, Deferred) and isinstance(b, Deferred):
        if a.kind == "heads_t" and b.kind == "heads_kt":
            d = Deferred("scores", a.base, node, inputs, w.shape(node.output[0]))
            d.parts = {"q": a.base, "k": b.base, "causal": False, "heads": a.shape[1]}
            return d
        if a.kind == "probs" and b.kind == "heads_t":
            d = Deferred("context", a.base, node, inputs, w.shape(node.output[0]))
            d.parts = {**a.parts, "v": b.base}
            return d
    if isinstance(a, Deferred) and a.kind == "merged" and isinstance(b, np.ndarray):
        return _fold_attention(w, node, a, b)
    return _matmul(w, node, inputs, attrs)


def _attention_step(kind: str, after: str):
    def mapper(w, node, inputs, attrs):
        x = inputs[0] if kind != "masked" else inputs[2]
        if isinstance(x, Deferred) and x.kind == after:
            d = Deferred(kind, x.base, node, inputs, w.shape(node.output[0]))
            d.parts = dict(x.parts)
            if kind == "masked":
                mask = inputs[0]
                steps = mask.shape[-1] if isinstance(mask, np.ndarray) else 0
                causal = np.triu(np.ones((steps, steps), bool), 1)
                if not (isinstance(mask, np.ndarray) and np.array_equal(mask, causal)):
                    raise Unmapped("masks other than the causal one")
                d.parts["causal"] = True
            return d
        return FALLBACK[kind](w, node, inputs, attrs)

    return mapper


def _fold_attention(w, node, merged: Deferred, out_weight: np.ndarray) -> TensorRef:
    context = merged.node  # the Reshape; the parts travel on the Deferred chain
    parts = _parts_of(merged)
    graph, weights = w.builder.graph, w.builder.result.weights
    projections = [parts["q"], parts["k"], parts["v"]]
    if any(p.node_id in w.biasless for p in projections):
        raise Unmapped("projections without a bias")
    sources = []
    for ref in projections:
        (edge,) = graph.edges_into(ref.node_id)
        if graph.edges_out_of(ref.node_id):
            raise Unmapped("a projection is used elsewhere")
        sources.append(TensorRef(edge.src.node, edge.src.port))
    in_weight = torch.cat([weights[p.node_id]["weight"] for p in projections])
    in_bias = torch.cat([weights[p.node_id]["bias"] for p in projections])
    for ref in projections:
        for edge in graph.edges_into(ref.node_id):
            graph.delete_edge(edge)
        graph.delete_node(ref.node_id)
        weights.pop(ref.node_id)
        w.builder.origin.pop(ref.node_id, None)
    query, key, value = sources
    wires = [("query", query)]
    if key != query:
        wires.append(("key", key))
    if value != key:
        wires.append(("value", value))
    params = {"num_heads": parts["heads"], "causal": parts["causal"]}
    mha = {
        "in_proj_weight": in_weight,
        "in_proj_bias": in_bias,
        "out_proj.weight": _t(out_weight.T),
    }
    where = (context.name or "attention").rsplit("/", 1)[0]
    node_id = w.builder.add(
        "multihead_attention", _local(where), params, wires, mha, local=_local(where)
    )
    w.biasless[node_id] = out_weight.shape[1]
    w.bias_key[node_id] = "out_proj.bias"
    return TensorRef(node_id)


def _parts_of(d: Deferred) -> dict:
    parts = getattr(d, "parts", None)
    if parts is None:
        raise Unmapped("not an attention pattern")
    return parts


FALLBACK = {"scaled": _div, "masked": lambda w, node, inputs, attrs: _raise(), "probs": None}


def _raise():
    raise Unmapped()


FALLBACK["probs"] = _softmax("softmax")
OPS.update(
    {
        "Reshape": _split_heads,
        "Transpose": _attention_transpose,
        "MatMul": _attention_matmul,
        "Div": lambda w, node, inputs, attrs: _attention_step("scaled", "scores")(
            w, node, inputs, attrs
        ),
        "Where": _attention_step("masked", "scaled"),
    }
)
_SOFTMAX = _softmax("softmax")


def _softmax_or_probs(w, node, inputs, attrs):
    x = inputs[0]
    if isinstance(x, Deferred) and x.kind in ("scaled", "masked"):
        d = Deferred("probs", x.base, node, inputs, w.shape(node.output[0]))
        d.parts = dict(x.parts)
        return d
    return _SOFTMAX(w, node, inputs, attrs)


OPS["Softmax"] = _softmax_or_probs

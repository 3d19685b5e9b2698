"""ONNX patterns that span several nodes: multi-head attention as DL Studio's exporter writes
it, and the sequence outputs of LSTM/GRU (the recurrent nodes are in :mod:`.onnx_recurrent`).
Importing this module adds them to :data:`~dlstudio.compile.importers.onnx_import.OPS`."""

from __future__ import annotations

import numpy as np
import torch

from dlstudio.compile.importers.builder import TensorRef
from dlstudio.compile.importers.onnx_ops import (
    _div,
    _local,
    _matmul,
    _reshape,
    _softmax,
    _t,
)
from dlstudio.compile.importers.onnx_recurrent import PATTERNS as _PATTERNS_A
from dlstudio.compile.importers.onnx_recurrent import _is_last, _time_major
from dlstudio.compile.importers.onnx_shape_ops import squeeze
from dlstudio.compile.importers.values import Deferred, Unmapped

# ---------------------------------------------------------------- attention
# DL Studio's MultiheadAttention exports as: q, k, v = x W^T + b (MatMul, Add); each reshaped to
# (N, T, heads, d) and transposed to (N, heads, T, d) (k to (N, heads, d, T)); MatMul, Div by
# sqrt(d), optionally Where(causal mask, -inf), Softmax, MatMul with v, Transpose, Reshape to
# (N, T, E), then the output projection. The projections already became Dense nodes; when the
# pattern completes they fold into one MultiheadAttention node with PyTorch's parameter names.


def _split_heads(w, node, inputs, attrs):
    before, after = w.shape(node.input[0]), w.shape(node.output[0])
    x = inputs[0]
    split = isinstance(x, TensorRef) and len(before) == 3 and len(after) == 4
    if split and after[:2] == before[:2] and after[2] * after[3] == before[2]:
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


PACKED_FOLD: list = []
"""The packed form's fold (set by :mod:`.onnx_packed`, which builds on this module)."""


def _fold_attention(w, node, merged: Deferred, out_weight: np.ndarray) -> TensorRef:
    context = merged.node  # the Reshape; the parts travel on the Deferred chain
    parts = _parts_of(merged)
    if "chunks" in parts:
        return PACKED_FOLD[0](w, node, merged, out_weight)
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
_PATTERNS_B = dict(
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


def _register_base(ops: dict) -> None:
    """Add the recurrent and attention patterns (they fall back to the plain mappers)."""
    ops.update(_PATTERNS_A)
    ops.update(_PATTERNS_B)
    ops["Softmax"] = _softmax_or_probs


def _squeeze_sequence(w, node, inputs, attrs):
    x = inputs[0]
    axes = attrs.get("axes")
    if axes is None and len(inputs) > 1 and isinstance(inputs[1], np.ndarray):
        axes = inputs[1].tolist()
    if isinstance(x, Deferred) and x.kind == "rnn_seq" and list(axes or []) == [1]:
        d = Deferred("rnn_seq_squeezed", x.base, node, inputs, w.shape(node.output[0]))
        d.layer = getattr(x, "layer", None)
        return d
    return squeeze(w, node, inputs, attrs)


def _sequence_transpose(w, node, inputs, attrs):
    x, perm = inputs[0], tuple(attrs.get("perm", ()))
    last = isinstance(x, Deferred) and x.kind.startswith("rnn_") and _is_last(w, x)
    if last and x.kind == "rnn_seq_squeezed" and perm == (1, 0, 2):
        return TensorRef(x.base.node_id, "out")  # (T, N, H) -> batch first: the out port
    if isinstance(x, Deferred) and x.kind == "rnn_seq" and perm == (2, 0, 1, 3):
        return Deferred("rnn_seq_bidir", x.base, node, inputs, w.shape(node.output[0]))
    if isinstance(x, Deferred) and x.kind == "rnn_seq" and perm == (0, 2, 1, 3):
        # (T, 2, N, H) -> (T, N, 2, H): a bidirectional stack's sequence between layers
        d = Deferred("rnn_seq_bidir_tm", x.base, node, inputs, w.shape(node.output[0]))
        d.layer = getattr(x, "layer", None)
        return d
    return _attention_transpose(w, node, inputs, attrs)


def _sequence_reshape(w, node, inputs, attrs):
    x = inputs[0]
    last = isinstance(x, Deferred) and x.kind.startswith("rnn_") and _is_last(w, x)
    if last and x.kind == "rnn_seq_bidir" and len(w.shape(node.output[0])) == 3:
        return TensorRef(x.base.node_id, "out")  # (N, T, 2, H) -> (N, T, 2H)
    if (
        isinstance(x, Deferred)
        and x.kind == "rnn_seq_bidir_tm"
        and len(w.shape(node.output[0])) == 3
    ):
        # (T, N, 2, H) -> (T, N, 2H): time-major, as the next layer of a stack reads it
        d = Deferred("rnn_seq_squeezed", x.base, node, inputs, w.shape(node.output[0]))
        d.layer = x.layer
        return d
    return _split_heads(w, node, inputs, attrs)


_PATTERNS_C = {
    "Squeeze": _squeeze_sequence,
    "Transpose": _sequence_transpose,
    "Reshape": _sequence_reshape,
}


def register(ops: dict) -> None:
    """Add every pattern to the operator table: recurrent and attention, then the sequence
    outputs of recurrent layers (each falls back to the plain mapper when it does not apply)."""
    _register_base(ops)
    ops.update(_PATTERNS_C)

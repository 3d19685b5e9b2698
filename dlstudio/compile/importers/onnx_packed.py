"""ONNX self-attention in its packed form, as scaled_dot_product_attention exports it: one
in-projection of 3E sliced into q, k and v, q and k each scaled by d ** -0.25 before their
product, the mask added. Folds into one MultiheadAttention like the unpacked form. The same
early scaling on separate q, k and v projections (the decoder's cross-attention, key and value
from the encoder's memory) folds into one MultiheadAttention with its key port wired."""

from __future__ import annotations

import math

import numpy as np

from dlstudio.compile.importers.builder import TensorRef
from dlstudio.compile.importers.onnx_ops import _local, _t
from dlstudio.compile.importers.onnx_patterns import (
    PACKED_FOLD,
    _sequence_reshape,
    _sequence_transpose,
    register,
)
from dlstudio.compile.importers.onnx_shape_ops import slice_
from dlstudio.compile.importers.values import Deferred, Unmapped

# The packed form (one in-projection of 3E, sliced into q, k, v; q and k each scaled by
# d ** -0.25 before their product; the mask added): scaled_dot_product_attention's export.


def _slice_chunk(w, node, inputs, attrs):
    x = inputs[0]
    before, after = w.shape(node.input[0]), w.shape(node.output[0])
    if isinstance(x, TensorRef) and len(before) == 3 and len(after) == 3:
        starts, _ends = (np.asarray(v).reshape(-1) for v in inputs[1:3])
        axes = (
            np.asarray(inputs[3]).reshape(-1) if len(inputs) > 3 and inputs[3] is not None else [2]
        )
        third = before[2] // 3
        if before[2] == 3 * third and after[2] == third and [a % 3 for a in axes] == [2]:
            d = Deferred("chunk", x, node, inputs, after)
            d.chunk = int(starts[0]) // third
            return d
    return slice_(w, node, inputs, attrs)


def _with(d: Deferred, kind: str, node, inputs, shape, **extra) -> Deferred:
    new = Deferred(kind, d.base, node, inputs, shape)
    new.chunk = getattr(d, "chunk", None)
    new.scale = getattr(d, "scale", 1.0)
    new.parts = dict(getattr(d, "parts", {}) or {})
    for key, value in extra.items():
        setattr(new, key, value)
    return new


def _packed_split(w, node, inputs, attrs):
    x = inputs[0]
    after = w.shape(node.output[0])
    if isinstance(x, Deferred) and x.kind == "chunk" and len(after) == 4:
        return _with(x, "heads", node, inputs, after)
    return _sequence_reshape(w, node, inputs, attrs)


def _packed_transpose(w, node, inputs, attrs):
    x, perm = inputs[0], tuple(attrs.get("perm", ()))
    if isinstance(x, Deferred) and x.kind == "heads" and getattr(x, "chunk", None) is not None:
        kind = {(0, 2, 1, 3): "heads_t", (0, 2, 3, 1): "heads_kt"}.get(perm)
        if kind:
            return _with(x, kind, node, inputs, w.shape(node.output[0]))
    return _sequence_transpose(w, node, inputs, attrs)


def _packed_mul(w, node, inputs, attrs):
    a, b = inputs
    if isinstance(b, Deferred) and isinstance(a, np.ndarray):
        a, b = b, a
    heads = isinstance(a, Deferred) and a.kind in ("heads_t", "heads_kt")
    if heads and isinstance(b, np.ndarray) and b.size == 1:
        # Packed (q, k, v sliced from one projection) or separate projections (cross-attention).
        scale = getattr(a, "scale", 1.0) * float(b.reshape(-1)[0])
        return _with(a, a.kind, node, inputs, a.shape, scale=scale, scaled_early=True)
    return _PLAIN["Mul"](w, node, inputs, attrs)


def _packed_matmul(w, node, inputs, attrs):
    a, b = inputs
    chunked = all(isinstance(v, Deferred) and getattr(v, "chunk", None) is not None for v in (a, b))
    if chunked and a.kind == "heads_t" and b.kind == "heads_kt":
        head_dim = a.shape[-1]
        if not math.isclose(a.scale * b.scale, head_dim**-0.5, rel_tol=1e-4):
            raise Unmapped("scores scaled other than by 1/sqrt(head size)")
        d = _with(a, "scaled", node, inputs, w.shape(node.output[0]))
        d.parts = {"q": a.base, "k": b.base, "chunks": [a.chunk, b.chunk], "causal": False}
        d.parts["heads"] = a.shape[1]
        return d
    separate = all(isinstance(v, Deferred) and getattr(v, "chunk", None) is None for v in (a, b))
    if separate and (a.kind, b.kind) == ("heads_t", "heads_kt"):
        early = [getattr(v, "scaled_early", False) for v in (a, b)]
        if any(early):
            # Separate q, k and v projections (the decoder's cross-attention: query from the
            # target, key and value from the memory), q and k scaled before their product.
            if not (
                all(early) and math.isclose(a.scale * b.scale, a.shape[-1] ** -0.5, rel_tol=1e-4)
            ):
                raise Unmapped("scores scaled other than by 1/sqrt(head size)")
            d = _with(a, "scaled", node, inputs, w.shape(node.output[0]))
            d.parts = {"q": a.base, "k": b.base, "causal": False, "heads": a.shape[1]}
            return d
    probs = isinstance(a, Deferred) and a.kind == "probs" and "chunks" in a.parts
    if (
        probs
        and isinstance(b, Deferred)
        and b.kind == "heads_t"
        and getattr(b, "chunk", None) is not None
    ):
        d = _with(a, "context", node, inputs, w.shape(node.output[0]))
        d.parts = {**a.parts, "v": b.base, "chunks": [*a.parts["chunks"], b.chunk]}
        return d
    return _PLAIN["MatMul"](w, node, inputs, attrs)


def _packed_add(w, node, inputs, attrs):
    a, b = inputs
    if isinstance(b, Deferred) and isinstance(a, np.ndarray):
        a, b = b, a
    if isinstance(a, Deferred) and a.kind == "scaled" and isinstance(b, np.ndarray):
        steps = b.shape[-1]
        mask = np.broadcast_to(b, (*b.shape[:-2], steps, steps)).reshape(-1, steps, steps)[0]
        upper = np.triu(np.ones((steps, steps), bool), 1)
        if not mask.any():
            causal = False
        elif np.all(np.isneginf(mask[upper])) and not mask[~upper].any():
            causal = True
        else:
            raise Unmapped("masks other than the causal one")
        d = _with(a, "masked", node, inputs, a.shape)
        d.parts["causal"] = causal
        return d
    return _PLAIN["Add"](w, node, inputs, attrs)


def _fold_packed(w, node, merged: Deferred, out_weight: np.ndarray):
    parts = merged.parts
    packed = parts["q"]
    if parts.get("chunks") != [0, 1, 2] or not (parts["k"] == packed == parts["v"]):
        raise Unmapped("query, key and value do not come from one projection")
    graph, weights = w.builder.graph, w.builder.result.weights
    if packed.node_id in w.biasless or graph.edges_out_of(packed.node_id):
        raise Unmapped("the projection has no bias or is used elsewhere")
    (edge,) = graph.edges_into(packed.node_id)
    source = TensorRef(edge.src.node, edge.src.port)
    mha = {
        "in_proj_weight": weights[packed.node_id]["weight"],
        "in_proj_bias": weights[packed.node_id]["bias"],
        "out_proj.weight": _t(out_weight.T),
    }
    graph.delete_edge(edge)
    graph.delete_node(packed.node_id)
    weights.pop(packed.node_id)
    w.builder.origin.pop(packed.node_id, None)
    where = (merged.node.name or "attention").rsplit("/", 1)[0]
    params = {"num_heads": parts["heads"], "causal": parts["causal"]}
    node_id = w.builder.add(
        "multihead_attention", _local(where), params, [("query", source)], mha, local=_local(where)
    )
    w.biasless[node_id] = out_weight.shape[1]
    w.bias_key[node_id] = "out_proj.bias"
    return TensorRef(node_id)


_PLAIN: dict = {}


def register_all(ops: dict) -> None:
    """Every pattern, the packed attention last (it falls back to the others)."""
    register(ops)
    PACKED_FOLD[:] = [_fold_packed]
    _PLAIN.update({k: ops[k] for k in ("Mul", "MatMul", "Add")})
    ops.update(
        {
            "Slice": _slice_chunk,
            "Reshape": _packed_split,
            "Transpose": _packed_transpose,
            "Mul": _packed_mul,
            "MatMul": _packed_matmul,
            "Add": _packed_add,
        }
    )

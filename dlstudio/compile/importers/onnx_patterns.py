"""ONNX patterns that span several nodes: LSTM/GRU with torch's batch-first transposes, and
multi-head attention as DL Studio's exporter writes it. Importing this module adds them to
:data:`~dlstudio.compile.importers.onnx_import.OPS`."""

from __future__ import annotations

import numpy as np
import torch

from dlstudio.compile.importers.builder import TensorRef
from dlstudio.compile.importers.onnx_ops import (
    _concat,
    _div,
    _gather,
    _local,
    _matmul,
    _reshape,
    _softmax,
    _t,
    _transpose,
    _unsqueeze,
)
from dlstudio.compile.importers.values import Deferred, Unmapped

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
        stacked = isinstance(x, Deferred) and x.kind == "rnn_seq_squeezed"
        if not (isinstance(x, Deferred) and x.kind == "time_major") and not stacked:
            raise Unmapped("the input is not a batch-first sequence")
        weight, recurrence = inputs[1], inputs[2]
        bias = inputs[3] if len(inputs) > 3 else None
        if len(inputs) > 4 and inputs[4] is not None:
            raise Unmapped("sequence lengths are given")
        initial = _initial_state(kind, inputs[5:7], stacked or weight.shape[0] != 1)
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
        layer = _stack_onto(w, kind, x, hidden, direction) if stacked else 0
        weights = {}
        for d in range(weight.shape[0]):
            suffix = f"_l{layer}" + ("_reverse" if d == 1 else "")
            weights[f"weight_ih{suffix}"] = _t(weight[d][order])
            weights[f"weight_hh{suffix}"] = _t(recurrence[d][order])
            b = bias[d] if bias is not None else np.zeros(2 * gates * hidden, np.float32)
            weights[f"bias_ih{suffix}"] = _t(b[: gates * hidden][order])
            weights[f"bias_hh{suffix}"] = _t(b[gates * hidden :][order])
        if stacked:
            ref = x.base
            w.builder.result.weights[ref.node_id].update(weights)
            w.builder.graph.node(ref.node_id).params["num_layers"] = layer + 1
        else:
            params = {
                "hidden_size": hidden,
                "bidirectional": direction == "bidirectional",
                "return_sequences": True,
            }
            ref = w.layer(node, kind.lower(), params, x.base, *initial, weights=weights)
        seq = Deferred("rnn_seq", ref, node, inputs, w.shape(node.output[0]))
        outputs = [seq]
        # Y_h, and an LSTM's Y_c: (layers * directions, N, H), each layer's final states.
        for name, port in zip(node.output[1:], ("state", "cell"), strict=False):
            final = Deferred("rnn_hidden", ref, node, inputs, w.shape(name) if name else None)
            final.port = port
            outputs.append(final)
        for d in outputs:
            d.layer = layer
        return outputs

    return mapper


def _initial_state(kind: str, states: list, refused: bool) -> list[tuple[str, TensorRef]]:
    """The h0 (and c0) wires from ONNX's initial_h / initial_c: zeros need none; a layer's
    (N, H) output unsqueezed to (1, N, H) goes to the port, for one layer in one direction."""
    wires = []
    for state, port in zip(states, ("h0", "c0") if kind == "LSTM" else ("h0",), strict=False):
        if state is None or (isinstance(state, np.ndarray) and not state.any()):
            continue
        if not (isinstance(state, Deferred) and state.kind == "state_unsqueeze0"):
            raise Unmapped(f"an initial state {port} other than zeros or a layer's (N, H) output")
        if refused:
            raise Unmapped(f"an initial state {port} on a stacked or bidirectional layer")
        wires.append((port, state.base))
    if [p for p, _ in wires] == ["c0"]:
        raise Unmapped("an initial cell state without a hidden state")
    return wires


def _unsqueeze_state(w, node, inputs, attrs):
    """``x.unsqueeze(0)`` of an (N, H) tensor: how an initial state reaches an ONNX LSTM."""
    x = inputs[0]
    axes = attrs.get("axes")
    if axes is None and len(inputs) > 1 and isinstance(inputs[1], np.ndarray):
        axes = inputs[1].tolist()
    shape = w.shape(node.output[0])
    if isinstance(x, TensorRef) and list(axes or []) == [0] and shape and len(shape) == 3:
        d = Deferred("state_unsqueeze0", x, node, inputs, shape)
        d.detail = "unsqueezes axes [0] (adds a dimension in front of the batch)"
        return d
    return _unsqueeze(w, node, inputs, attrs)


def _stack_onto(w, kind: str, x: Deferred, hidden: int, direction: str) -> int:
    """The layer index a recurrent node reading the previous one's whole sequence gets, when it
    continues that layer as one more of its ``num_layers`` (torch writes a stack as a chain)."""
    node = w.builder.graph.node(x.base.node_id)
    layers = node.params.get("num_layers", 1)
    same = (
        node.type_id == kind.lower()
        and node.params.get("hidden_size") == hidden
        and bool(node.params.get("bidirectional")) == (direction == "bidirectional")
        and getattr(x, "layer", None) == layers - 1
        and not w.builder.graph.edges_out_of(node.id)
    )
    if not same:
        raise Unmapped("reads another recurrent layer's sequence with a different configuration")
    return layers


def _is_last(w, d: Deferred) -> bool:
    """Whether ``d`` comes from the last layer of its (possibly stacked) recurrent node."""
    layers = w.builder.graph.node(d.base.node_id).params.get("num_layers", 1)
    return getattr(d, "layer", 0) == layers - 1


def _gather_or_hidden(w, node, inputs, attrs):
    data, index = inputs
    hidden = isinstance(data, Deferred) and data.kind == "rnn_hidden" and _is_last(w, data)
    if hidden and isinstance(index, np.ndarray):
        rows = data.shape[0]
        row = int(index) % rows
        params = w.builder.graph.node(data.base.node_id).params
        port = getattr(data, "port", "state")
        if not params.get("bidirectional") and row == rows - 1:
            return TensorRef(data.base.node_id, port)
        d = Deferred(f"rnn_row{row - rows}", data.base, node, inputs, w.shape(node.output[0]))
        d.port = port
        return d
    return _gather(w, node, inputs, attrs)


def _concat_or_state(w, node, inputs, attrs):
    hidden = [v for v in inputs if isinstance(v, Deferred) and v.kind == "rnn_hidden"]
    # A stack's h_n: every layer's final states, in layer order, from one node.
    if (
        len(hidden) == len(inputs) > 1
        and attrs.get("axis", 0) == 0
        and all(v.base == hidden[0].base for v in hidden)
        and len({getattr(v, "port", "state") for v in hidden}) == 1
        and [getattr(v, "layer", None) for v in hidden] == list(range(len(hidden)))
    ):
        d = Deferred("rnn_hidden", hidden[0].base, node, inputs, w.shape(node.output[0]))
        d.layer = hidden[-1].layer
        d.port = getattr(hidden[0], "port", "state")
        return d
    if len(inputs) == 2 and all(isinstance(v, Deferred) for v in inputs):
        kinds = [v.kind for v in inputs]
        ports = {getattr(v, "port", "state") for v in inputs}
        same = inputs[0].base == inputs[1].base and len(ports) == 1
        if kinds == ["rnn_row-2", "rnn_row-1"] and same:
            return TensorRef(inputs[0].base.node_id, ports.pop())
    return _concat(w, node, inputs, attrs)


_PATTERNS_A = dict(
    {
        "Transpose": _time_major,
        "LSTM": _recurrent("LSTM"),
        "GRU": _recurrent("GRU"),
        "Gather": _gather_or_hidden,
        "Concat": _concat_or_state,
        "Unsqueeze": _unsqueeze_state,
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
    raise Unmapped(f"squeezes axes {axes}")


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

"""ONNX recurrent patterns: LSTM/GRU with torch's batch-first transposes, stacks written as
chains, their final states (``Y_h``, an LSTM's ``Y_c``) and an initial state from a layer's
output. :mod:`.onnx_patterns` registers them with the attention patterns."""

from __future__ import annotations

import numpy as np

from dlstudio.compile.importers.builder import TensorRef
from dlstudio.compile.importers.onnx_ops import _concat, _gather, _t, _transpose, _unsqueeze
from dlstudio.compile.importers.values import Deferred, Unmapped

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
        axes = np.atleast_1d(inputs[1]).tolist()
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


PATTERNS = {
    "Transpose": _time_major,
    "LSTM": _recurrent("LSTM"),
    "GRU": _recurrent("GRU"),
    "Gather": _gather_or_hidden,
    "Concat": _concat_or_state,
    "Unsqueeze": _unsqueeze_state,
}
"""The recurrent patterns by ONNX op (each falls back to the plain mapper)."""


def register_state_slice(ops: dict) -> None:
    """Wrap the current Slice mapper: the dynamo exporter slices an unsqueezed initial state
    (1, N, H) to its first (only) row before the LSTM; that slice changes nothing."""
    plain = ops["Slice"]

    def mapper(w, node, inputs, attrs):
        x = inputs[0]
        if isinstance(x, Deferred) and x.kind == "state_unsqueeze0" and len(inputs) >= 3:
            starts, ends = inputs[1], inputs[2]
            axes = inputs[3] if len(inputs) > 3 else np.array([0])
            steps = inputs[4] if len(inputs) > 4 else np.array([1])
            values = (starts, ends, axes, steps)
            if all(isinstance(v, np.ndarray) and v.size == 1 for v in values):
                start, end, axis, step = (int(v.reshape(-1)[0]) for v in values)
                if (start, axis, step) == (0, 0, 1) and end >= 1:
                    return x
        return plain(w, node, inputs, attrs)

    ops["Slice"] = mapper

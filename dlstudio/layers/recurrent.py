"""Recurrent layers: simple RNN, LSTM and GRU (batch first, may be stacked and bidirectional)."""

from __future__ import annotations

from dlstudio.layers.registry import register
from dlstudio.layers.rules import is_float, static_size
from dlstudio.layers.sequence import sequence_input
from dlstudio.layers.spec import (
    Fix,
    LayerType,
    ParamSpec,
    PortSpec,
    ShapeContext,
    ShapeResult,
    StatContext,
    shape_text,
)

_GATES = {"rnn": 1, "lstm": 4, "gru": 3}
"""Weight blocks per layer and direction: PyTorch stacks the gates' matrices in W_ih and W_hh."""


def _initial_state(ctx: ShapeContext, port: str, n) -> None:
    """h0 / c0: (N, hidden_size), for one unidirectional layer (an encoder's final state)."""
    if port not in ctx.inputs:
        return
    spec = is_float(ctx, port)
    hidden = ctx["hidden_size"]
    if ctx["num_layers"] != 1 or ctx["bidirectional"]:
        raise ctx.fail(
            f"takes an initial state on {port} only with one layer in one direction (it starts "
            f"that layer's state), but has num_layers {ctx['num_layers']}"
            + (" and is bidirectional" if ctx["bidirectional"] else "")
            + f": disconnect {port}, or use one unidirectional layer",
            port=port,
        )
    if spec.shape != (n, hidden):
        raise ctx.fail(
            f"needs the initial state {port} as (N, {hidden}), one hidden_size vector per "
            f"example, but {port} is {shape_text(spec)}: feed the final state of a layer with "
            f"hidden_size {hidden}, or set hidden_size to match",
            *(
                (
                    Fix.set_param(
                        f"set hidden_size to {spec.shape[1]}", "hidden_size", spec.shape[1]
                    ),
                )
                if spec.rank == 2 and isinstance(spec.shape[1], int)
                else ()
            ),
            port=port,
        )


def _recurrent_shape(ctx: ShapeContext) -> ShapeResult:
    x = sequence_input(ctx)
    input_size = static_size(ctx, x.shape[2], "number of input features")
    width = ctx["hidden_size"] * (2 if ctx["bidirectional"] else 1)
    n, steps = x.shape[0], x.shape[1]
    _initial_state(ctx, "h0", n)
    if "c0" in ctx.inputs:
        if "h0" not in ctx.inputs:
            raise ctx.fail(
                "has a cell state c0 but no hidden state h0: an LSTM starts from both; "
                "connect h0 too (the encoder's 'state' output)",
                port="h0",
            )
        _initial_state(ctx, "c0", n)
    if ctx.params.get("forget_bias") and not ctx["bias"]:
        raise ctx.fail(
            f"has forget_bias {ctx['forget_bias']} but no biases (bias is off): the forget "
            "bias is a starting value of b_if; turn bias on, or set forget_bias to 0",
            Fix.set_param("turn bias on", "bias", True),
        )
    out = (n, steps, width) if ctx["return_sequences"] else (n, width)
    outputs = {"out": x.with_shape(out), "state": x.with_shape((n, width))}
    if ctx.label == "LSTM":
        outputs["cell"] = x.with_shape((n, width))
    return ShapeResult(outputs, {"input_size": input_size})


def _weights_per_step(ctx: StatContext, gates: int) -> int:
    """Multiply-accumulates of one time step through every layer and direction (= weights)."""
    hidden, directions = ctx["hidden_size"], 2 if ctx["bidirectional"] else 1
    total = 0
    for layer in range(ctx["num_layers"]):
        # Layers above the first read the concatenated outputs of both directions.
        layer_in = ctx["input_size"] if layer == 0 else directions * hidden
        total += directions * gates * hidden * (layer_in + hidden)
    return total


def _param_rule(gates: int):
    def count(ctx: StatContext) -> int:
        # PyTorch keeps two bias vectors per layer and direction, b_ih and b_hh.
        biases = ctx["num_layers"] * (2 if ctx["bidirectional"] else 1) * 2 * gates
        biases *= ctx["hidden_size"] if ctx["bias"] else 0
        return _weights_per_step(ctx, gates) + biases

    return count


def _mac_rule(gates: int):
    def count(ctx: StatContext) -> int:
        n, steps = ctx.in_shape()[:2]
        return n * steps * _weights_per_step(ctx, gates)

    return count


def _recurrent_params(kind: str) -> tuple[ParamSpec, ...]:
    params = [
        ParamSpec(
            "hidden_size",
            "int",
            64,
            "Size H of the hidden state (the output features per direction).",
            minimum=1,
            maximum=100_000,
        ),
        ParamSpec(
            "num_layers",
            "int",
            1,
            "Number of stacked recurrent layers; each reads the sequence the one below returns.",
            minimum=1,
            maximum=64,
        ),
        ParamSpec(
            "bidirectional",
            "bool",
            False,
            "Also run a layer backwards over the sequence and join both (width 2H).",
        ),
        ParamSpec(
            "dropout",
            "float",
            0.0,
            "Dropout between stacked layers (not after the last). With one layer, dropout on "
            "the layer's input, as Keras's dropout= (PyTorch would ignore it); a Dropout node "
            "before the layer says the same more plainly.",
            minimum=0.0,
            maximum=0.99,
        ),
    ]
    if kind == "rnn":
        params.append(
            ParamSpec(
                "nonlinearity",
                "choice",
                "tanh",
                "Activation of the hidden state.",
                choices=("tanh", "relu"),
            )
        )
    params += [
        ParamSpec(
            "return_sequences",
            "bool",
            False,
            "On: output every time step (N, T, H). Off: only the last step (N, H).",
        ),
        ParamSpec("bias", "bool", True, "Learn the biases b_ih and b_hh."),
    ]
    if kind == "lstm":
        params.append(
            ParamSpec(
                "forget_bias",
                "float",
                0.0,
                "Starting value of the forget gate's bias (b_if; b_hf starts at 0): 1.0 is "
                "Keras's unit_forget_bias default (Jozefowicz et al., 2015), so the cell keeps "
                "its memory from the first step of training and learns long-range links sooner; "
                "0 leaves PyTorch's random start. Needs bias on.",
                label="forget bias",
                minimum=-10.0,
                maximum=10.0,
            )
        )
    return tuple(params)


_SHAPES = (
    " The input is batch first, (N, T, features). With return_sequences the output 'out' is the "
    "hidden state of every time step, (N, T, H): use it to stack another recurrent layer or for "
    "one prediction per step. Without, 'out' is only the last step, (N, H): one vector per "
    "sequence for a classifier. The 'state' output is always the final hidden state of the top "
    "layer, (N, H); an optional h0 input (N, H) starts a one-layer, one-direction layer from "
    "that state instead of zeros. bidirectional adds a second pass from the end to the start and joins both "
    "directions' features, so widths become 2H; the 'last step' of a bidirectional layer is the "
    "forward direction's output at the last time step joined with the backward direction's "
    "output at t = 0 (where the backward pass ends), i.e. both directions' final hidden states, "
    "the same as 'state'. num_layers stacks layers, with dropout between them; a single layer "
    "with dropout applies it to its input. A sequence carrying the padding mask of an Input with "
    "a padding id (padding at the end) is packed: each sequence runs over its real steps only, "
    "so the last step and the state are those of the last real step (for the backward direction "
    "too), and padded steps of 'out' are zeros."
)

_PORTS_OUT = (
    PortSpec("out", "every time step (N, T, H) or only the last (N, H), per return_sequences"),
    PortSpec("state", "final hidden state of the top layer (N, H); H doubles if bidirectional"),
)
_LSTM_CELL = PortSpec("cell", "final cell state c_n of the top layer (N, H)")
_PORTS_IN = (
    PortSpec("in", "sequence (N, T, features)"),
    PortSpec("h0", "initial hidden state (N, H), e.g. an encoder's state; empty: zeros", True),
)
_LSTM_C0 = PortSpec("c0", "initial cell state (N, H), e.g. an encoder's cell; empty: zeros", True)

for _kind, _label, _summary, _explanation, _formula in (
    (
        "rnn",
        "RNN",
        "Simple recurrent layer: a hidden state updated from each input step.",
        "Reads the sequence one step at a time, mixing each input x_t with the previous hidden "
        "state h_{t-1} through the same weights at every step, so the state summarises "
        "everything seen so far. Training back-propagates through time: the gradient reaching "
        "an early step is multiplied by W_hh and by the activation's derivative once per step "
        "in between, so over long gaps it shrinks towards zero (vanishing gradients) or blows "
        "up. A simple RNN therefore has trouble connecting information more than a few steps "
        "apart ('I grew up in China ... I speak fluent ___'); LSTM and GRU fix this with "
        "gates.",
        "h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)  (relu instead of tanh if chosen)",
    ),
    (
        "lstm",
        "LSTM",
        "Long short-term memory: gated recurrent layer that keeps long-range information.",
        "Adds a cell state c_t, a conveyor belt running along the sequence with only "
        "element-wise changes, so information and gradients flow over long distances. Three "
        "sigmoid gates (values 0..1) control it: the forget gate f_t decides what to drop from "
        "the cell state, the input gate i_t what new candidate values c~_t to store, and the "
        "output gate o_t what part of the cell state to output as the hidden state h_t. It "
        "learns 4 weight blocks (i, f, c~, o) per layer and direction. The 'state' output is "
        "h_n and 'cell' is c_n; the optional inputs h0 and c0 start the layer from a given "
        "state instead of zeros, so an encoder's final (state, cell) can start a decoder "
        "(the classic sequence-to-sequence model).",
        "f_t = sigma(W_f [h_{t-1}, x_t] + b_f); i_t = sigma(W_i [h_{t-1}, x_t] + b_i); "
        "o_t = sigma(W_o [h_{t-1}, x_t] + b_o); c~_t = tanh(W_c [h_{t-1}, x_t] + b_c); "
        "c_t = f_t*c_{t-1} + i_t*c~_t; h_t = o_t*tanh(c_t)",
    ),
    (
        "gru",
        "GRU",
        "Gated recurrent unit: a lighter LSTM with update and reset gates.",
        "A simpler cousin of the LSTM (Cho et al., 2014) that merges the cell and hidden states "
        "and combines the forget and input gates into one update gate z_t, which decides how "
        "much of the old state to keep; the reset gate r_t decides how much of the old state "
        "to use when proposing the new candidate n_t. Three weight blocks instead of four, so "
        "about 25% fewer parameters and faster, usually with similar accuracy. This is "
        "PyTorch's cell (nn.GRU), which differs from the formula often taught (colah's "
        "blog: h_t = (1 - z_t)*h_{t-1} + z_t*h~_t, h~_t = tanh(W [r_t*h_{t-1}, x_t])) in "
        "two ways. First, z and 1 - z are swapped: PyTorch's z_t weights the old state "
        "(h_t = (1 - z_t)*n_t + z_t*h_{t-1}, as in Cho et al.'s paper), so its z_t is that "
        "formula's 1 - z_t. Second, the reset gate acts after the matrix product: PyTorch "
        "multiplies r_t into W_hn h_{t-1} + b_hn, the taught formula multiplies r_t into "
        "h_{t-1} before W; with the same weights the two give different results. PyTorch "
        "also keeps two biases per gate (b_i* and b_h*).",
        "r_t = sigma(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr); "
        "z_t = sigma(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz); "
        "n_t = tanh(W_in x_t + b_in + r_t*(W_hn h_{t-1} + b_hn)); "
        "h_t = (1 - z_t)*n_t + z_t*h_{t-1}",
    ),
):
    register(
        LayerType(
            id=_kind,
            label=_label,
            category="Recurrent",
            summary=_summary,
            explanation=_explanation + _SHAPES,
            formula=_formula,
            infer=_recurrent_shape,
            count_params=_param_rule(_GATES[_kind]),
            count_macs=_mac_rule(_GATES[_kind]),
            inputs=_PORTS_IN + ((_LSTM_C0,) if _kind == "lstm" else ()),
            outputs=_PORTS_OUT + ((_LSTM_CELL,) if _kind == "lstm" else ()),
            params=_recurrent_params(_kind),
            name_prefix=_kind,
            key_params=("hidden_size", "num_layers", "bidirectional", "return_sequences"),
            inferred=("input_size",),
        )
    )

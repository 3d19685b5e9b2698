"""Recurrent layers: ``nn.RNN``, ``nn.LSTM``, ``nn.GRU`` subclasses that return (out, state)
(the LSTM also its cell state) and take an optional initial state.

The subclasses keep PyTorch's parameter names (``lstm1.weight_ih_l0``) and add what the
catalogue promises: ``out`` is every step or only the last one, ``state`` (and ``cell``) the
top layer's final hidden (and cell) state with both directions joined.
"""

from __future__ import annotations

from dlstudio.compile.emitters.base import Emission, EmitContext, call, lit
from dlstudio.compile.emitters.helpers import Helper, register_helper

_TEMPLATE = '''
class {name}(nn.{name}):
    """nn.{name} returning (out, state): out is every step (N, T, H) with return_sequences,
    else the last step (N, H); state is the top layer's final hidden state, both directions
    joined (N, H or 2H). For a bidirectional layer the last step and the state agree. h0
    (N, H), when given, starts a one-layer, one-direction layer instead of zeros. With a
    padding mask (N, T), True at real steps, each sequence runs over its real steps only: the
    last step is the last real one, and padded steps of out are zeros."""

    def __init__(self, *args, return_sequences: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.return_sequences = return_sequences

    def forward(
        self,
        x: torch.Tensor,
        h0: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        steps = x.size(1)
        if mask is not None:
            # Padding at the end: each sequence runs over its real steps only.
            lengths = mask.sum(dim=1).clamp(min=1).cpu()  # pack wants the lengths on the CPU
            x = nn.utils.rnn.pack_padded_sequence(
                x, lengths, batch_first=True, enforce_sorted=False
            )
        # PyTorch wants the initial state as (layers * directions, N, H).
        seq, h_n = super().forward(x, None if h0 is None else h0.unsqueeze(0))
        if mask is not None:
            seq = nn.utils.rnn.pad_packed_sequence(seq, batch_first=True, total_length=steps)[0]
        # h_n is (layers * directions, N, H); the top layer's directions are the last rows.
        state = torch.cat([h_n[-2], h_n[-1]], dim=-1) if self.bidirectional else h_n[-1]
        return (seq if self.return_sequences else state), state
'''

_LSTM = '''
class LSTM(nn.LSTM):
    """nn.LSTM returning (out, state, cell): out is every step (N, T, H) with
    return_sequences, else the last step (N, H); state and cell are the top layer's final
    hidden and cell states, both directions joined (N, H or 2H). h0 and c0 (N, H), when
    given, start a one-layer, one-direction LSTM instead of zeros (c0 defaults to zeros).
    With a padding mask (N, T), True at real steps, each sequence runs over its real steps
    only: the last step is the last real one, and padded steps of out are zeros."""

    def __init__(
        self, *args, return_sequences: bool = False, forget_bias: float = 0.0, **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        self.return_sequences = return_sequences
        if forget_bias and self.bias:
            # Gates are stacked (input, forget, cell, output): the forget gate's bias starts at
            # forget_bias, so the cell remembers from the start (Keras's unit_forget_bias).
            size = self.hidden_size
            with torch.no_grad():
                for name, value in self.named_parameters():
                    if name.startswith("bias_"):
                        value[size : 2 * size] = forget_bias if "_ih_" in name else 0.0

    def forward(
        self,
        x: torch.Tensor,
        h0: torch.Tensor | None = None,
        c0: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        steps = x.size(1)
        if mask is not None:
            # Padding at the end: each sequence runs over its real steps only.
            lengths = mask.sum(dim=1).clamp(min=1).cpu()  # pack wants the lengths on the CPU
            x = nn.utils.rnn.pack_padded_sequence(
                x, lengths, batch_first=True, enforce_sorted=False
            )
        initial = None
        if h0 is not None:
            c0 = torch.zeros_like(h0) if c0 is None else c0
            # PyTorch wants the initial state as (layers * directions, N, H).
            initial = (h0.unsqueeze(0), c0.unsqueeze(0))
        seq, (h_n, c_n) = super().forward(x, initial)
        if mask is not None:
            seq = nn.utils.rnn.pad_packed_sequence(seq, batch_first=True, total_length=steps)[0]
        # h_n and c_n are (layers * directions, N, H); the top layer's are the last rows.
        if self.bidirectional:
            state = torch.cat([h_n[-2], h_n[-1]], dim=-1)
            cell = torch.cat([c_n[-2], c_n[-1]], dim=-1)
        else:
            state, cell = h_n[-1], c_n[-1]
        return (seq if self.return_sequences else state), state, cell
'''

for _name in ("RNN", "GRU"):
    register_helper(Helper(_name, _TEMPLATE.format(name=_name)))
register_helper(Helper("LSTM", _LSTM))


def _recurrent(cls: str):
    def emit(ctx: EmitContext) -> Emission:
        kwargs = {}
        if ctx["num_layers"] != 1:
            kwargs["num_layers"] = lit(ctx["num_layers"])
            if ctx["dropout"]:
                kwargs["dropout"] = lit(ctx["dropout"])
        if cls == "RNN" and ctx["nonlinearity"] != "tanh":
            kwargs["nonlinearity"] = lit(ctx["nonlinearity"])
        if not ctx["bias"]:
            kwargs["bias"] = "False"
        kwargs["batch_first"] = "True"
        if ctx["bidirectional"]:
            kwargs["bidirectional"] = "True"
        if ctx["return_sequences"]:
            kwargs["return_sequences"] = "True"
        if cls == "LSTM" and ctx["forget_bias"] and ctx["bias"]:
            kwargs["forget_bias"] = lit(ctx["forget_bias"])
        module = call(cls, lit(ctx["input_size"]), lit(ctx["hidden_size"]), **kwargs)
        x = ctx.arg()
        if ctx["num_layers"] == 1 and ctx["dropout"]:
            # nn.{cls} ignores dropout with one layer; like Keras, drop on the layer's input.
            x = f"F.dropout({x}, p={lit(ctx['dropout'])}, training=self.training)"
        args = [x] + [f"{port}={ctx.args[port]}" for port in ("h0", "c0") if port in ctx.args]
        mask = ctx.mask_of("in")
        if mask:
            args.append(f"mask={mask}")
        outputs = ("out", "state", "cell") if cls == "LSTM" else ("out", "state")
        return Emission(f"{ctx.module}({', '.join(args)})", module, outputs, helpers=(cls,))

    emit.__doc__ = f"The ``{cls}`` helper (an ``nn.{cls}`` subclass), batch first."
    return emit


EMITTERS = {"rnn": _recurrent("RNN"), "lstm": _recurrent("LSTM"), "gru": _recurrent("GRU")}

"""Recurrent layers: ``nn.RNN``, ``nn.LSTM``, ``nn.GRU`` subclasses that return (out, state).

The subclasses keep PyTorch's parameter names (``lstm1.weight_ih_l0``) and add what the
catalogue promises: ``out`` is every step or only the last one, ``state`` is the top layer's
final hidden state with both directions joined.
"""

from __future__ import annotations

from dlstudio.compile.emitters.base import Emission, EmitContext, call, lit
from dlstudio.compile.emitters.helpers import Helper, register_helper

_TEMPLATE = '''
class {name}(nn.{name}):
    """nn.{name} returning (out, state): out is every step (N, T, H) with return_sequences,
    else the last step (N, H); state is the top layer's final hidden state, both directions
    joined (N, H or 2H). For a bidirectional layer the last step and the state agree."""

    def __init__(self, *args, return_sequences: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.return_sequences = return_sequences

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        seq, {hidden} = super().forward(x)
        # h_n is (layers * directions, N, H); the top layer's directions are the last rows.
        state = torch.cat([h_n[-2], h_n[-1]], dim=-1) if self.bidirectional else h_n[-1]
        return (seq if self.return_sequences else state), state
'''

for _name, _hidden in (("RNN", "h_n"), ("LSTM", "(h_n, _)"), ("GRU", "h_n")):
    register_helper(Helper(_name, _TEMPLATE.format(name=_name, hidden=_hidden)))


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
        module = call(cls, lit(ctx["input_size"]), lit(ctx["hidden_size"]), **kwargs)
        x = ctx.arg()
        if ctx["num_layers"] == 1 and ctx["dropout"]:
            # nn.{cls} ignores dropout with one layer; like Keras, drop on the layer's input.
            x = f"F.dropout({x}, p={lit(ctx['dropout'])}, training=self.training)"
        return Emission(f"{ctx.module}({x})", module, outputs=("out", "state"), helpers=(cls,))

    emit.__doc__ = f"The ``{cls}`` helper (an ``nn.{cls}`` subclass), batch first."
    return emit


EMITTERS = {"rnn": _recurrent("RNN"), "lstm": _recurrent("LSTM"), "gru": _recurrent("GRU")}

"""The helper classes DL Studio's own exported Python defines, recognised on the way back in.

``export --python`` writes small classes (``ClassToken``, ``MultiheadAttention``,
``TransformerEncoderLayer``, an ``LSTM`` returning ``(out, state, cell)``...). Importing such a file
maps each back to the layer it came from, so a round trip gives the same graph.
"""

from __future__ import annotations

from torch import nn
from torch.nn import functional as F

from dlstudio.compile.importers.torch_modules import Mapped


def _dropout_p(m: nn.Module) -> float:
    drop = getattr(m, "dropout", None)
    return float(drop.p) if isinstance(drop, nn.Dropout) else float(drop or 0.0)


def _class_token(m: nn.Module) -> Mapped:
    return Mapped("cls_token", {})


def _learned_positions(m: nn.Module) -> Mapped:
    params = {"mode": "learned", "max_len": m.weight.shape[0], "dropout": _dropout_p(m)}
    return Mapped("positional_encoding", params)


def _sinusoidal_positions(m: nn.Module) -> Mapped:
    params = {"mode": "sinusoidal", "max_len": m.pe.shape[0], "dropout": _dropout_p(m)}
    return Mapped("positional_encoding", params)


def _attention(m: nn.Module) -> Mapped:
    params = {
        "num_heads": m.num_heads,
        "dropout": float(m.dropout),
        "bias": m.in_proj_bias is not None,
        "causal": bool(m.causal),
    }
    return Mapped("multihead_attention", params)


def _activation_name(activation) -> str:
    """The generated layers store their activation by name; older files held the function."""
    if isinstance(activation, str):
        return activation
    return "gelu" if activation is F.gelu else "relu"


def _block(type_id: str):
    def mapper(m: nn.Module) -> Mapped:
        params = {
            "nhead": m.self_attn.num_heads,
            "dim_feedforward": m.linear1.out_features,
            "dropout": m.dropout.p,
            "activation": _activation_name(m.activation),
            "norm_first": bool(m.norm_first),
            "causal": bool(m.self_attn.causal),
            "layer_norm_eps": float(m.norm1.eps),
        }
        return Mapped(type_id, params)

    return mapper


def _recurrent(type_id: str):
    def mapper(m: nn.Module) -> Mapped:
        params = {
            "hidden_size": m.hidden_size,
            "num_layers": m.num_layers,
            "bidirectional": m.bidirectional,
            "dropout": m.dropout,
            "bias": m.bias,
            "return_sequences": bool(m.return_sequences),
        }
        if type_id == "rnn":
            params["nonlinearity"] = m.nonlinearity
        return Mapped(type_id, params)

    return mapper


_HELPERS = {
    "ClassToken": (("token",), _class_token),
    "LearnedPositionalEncoding": (("weight", "dropout"), _learned_positions),
    "SinusoidalPositionalEncoding": (("pe", "dropout"), _sinusoidal_positions),
    "MultiheadAttention": (("in_proj_weight", "out_proj", "causal", "head_dim"), _attention),
    "TransformerEncoderLayer": (
        ("self_attn", "linear1", "norm_first"),
        _block("transformer_encoder_layer"),
    ),
    "TransformerDecoderLayer": (("multihead_attn", "norm3"), _block("transformer_decoder_layer")),
    "RNN": (("return_sequences",), _recurrent("rnn")),
    "LSTM": (("return_sequences",), _recurrent("lstm")),
    "GRU": (("return_sequences",), _recurrent("gru")),
}
RETURNS_STATE = {"RNN": ("state",), "LSTM": ("state", "cell"), "GRU": ("state",)}
"""Helpers returning ``(out, state)`` (the LSTM ``(out, state, cell)``) as the catalogue's
recurrent layers do: the layer's ports after ``out``, in order."""


def helper_name(m: nn.Module) -> str | None:
    """The helper this module is an instance of, or None: the class name of one of ours, not
    torch's own class of that name, with the attributes ours has."""
    cls = type(m)
    entry = _HELPERS.get(cls.__name__)
    if entry is None or cls.__module__.startswith("torch."):
        return None
    if not all(hasattr(m, attr) for attr in entry[0]):
        return None
    return cls.__name__


def map_helper(m: nn.Module) -> Mapped:
    """The layer a recognised helper came from (see :func:`helper_name`)."""
    return _HELPERS[type(m).__name__][1](m)

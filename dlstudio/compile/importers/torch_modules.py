"""torch modules -> catalogue layers: the type, parameters read from the module's attributes,
and the weights under the keys of the submodule the compiler will emit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import nn

from dlstudio.compile.importers.values import Unmapped


@dataclass(frozen=True)
class Mapped:
    """One layer: catalogue type, parameters and weights (``None``: the module's state_dict)."""

    type_id: str
    params: dict[str, Any]
    weights: dict[str, Any] | None = None


ModuleMapper = Callable[[nn.Module], Mapped]


def _pair(value: Any) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _conv(type_id: str, transposed: bool = False) -> ModuleMapper:
    def mapper(m: nn.Module) -> Mapped:
        if m.padding_mode != "zeros":
            raise Unmapped(f"padding_mode={m.padding_mode!r}; only zero padding is supported")
        params = {
            "out_channels": m.out_channels,
            "kernel_size": m.kernel_size,
            "stride": m.stride,
            "padding": m.padding,
            "dilation": m.dilation,
            "groups": m.groups,
            "bias": m.bias is not None,
        }
        if transposed:
            params["output_padding"] = m.output_padding
        return Mapped(type_id, params)

    return mapper


def _linear(m: nn.Linear) -> Mapped:
    return Mapped("dense", {"units": m.out_features, "bias": m.bias is not None})


def _batchnorm(type_id: str) -> ModuleMapper:
    def mapper(m: nn.Module) -> Mapped:
        if not m.track_running_stats or m.momentum is None:
            raise Unmapped("needs running statistics with a fixed momentum")
        return Mapped(type_id, {"eps": m.eps, "momentum": m.momentum, "affine": m.affine})

    return mapper


def _layernorm(m: nn.LayerNorm) -> Mapped:
    if len(m.normalized_shape) != 1:
        raise Unmapped(f"normalises over {len(m.normalized_shape)} dimensions; only the last")
    affine = m.elementwise_affine
    bias = getattr(m, "bias", None) is not None
    return Mapped(
        "layernorm", {"eps": m.eps, "elementwise_affine": affine, "bias": bias or not affine}
    )


def _pool(type_id: str, kind: str) -> ModuleMapper:
    def mapper(m: nn.Module) -> Mapped:
        if kind == "avg" and getattr(m, "divisor_override", None):
            raise Unmapped("a divisor_override")
        params = {"kernel_size": m.kernel_size, "padding": m.padding, "ceil_mode": m.ceil_mode}
        if kind == "max":
            params["dilation"] = m.dilation
        else:
            params["count_include_pad"] = m.count_include_pad
        stride = m.stride
        if stride is not None and _same_size(stride, m.kernel_size) is False:
            params["stride"] = stride
        return Mapped(type_id, params)

    return mapper


def _groupnorm(m: nn.GroupNorm) -> Mapped:
    return Mapped("groupnorm", {"num_groups": m.num_groups, "eps": m.eps, "affine": m.affine})


def _gpt2_conv1d(m: nn.Module) -> Mapped:
    return Mapped("gpt2_conv1d", {"units": m.nf})


NAMED_MAPPERS: dict[str, ModuleMapper] = {
    "transformers.pytorch_utils.Conv1D": _gpt2_conv1d,
    "transformers.activations.NewGELUActivation": lambda m: Mapped("gelu", {"approximate": "tanh"}),
    "transformers.activations.GELUTanh": lambda m: Mapped("gelu", {"approximate": "tanh"}),
    "transformers.activations.GELUActivation": lambda m: Mapped("gelu", {}),
}
"""Mappers for classes of optional packages, by ``module.qualname`` (nothing is imported)."""


def module_mapper(module: nn.Module) -> ModuleMapper | None:
    """The mapper for ``module``'s class, if DL Studio has a layer for it."""
    cls = type(module)
    return MODULE_MAPPERS.get(cls) or NAMED_MAPPERS.get(f"{cls.__module__}.{cls.__qualname__}")


def _same_size(a: Any, b: Any) -> bool:
    """Whether two sizes (ints or tuples, a scalar meaning every dimension) agree."""
    a, b = _pair(a), _pair(b)
    n = max(len(a), len(b))
    a, b = (a * n if len(a) == 1 else a), (b * n if len(b) == 1 else b)
    return tuple(a) == tuple(b)


def _adaptive_avgpool(m: nn.AdaptiveAvgPool2d) -> Mapped:
    size = _pair(m.output_size)
    if any(s is None for s in size):
        raise Unmapped(f"output_size={m.output_size} leaves a size free")
    return Mapped("adaptive_avgpool2d", {"output_size": m.output_size})


def _plain(type_id: str) -> ModuleMapper:
    return lambda m: Mapped(type_id, {})


def _gelu(m: nn.GELU) -> Mapped:
    return Mapped("gelu", {"approximate": m.approximate} if m.approximate != "none" else {})


def _softmax(type_id: str) -> ModuleMapper:
    def mapper(m: nn.Module) -> Mapped:
        if m.dim is None:
            raise Unmapped("dim is not set")
        if m.dim == 0:
            raise Unmapped("acts over the batch dimension")
        return Mapped(type_id, {"dim": m.dim})

    return mapper


def _flatten(m: nn.Flatten) -> Mapped:
    if m.start_dim == 0:
        raise Unmapped("flattens the batch dimension")
    return Mapped("flatten", {"start_dim": m.start_dim, "end_dim": m.end_dim})


def _embedding(m: nn.Embedding) -> Mapped:
    if m.max_norm is not None or m.scale_grad_by_freq or m.sparse:
        raise Unmapped("max_norm, scale_grad_by_freq or sparse")
    return Mapped(
        "embedding",
        {
            "num_embeddings": m.num_embeddings,
            "embedding_dim": m.embedding_dim,
            "padding_idx": m.padding_idx,
        },
    )


def _attention(m: nn.MultiheadAttention) -> Mapped:
    if not m.batch_first:
        raise Unmapped("batch_first=False; DL Studio's sequences are (N, T, E)")
    if not m._qkv_same_embed_dim or m.bias_k is not None or m.add_zero_attn:
        raise Unmapped("separate key/value sizes, add_bias_kv or add_zero_attn")
    bias = m.in_proj_bias is not None
    return Mapped(
        "multihead_attention", {"num_heads": m.num_heads, "dropout": m.dropout, "bias": bias}
    )


def _recurrent(type_id: str) -> ModuleMapper:
    def mapper(m: nn.Module) -> Mapped:
        if not m.batch_first:
            raise Unmapped("batch_first=False; DL Studio's sequences are (N, T, features)")
        if getattr(m, "proj_size", 0):
            raise Unmapped("proj_size")
        params = {
            "hidden_size": m.hidden_size,
            "num_layers": m.num_layers,
            "bidirectional": m.bidirectional,
            "dropout": m.dropout,
            "bias": m.bias,
            "return_sequences": True,
        }
        if type_id == "rnn":
            params["nonlinearity"] = m.nonlinearity
        return Mapped(type_id, params)

    return mapper


def _encoder_layer(m: nn.TransformerEncoderLayer) -> Mapped:
    act = m.activation
    name = getattr(act, "__name__", type(act).__name__).lower()
    if name not in ("relu", "gelu"):
        raise Unmapped(f"activation {name}")
    if not m.self_attn.batch_first:
        raise Unmapped("batch_first=False")
    return Mapped(
        "transformer_encoder_layer",
        {
            "nhead": m.self_attn.num_heads,
            "dim_feedforward": m.linear1.out_features,
            "dropout": m.dropout.p,
            "activation": name,
            "norm_first": m.norm_first,
            "layer_norm_eps": float(m.norm1.eps),
        },
    )


MODULE_MAPPERS: dict[type, ModuleMapper] = {
    nn.Linear: _linear,
    nn.Conv1d: _conv("conv1d"),
    nn.Conv2d: _conv("conv2d"),
    nn.ConvTranspose2d: _conv("conv_transpose2d", transposed=True),
    nn.BatchNorm1d: _batchnorm("batchnorm1d"),
    nn.BatchNorm2d: _batchnorm("batchnorm2d"),
    nn.LayerNorm: _layernorm,
    nn.Dropout: lambda m: Mapped("dropout", {"p": m.p}),
    nn.Dropout2d: lambda m: Mapped("dropout2d", {"p": m.p}),
    nn.ReLU: _plain("relu"),
    nn.ReLU6: _plain("relu6"),
    nn.SiLU: _plain("silu"),
    nn.Hardswish: _plain("hardswish"),
    nn.Hardsigmoid: _plain("hardsigmoid"),
    nn.GELU: _gelu,
    nn.Tanh: _plain("tanh"),
    nn.Sigmoid: _plain("sigmoid"),
    nn.Identity: _plain("identity"),
    nn.LeakyReLU: lambda m: Mapped("leaky_relu", {"negative_slope": m.negative_slope}),
    nn.Softmax: _softmax("softmax"),
    nn.LogSoftmax: _softmax("log_softmax"),
    nn.MaxPool1d: _pool("maxpool1d", "max"),
    nn.MaxPool2d: _pool("maxpool2d", "max"),
    nn.AvgPool1d: _pool("avgpool1d", "avg"),
    nn.AvgPool2d: _pool("avgpool2d", "avg"),
    nn.AdaptiveAvgPool2d: _adaptive_avgpool,
    nn.GroupNorm: _groupnorm,
    nn.Flatten: _flatten,
    nn.Embedding: _embedding,
    nn.MultiheadAttention: _attention,
    nn.LSTM: _recurrent("lstm"),
    nn.GRU: _recurrent("gru"),
    nn.RNN: _recurrent("rnn"),
    nn.TransformerEncoderLayer: _encoder_layer,
}
"""Exact types (a subclass may change forward, so it is traced through instead)."""

CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)

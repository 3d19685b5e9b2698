"""The optional attention-weights output of the attention layers (MultiheadAttention and the
Transformer encoder and decoder layers): its parameter and its shape rule.

Off by default, and then the layer has no such port, so its code and its ONNX graph are those of
a layer without it. ``mean`` gives softmax(Q K^T / sqrt(d_k)) averaged over the heads, (N, T_q,
T_k); ``per_head`` keeps the heads, (N, heads, T_q, T_k). Every row sums to 1.
"""

from __future__ import annotations

from dlstudio.core.tensor_spec import TensorSpec
from dlstudio.layers.spec import ParamSpec, ShapeContext

WEIGHTS_CHOICES = ("off", "mean", "per_head")
"""What the optional attention-weights output holds: nothing, the mean over heads, each head."""


def weights_param(ports: str) -> ParamSpec:
    """The ``attention_weights`` parameter of a layer whose weights come out on ``ports``."""
    return ParamSpec(
        "attention_weights",
        "choice",
        "off",
        f"Also output the attention weights on {ports}: 'mean' over the heads "
        "(N, T_query, T_key) or 'per_head' (N, heads, T_query, T_key); each row sums to 1. "
        "Off: the layer has no such port (the Training monitor's Attention tab shows the "
        "weights after a run either way).",
        label="weights output",
        choices=WEIGHTS_CHOICES,
    )


def weights_spec(
    ctx: ShapeContext, query: TensorSpec, keys: TensorSpec, heads: int
) -> TensorSpec | None:
    """The spec of the attention weights output (None while it is off): softmax over the key
    steps for every query step, averaged over the heads or kept per head."""
    mode = ctx["attention_weights"]
    if mode == "off":
        return None
    n, queries, steps = query.shape[0], query.shape[1], keys.shape[1]
    shape = (n, queries, steps) if mode == "mean" else (n, heads, queries, steps)
    return query.with_shape(shape)


def with_weights(outputs: dict[str, TensorSpec], **weights: TensorSpec | None) -> dict:
    """``outputs`` plus the weights ports that are on."""
    outputs.update({port: spec for port, spec in weights.items() if spec is not None})
    return outputs

"""Attention: multi-head attention, and the rules the Transformer layers share with it
(:mod:`dlstudio.layers.transformer`).

Every layer here is batch first, ``(N, T, E)``, like PyTorch's modules with ``batch_first=True``.
"""

from __future__ import annotations

from dlstudio.core.tensor_spec import TensorSpec
from dlstudio.layers.attention_weights import weights_param, weights_spec, with_weights
from dlstudio.layers.registry import register
from dlstudio.layers.rules import static_size
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


def nearest_divisor(number: int, target: int) -> int:
    """The divisor of ``number`` closest to ``target`` (the larger one on a tie)."""
    divisors = set()
    for d in range(1, int(number**0.5) + 1):
        if number % d == 0:
            divisors |= {d, number // d}
    return min(divisors, key=lambda d: (abs(d - target), -d))


def check_heads(ctx: ShapeContext, size: int, heads_param: str, size_name: str) -> None:
    heads = ctx[heads_param]
    if size % heads:
        best = nearest_divisor(size, heads)
        raise ctx.fail(
            f"has {heads_param}={heads}, which does not divide {size_name}={size} (each head "
            f"gets {size_name} / {heads_param} features): set {heads_param} to {best}, the "
            f"nearest divisor of {size}",
            Fix.set_param(f"set {heads_param} to {best}", heads_param, best),
        )


def attended(
    ctx: ShapeContext, port: str, query: TensorSpec, size_name: str, reference: str
) -> TensorSpec:
    """The sequence on ``port`` that the queries (from ``reference``) attend to: as wide as the
    queries, same batch."""
    x = sequence_input(ctx, port, from_vector=False)
    width = query.shape[2]
    if x.shape[2] != width:
        # Only nn.MultiheadAttention could take other key/value sizes (kdim/vdim); it is a
        # deliberate omission, so say so rather than leave users looking for the option.
        unsupported = (
            "; a different feature size for key or value (PyTorch's kdim/vdim) is not supported"
            if port in ("key", "value")
            else ""
        )
        raise ctx.fail(
            f"needs {port} with {size_name}={width} features like the {reference}, but {port} is "
            f"{shape_text(x)} with {x.shape[2]}{unsupported}: insert Dense({width}) on {port} "
            f"to project it to {width} features",
            Fix.insert(f"insert Dense({width}) on {port}", "dense", port, units=width),
            port=port,
        )
    if x.shape[0] != query.shape[0]:
        raise ctx.fail(
            f"needs the same batch on {port} as on the {reference}, but {port} is "
            f"{shape_text(x)} and the {reference} {shape_text(query)}: feed both from the same "
            "examples",
            port=port,
        )
    return x


def check_key_mask(ctx: ShapeContext, port: str, keys: TensorSpec, what: str) -> None:
    """The optional padding mask on ``port``: (N, S) integers (or booleans), one per key step of
    ``keys``, nonzero where the step may be attended (BERT's ``attention_mask``)."""
    if port not in ctx.inputs:
        return
    mask = ctx.inputs[port]
    if mask.dtype.startswith("float"):
        raise ctx.fail(
            f"needs {port} as integers (1 = attend, 0 = padding), but {port} is "
            f"{shape_text(mask)} of {mask.dtype}: set the mask Input's dtype to int64",
            port=port,
        )
    if mask.rank != 2 or mask.shape[0] != keys.shape[0] or mask.shape[1] != keys.shape[1]:
        raise ctx.fail(
            f"needs {port} of shape (N, {keys.shape[1]}), one entry per step of the {what} "
            f"{shape_text(keys)}, but {port} is {shape_text(mask)}: feed the 0/1 mask that came "
            "with the token ids",
            port=port,
        )


def attention_weight_count(width: int, bias: bool = True) -> int:
    """nn.MultiheadAttention: in_proj (3E x E, 3E) and out_proj (E x E, E)."""
    return 4 * width * width + (4 * width if bias else 0)


def attention_macs(width: int, queries: int, keys: int) -> int:
    """Q and output projections per query, K and V per key, scores and weighted sum per pair."""
    return 2 * (queries + keys) * width * width + 2 * queries * keys * width


# ---------------------------------------------------------------- multi-head attention
def _mha_shape(ctx: ShapeContext) -> ShapeResult:
    query = sequence_input(ctx, "query", from_vector=False)
    width = static_size(ctx, query.shape[2], "embedding size (the query's last dimension)")
    check_heads(ctx, width, "num_heads", "embed_dim")
    if "value" in ctx.inputs and "key" not in ctx.inputs:
        raise ctx.fail(
            "has a value connected but no key: connect the key too (or leave both "
            "unconnected for self-attention)",
            port="key",
        )
    key_len = query.shape[1]
    if "key" in ctx.inputs:
        key = attended(ctx, "key", query, "embed_dim", "query")
        key_len = key.shape[1]
        if "value" in ctx.inputs:
            value = attended(ctx, "value", query, "embed_dim", "query")
            if value.shape[1] != key_len:
                raise ctx.fail(
                    f"needs one value per key, but key {shape_text(key)} has {key_len} steps "
                    f"and value {shape_text(value)} has {value.shape[1]}: connect a value with "
                    "one step per key step",
                    port="value",
                )
    if ctx["causal"] and key_len != query.shape[1]:
        raise ctx.fail(
            f"is causal (step t attends only to steps up to t), which needs keys as long as "
            f"the query, but the query has {query.shape[1]} steps and the key {key_len}: turn "
            "causal off for cross-attention",
            Fix.set_param("turn causal off", "causal", False),
            port="key",
        )
    keys = ctx.inputs.get("key", query)
    check_key_mask(ctx, "mask", keys, "key" if "key" in ctx.inputs else "query")
    weights = weights_spec(ctx, query, keys, ctx["num_heads"])
    return ShapeResult(with_weights({"out": query}, weights=weights), {"embed_dim": width})


def _mha_params(ctx: StatContext) -> int:
    return attention_weight_count(ctx["embed_dim"], ctx["bias"])


def _mha_macs(ctx: StatContext) -> int:
    n, queries, width = ctx.in_shape("query")
    keys = ctx.in_shape("key")[1] if "key" in ctx.inputs else queries
    return n * attention_macs(width, queries, keys)


MULTIHEAD_ATTENTION = register(
    LayerType(
        id="multihead_attention",
        label="MultiheadAttention",
        category="Attention",
        summary="Scaled dot-product attention with several heads: each query mixes the values.",
        explanation=(
            "Each query position looks at every key position, scores how well they match "
            "(dot product scaled by sqrt(d_k)), turns the scores into weights with softmax and "
            "returns the weighted sum of the values. Queries, keys and values are linear "
            "projections of the inputs; with num_heads heads the embedding is split into "
            "num_heads parts of d_k = embed_dim / num_heads features that attend independently "
            "(to different positions or relations), then are concatenated and projected by "
            "W_O. With only 'query' connected it is self-attention (key = value = query); with "
            "'key' connected it is cross-attention and 'value' defaults to the key. Key and "
            "value must have embed_dim features, like the query (PyTorch's kdim/vdim are "
            "not supported). causal masks future positions "
            "(step t sees steps up to t) for language models; the optional mask input (N, S), "
            "1 for real tokens and 0 for padding, hides padded key positions; a key sequence that "
            "carries the padding mask of an Input with a padding id hides its padding by itself "
            "(with a mask wired in too, a key must pass both). Output (N, T_q, embed_dim); "
            "learns 4 embed_dim^2 weights (+ 4 embed_dim biases). With 'weights output' on, "
            "a second port 'weights' gives the softmax weights themselves (who looks at whom): "
            "their mean over heads (N, T_q, S) or every head (N, num_heads, T_q, S)."
        ),
        formula=(
            "Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V;  head_i = Attention(Q W_i^Q, "
            "K W_i^K, V W_i^V);  y = concat(head_1..head_h) W^O"
        ),
        infer=_mha_shape,
        count_params=_mha_params,
        count_macs=_mha_macs,
        inputs=(
            PortSpec("query", "the sequence that asks (N, T_q, E)"),
            PortSpec("key", "what is matched against (N, S, E); empty: the query", optional=True),
            PortSpec("value", "what is averaged (N, S, E); empty: the key", optional=True),
            PortSpec(
                "mask", "padding mask (N, S): 1 = attend, 0 = padding; empty: all", optional=True
            ),
        ),
        outputs=(
            PortSpec("out", "the attended sequence (N, T_q, E)"),
            PortSpec("weights", "attention weights (N, T_q, S) or per head (N, heads, T_q, S)"),
        ),
        optional_outputs=(("weights", "attention_weights"),),
        params=(
            ParamSpec(
                "num_heads",
                "int",
                4,
                "Number of attention heads; must divide embed_dim.",
                minimum=1,
                maximum=1024,
            ),
            ParamSpec(
                "dropout",
                "float",
                0.0,
                "Dropout on the attention weights during training.",
                minimum=0.0,
                maximum=0.99,
            ),
            ParamSpec("bias", "bool", True, "Learn biases in the input and output projections."),
            ParamSpec(
                "causal",
                "bool",
                False,
                "Mask future positions: step t attends only to steps 0..t.",
            ),
            weights_param("port 'weights'"),
        ),
        name_prefix="attn",
        key_params=("num_heads", "causal"),
        inferred=("embed_dim",),
    )
)


# ---------------------------------------------------------------- transformer blocks

"""Attention as published models write it: ScaledDotProductAttention between projections the
model owns (BERT's query/key/value, GPT-2's fused c_attn and its Conv1D), so the projections
keep their own names and weights."""

from __future__ import annotations

from math import prod

from dlstudio.core.tensor_spec import TensorSpec
from dlstudio.layers.attention import check_heads
from dlstudio.layers.registry import register
from dlstudio.layers.rules import broadcast_shape, is_float, static_size
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

MASK_KINDS = ("padding", "boolean", "additive")


def _operands(ctx: ShapeContext) -> tuple[TensorSpec, TensorSpec, TensorSpec]:
    q, k, v = (is_float(ctx, port) for port in ("query", "key", "value"))
    merged = ctx["layout"] == "merged"
    rank = 3 if merged else None
    for port, x in (("query", q), ("key", k), ("value", v)):
        if (rank and x.rank != rank) or x.rank < 3:
            want = "(N, T, E)" if merged else "(N, heads, T, D)"
            fix = Fix.set_param("set layout to split", "layout", "split") if merged else None
            raise ctx.fail(
                f"needs {port} as {want} with layout {ctx['layout']}, but {port} is "
                f"{shape_text(x)}",
                *((fix,) if fix and x.rank == 4 else ()),
                port=port,
            )
    if q.shape[-1] != k.shape[-1]:
        raise ctx.fail(
            f"scores queries against keys, so they need the same feature size, but query "
            f"{shape_text(q)} has {q.shape[-1]} and key {shape_text(k)} has {k.shape[-1]}",
            port="key",
        )
    if k.shape[-2] != v.shape[-2]:
        raise ctx.fail(
            f"needs one value per key, but key {shape_text(k)} has {k.shape[-2]} steps and "
            f"value {shape_text(v)} has {v.shape[-2]}",
            port="value",
        )
    if len({x.dtype for x in (q, k, v)}) > 1:
        raise ctx.fail(
            f"needs query, key and value of one dtype, got {q.dtype}, {k.dtype}, {v.dtype}"
        )
    return q, k, v


def _check_mask(ctx: ShapeContext, q: TensorSpec, k: TensorSpec, heads: int | str) -> None:
    mask = ctx.inputs.get("mask")
    if mask is None:
        return
    kind = ctx["mask_type"]
    if kind == "padding":
        if mask.is_float or mask.rank != 2 or mask.shape != (k.shape[0], k.shape[-2]):
            raise ctx.fail(
                f"takes a padding mask (N, S) of integers or booleans, 1 where a key may be "
                f"attended (Hugging Face's attention_mask), one per step of key "
                f"{shape_text(k)}, but mask is {shape_text(mask)} {mask.dtype}",
                port="mask",
            )
        return
    if kind == "boolean" and mask.dtype != "bool":
        raise ctx.fail(
            f"takes a boolean mask (True = may attend), but mask is {mask.dtype}: set "
            "mask_type to additive for a mask added to the scores",
            port="mask",
        )
    if kind == "additive" and mask.dtype != q.dtype:
        raise ctx.fail(
            f"adds the mask to the {q.dtype} scores, so it must be {q.dtype}, but mask is "
            f"{mask.dtype}",
            port="mask",
        )
    scores = q.with_shape((q.shape[0], heads, q.shape[-2], k.shape[-2]))
    if ctx["layout"] == "split":
        scores = q.with_shape((*q.shape[:-1], k.shape[-2]))
    shape = broadcast_shape(ctx, [("mask", mask), ("scores", scores)])
    if shape != scores.shape:
        raise ctx.fail(
            f"needs a mask that broadcasts to the scores {shape_text(scores)} (N, heads, "
            f"queries, keys), but mask {shape_text(mask)} would make them {shape}",
            port="mask",
        )


def _sdpa_shape(ctx: ShapeContext) -> ShapeResult:
    q, k, v = _operands(ctx)
    heads = ctx["num_heads"]
    if ctx["layout"] == "merged":
        for name, x in (("query", q), ("value", v)):
            size = static_size(ctx, x.shape[-1], f"{name} feature size")
            check_heads(ctx, size, "num_heads", f"{name}'s features")
        out = v.with_shape((q.shape[0], q.shape[1], v.shape[-1]))
    else:
        heads = q.shape[1]
        out = v.with_shape((*q.shape[:-2], q.shape[-2], v.shape[-1]))
    if ctx["causal"] and ctx.inputs.get("mask") is not None and ctx["mask_type"] != "padding":
        raise ctx.fail(
            "is causal and has a boolean or additive mask; torch takes one or the other: fold "
            "the causal triangle into the mask and turn causal off",
            Fix.set_param("turn causal off", "causal", False),
        )
    _check_mask(ctx, q, k, heads)
    return ShapeResult({"out": out})


def _sdpa_macs(ctx: StatContext) -> int:
    q, k, v = ctx.in_shape("query"), ctx.in_shape("key"), ctx.in_shape("value")
    # Scores: one MAC per query-key pair and query feature; output: per pair and value feature.
    pairs = prod(q[:-1]) * k[-2]
    return pairs * (q[-1] + v[-1])


register(
    LayerType(
        id="scaled_dot_product_attention",
        label="ScaledDotProductAttention",
        category="Attention",
        summary="softmax(Q K^T / sqrt(d)) V between projections you wire in (BERT, GPT-2, ViT).",
        explanation=(
            "The attention step alone, without projections: wire Dense layers (BERT's query, "
            "key, value; GPT-2's c_attn and a Split) into query, key and value, and a Dense "
            "after it (the output projection), so each keeps its own name and weights. With "
            "layout merged the inputs are (N, T, E): they are split into num_heads heads of E / "
            "num_heads features, attended head by head, and merged back to (N, T, E); with "
            "layout split they already are (N, heads, T, D). causal lets step t see steps up "
            "to t only. The optional mask is a padding mask (N, S), 1 for real tokens (Hugging "
            "Face's attention_mask), a boolean mask (True = may attend) or an additive one "
            "(added to the scores), broadcast over (N, heads, T, S). Dropout on the attention "
            "weights acts only while training."
        ),
        formula="y = softmax(Q K^T * scale + mask) V,  scale = 1 / sqrt(d) unless set",
        infer=_sdpa_shape,
        count_macs=_sdpa_macs,
        inputs=(
            PortSpec("query", "Queries (N, T, E), or (N, heads, T, D) with layout split."),
            PortSpec("key", "Keys (N, S, E), or (N, heads, S, D)."),
            PortSpec("value", "Values (N, S, Ev), or (N, heads, S, Dv)."),
            PortSpec("mask", "Optional mask; see mask_type.", optional=True),
        ),
        params=(
            ParamSpec("num_heads", "int", 1, "Heads to split E into (layout merged).", minimum=1),
            ParamSpec(
                "layout",
                "choice",
                "merged",
                "merged: (N, T, E) in and out, heads split and merged here; split: the "
                "inputs already are (N, heads, T, D).",
                choices=("merged", "split"),
            ),
            ParamSpec("causal", "bool", False, "Each step attends only to itself and before."),
            ParamSpec(
                "scale",
                "float",
                None,
                "Factor on the scores; empty: 1 / sqrt(head size).",
                optional=True,
                minimum=0.0,
                maximum=1e6,
            ),
            ParamSpec(
                "dropout",
                "float",
                0.0,
                "Dropout on the attention weights while training.",
                minimum=0.0,
                maximum=0.99,
            ),
            ParamSpec(
                "mask_type",
                "choice",
                "padding",
                "padding: (N, S), 1 = real token; boolean: True = may attend; additive: "
                "added to the scores.",
                choices=MASK_KINDS,
            ),
        ),
        name_prefix="attn",
        key_params=("num_heads", "causal"),
    )
)


# ------------------------------------------------------------------ GPT-2 Conv1D
def _conv1d_shape(ctx: ShapeContext) -> ShapeResult:
    x = is_float(ctx)
    if x.rank < 2:
        raise ctx.fail(f"needs (N, ..., features) but gets {shape_text(x)}")
    features = static_size(ctx, x.shape[-1], "number of input features")
    return ShapeResult({"out": x.with_shape((*x.shape[:-1], ctx["units"]))}, {"nx": features})


register(
    LayerType(
        id="gpt2_conv1d",
        label="Conv1D (GPT-2)",
        category="Dense",
        summary="A Dense layer whose weight is stored (in, out), as GPT-2's Conv1D.",
        explanation=(
            "Computes what Dense computes, x W + b, but keeps its weight as (in_features, "
            "units), the transpose of nn.Linear's, as Hugging Face's GPT-2 does in its c_attn, "
            "c_proj and c_fc layers (a name from the original TensorFlow code; it is not a "
            "convolution). Its state_dict keys and shapes equal transformers' "
            "(c_attn.weight is (768, 2304)), so GPT-2 weights load as they are."
        ),
        formula="y = x W + b,  W: (in_features, units)",
        infer=_conv1d_shape,
        count_params=lambda ctx: ctx["nx"] * ctx["units"] + ctx["units"],
        count_macs=lambda ctx: prod(ctx.in_shape()[:-1]) * ctx["nx"] * ctx["units"],
        params=(
            ParamSpec(
                "units", "int", 64, "Number of output features.", minimum=1, maximum=1_000_000
            ),
        ),
        name_prefix="c_fc",
        key_params=("units",),
        inferred=("nx",),
    )
)

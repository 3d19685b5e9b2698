"""Dense (fully connected) layer."""

from __future__ import annotations

from math import prod

from dlstudio.layers.registry import register
from dlstudio.layers.rules import is_float, static_size
from dlstudio.layers.spec import (
    Fix,
    LayerType,
    ParamSpec,
    ShapeContext,
    ShapeResult,
    StatContext,
    shape_text,
)


def _dense_shape(ctx: ShapeContext) -> ShapeResult:
    x = is_float(ctx)
    if x.rank not in (2, 3) and not (ctx["any_rank"] and x.rank > 3):
        fixes = (Fix.insert(f"insert Flatten before {ctx.name}", "flatten"),) if x.rank > 3 else ()
        raise ctx.fail(
            f"needs a 2-D input (N, features) or a sequence (N, T, features) but gets "
            f"{shape_text(x)}",
            *fixes,
        )
    in_features = static_size(ctx, x.shape[-1], "number of input features")
    return ShapeResult(
        {"out": x.with_shape((*x.shape[:-1], ctx["units"]))}, {"in_features": in_features}
    )


def _dense_params(ctx: StatContext) -> int:
    bias = ctx["units"] if ctx["bias"] else 0
    if ctx["tie_weight"]:
        return bias  # the weight is the Embedding's table, counted there
    return ctx["in_features"] * ctx["units"] + bias


def _dense_macs(ctx: StatContext) -> int:
    rows = prod(ctx.in_shape()[:-1])
    return rows * ctx["in_features"] * ctx["units"]


DENSE = register(
    LayerType(
        id="dense",
        label="Dense",
        category="Dense",
        summary="Fully connected: every output is a weighted sum of all inputs plus a bias.",
        explanation=(
            "Also called Linear or fully connected. Each of the `units` outputs is a weighted sum "
            "of every input feature plus a bias; it learns in_features x units weights. in_features "
            "is read from the incoming tensor. On a sequence (N, T, features) it is applied to every "
            "time step with the same weights. Follow it with a non-linearity (ReLU) unless it is the "
            "last layer. tie_weight names an Embedding whose table (num_embeddings x "
            "embedding_dim) this layer uses as its weight, as GPT-2's language-model head does: "
            "the matrix that turns token ids into vectors also scores every token at the "
            "output, and it is learnt (and counted) once. With any_rank it takes inputs of "
            "more dimensions too and acts on the last one, as ConvNeXt's blocks do on "
            "(N, H, W, C)."
        ),
        formula="y = x W^T + b,  W: (units, in_features)",
        infer=_dense_shape,
        count_params=_dense_params,
        count_macs=_dense_macs,
        params=(
            ParamSpec(
                "units",
                "int",
                64,
                "Number of output features (neurons).",
                minimum=1,
                maximum=1_000_000,
                label="units (out_features)",
            ),
            ParamSpec("bias", "bool", True, "Learn an additive bias per output."),
            ParamSpec(
                "tie_weight",
                "str",
                "",
                "Name of an Embedding whose table is this layer's weight (weight tying), or "
                "instance.name for one inside a block instance (transformer.wte): units must be "
                "its num_embeddings and the input features its embedding_dim. Empty: a weight "
                "of its own.",
                label="tie weight to",
            ),
            ParamSpec(
                "any_rank",
                "bool",
                False,
                "Accept inputs of more than 3 dimensions and act on the last one (channels-last "
                "images, (N, H, W, C)); off, such an input is an error, as it usually lacks a "
                "Flatten.",
                label="any input rank",
            ),
        ),
        name_prefix="fc",
        key_params=("units",),
        inferred=("in_features",),
    )
)

"""Embeddings: token lookup (Embedding), positions (PositionalEncoding) and the class token."""

from __future__ import annotations

from dlstudio.core.tensor_spec import TensorSpec, bind_dim
from dlstudio.layers.registry import register
from dlstudio.layers.rules import add_dim, static_size
from dlstudio.layers.sequence import sequence_input
from dlstudio.layers.spec import (
    Fix,
    LayerType,
    ParamSpec,
    ShapeContext,
    ShapeResult,
    StatContext,
    shape_text,
)


def _embedding_shape(ctx: ShapeContext) -> ShapeResult:
    x = ctx.input()
    if x.dtype != "int64":
        # The repair is on the node upstream (the Input), hence set_upstream_param.
        raise ctx.fail(
            f"takes token ids (int64) but gets {x.dtype} values {shape_text(x)}: set the "
            "Input's dtype to int64 (and its vocab_size), or remove the Embedding if these are "
            "already feature vectors",
            Fix.set_upstream_param("set the Input's dtype to int64", "in", "dtype", "int64"),
            Fix.remove("remove the Embedding"),
        )
    count, padding = ctx["num_embeddings"], ctx["padding_idx"]
    if padding is not None and not -count <= padding < count:
        raise ctx.fail(
            f"has padding_idx {padding} but ids only go from 0 to {count - 1} "
            f"(num_embeddings {count}): set padding_idx to 0 or another id inside the table",
            Fix.set_param("set padding_idx to 0", "padding_idx", 0),
        )
    return ShapeResult({"out": TensorSpec((*x.shape, ctx["embedding_dim"]), "float32")})


def _embedding_params(ctx: StatContext) -> int:
    return ctx["num_embeddings"] * ctx["embedding_dim"]


EMBEDDING = register(
    LayerType(
        id="embedding",
        label="Embedding",
        category="Embedding",
        summary="Looks up a learned vector for each token id: (N, T) int64 -> (N, T, dim).",
        explanation=(
            "Turns token ids (words, characters, items) into dense vectors: id i selects row i "
            "of a learned num_embeddings x embedding_dim table, which is the same as multiplying "
            "a one-hot vector by that table but far cheaper. Training moves the rows so that "
            "tokens used alike end up close together, as in word2vec. The input holds int64 ids "
            "from 0 to num_embeddings - 1 in any shape (N, ...); the output adds a last "
            "dimension of size embedding_dim. With padding_idx, that id always maps to a zero "
            "vector that is never updated, so padding carries no information."
        ),
        formula="y[n, t] = W[x[n, t]],  W: (num_embeddings, embedding_dim)  (= one_hot(x) W)",
        infer=_embedding_shape,
        count_params=_embedding_params,
        params=(
            ParamSpec(
                "num_embeddings",
                "int",
                1000,
                "Size of the vocabulary: ids go from 0 to num_embeddings - 1.",
                minimum=1,
                maximum=10_000_000,
                label="num_embeddings (vocabulary)",
            ),
            ParamSpec(
                "embedding_dim",
                "int",
                64,
                "Length of each token's vector.",
                minimum=1,
                maximum=100_000,
            ),
            ParamSpec(
                "padding_idx",
                "int",
                None,
                "Id used for padding: its vector stays zero and is not trained (empty: none).",
                minimum=-10_000_000,
                maximum=10_000_000,
                optional=True,
            ),
        ),
        name_prefix="emb",
        key_params=("num_embeddings", "embedding_dim"),
    )
)


def _positional_shape(ctx: ShapeContext) -> ShapeResult:
    x = sequence_input(ctx, from_vector=False)
    d_model = static_size(ctx, x.shape[2], "embedding size (last dimension)")
    if ctx["mode"] == "sinusoidal" and d_model % 2:
        raise ctx.fail(
            f"uses sinusoidal encoding, which pairs a sine and a cosine per frequency, so it needs "
            f"an even embedding size, but {shape_text(x)} has {d_model}: make the size even, or "
            "use learned positions",
            Fix.set_param("use learned positions", "mode", "learned"),
        )
    steps, max_len = x.shape[1], ctx["max_len"]
    if isinstance(steps, int) and steps > max_len:
        raise ctx.fail(
            f"has positions for max_len {max_len} steps but the sequence {shape_text(x)} has "
            f"{steps}: set max_len to {steps} or more",
            Fix.set_param(f"set max_len to {steps}", "max_len", steps),
        )
    if ctx["bare"] and ctx["mode"] == "learned" and isinstance(steps, int) and steps != max_len:
        raise ctx.fail(
            f"adds its whole bare (1, {max_len}, {d_model}) table, as the model it was imported "
            f"from does, but the sequence {shape_text(x)} has {steps} steps: give it "
            f"{max_len} steps, or set max_len to {steps} (the table's stored weights no longer fit)",
            Fix.set_param(f"set max_len to {steps}", "max_len", steps),
        )
    example = bind_dim(steps, dict(ctx.bindings)) if not isinstance(steps, int) else None
    if example is not None and example > max_len:  # the run would fail on its first batch
        sizes = ", ".join(f"{k} = {v}" for k, v in sorted(ctx.bindings.items()) if k != "N")
        raise ctx.fail(
            f"has positions for max_len {max_len} steps but the sequence {shape_text(x)} has "
            f"{example} at the example length ({sizes}): set max_len to {example} or more, or "
            "use shorter sequences",
            Fix.set_param(f"set max_len to {example}", "max_len", example),
        )
    return ShapeResult({"out": x}, {"d_model": d_model})


BARE_PARAM = ParamSpec(
    "bare",
    "bool",
    False,
    "Keep the learned tensor as the attribute itself, so its state_dict key is the node's name "
    "(torchvision's class_token, timm's pos_embed) rather than name.token / name.weight. Imports "
    "set it so the keys are the source's; a bare position table is added whole, so the sequence "
    "must have exactly max_len steps.",
    label="bare parameter",
)
"""The option, shared by PositionalEncoding and ClassToken, that writes the tensor as a bare
``nn.Parameter`` under the node's name instead of a submodule holding it."""


def _positional_params(ctx: StatContext) -> int:
    return ctx["max_len"] * ctx["d_model"] if ctx["mode"] == "learned" else 0


def _add_macs(ctx: StatContext) -> int:
    # One addition per value; counted so the layer does not look free.
    n, steps, d_model = ctx.in_shape()
    return n * steps * d_model


POSITIONAL_ENCODING = register(
    LayerType(
        id="positional_encoding",
        label="PositionalEncoding",
        category="Embedding",
        summary="Adds a position code to every time step so attention knows word order.",
        explanation=(
            "Self-attention treats its input as a set: without positions, 'dog bites man' and "
            "'man bites dog' look the same. This layer adds a vector PE[t] that depends only on "
            "the position t to each time step, y[:, t] = x[:, t] + PE[t] (x is not rescaled), "
            "then applies dropout. 'sinusoidal' is the fixed code of 'Attention Is All You "
            "Need': even features are sines and odd features cosines of pos / 10000^(2i/d), "
            "with wavelengths from 2*pi to 10000*2*pi; it has no parameters, and since PE[t+k] "
            "is a linear function of PE[t], relative positions are easy to learn. 'learned' "
            "trains a max_len x d_model table instead, as BERT and GPT do. Sequences may be up "
            "to max_len steps long. Place it right after the Embedding (or the patch "
            "projection of a ViT)."
        ),
        formula=(
            "y = dropout(x + PE[:T]);  PE(pos, 2i) = sin(pos / 10000^(2i/d)), "
            "PE(pos, 2i+1) = cos(pos / 10000^(2i/d));  learned: PE = W[:T], W: (max_len, d)"
        ),
        infer=_positional_shape,
        count_params=_positional_params,
        count_macs=_add_macs,
        params=(
            ParamSpec(
                "mode",
                "choice",
                "sinusoidal",
                "sinusoidal: fixed sine/cosine code, no parameters; learned: a trained table.",
                choices=("sinusoidal", "learned"),
            ),
            ParamSpec(
                "max_len",
                "int",
                512,
                "Longest sequence the layer accepts (rows of the position table).",
                minimum=1,
                maximum=1_000_000,
            ),
            ParamSpec(
                "dropout",
                "float",
                0.1,
                "Dropout applied after adding the positions.",
                minimum=0.0,
                maximum=0.99,
            ),
            BARE_PARAM,
        ),
        name_prefix="pos",
        key_params=("mode", "max_len"),
        inferred=("d_model",),
    )
)


def _cls_shape(ctx: ShapeContext) -> ShapeResult:
    x = sequence_input(ctx, from_vector=False)
    embed_dim = static_size(ctx, x.shape[2], "embedding size (last dimension)")
    out = (x.shape[0], add_dim(x.shape[1], 1), embed_dim)
    return ShapeResult({"out": x.with_shape(out)}, {"embed_dim": embed_dim})


def _cls_params(ctx: StatContext) -> int:
    return ctx["embed_dim"]


CLS_TOKEN = register(
    LayerType(
        id="cls_token",
        label="ClassToken",
        category="Embedding",
        summary="Prepends a learned [CLS] vector to each sequence: (N, T, E) -> (N, T+1, E).",
        explanation=(
            "Puts one extra, learned vector in front of every sequence, as BERT's [CLS] token "
            "and the class token of the Vision Transformer (ViT). It has no content of its own, so "
            "after the encoder blocks its output at position 0 is free to summarise the whole "
            "sequence; take it with SelectStep (first) and feed the classifier. Learns embed_dim "
            "values (one (1, 1, E) token shared by all examples); embed_dim is read from the input."
        ),
        formula="y = cat([c, x], dim=1),  c: learned (1, 1, E) expanded to (N, 1, E)",
        infer=_cls_shape,
        count_params=_cls_params,
        params=(BARE_PARAM,),
        name_prefix="cls",
        inferred=("embed_dim",),
    )
)


def _position_ids_shape(ctx: ShapeContext) -> ShapeResult:
    x = ctx.input()
    if x.dtype != "int64" or x.rank != 2:
        raise ctx.fail(
            f"takes token ids (N, T) of int64, but gets {x.dtype} values {shape_text(x)}: wire "
            "the token-id Input (input_ids) into it",
        )
    return ShapeResult({"out": TensorSpec(x.shape, "int64", x.mask)})


register(
    LayerType(
        id="position_ids",
        label="PositionIds",
        category="Embedding",
        summary="Position ids counted over the real tokens only, as RoBERTa numbers them.",
        explanation=(
            "Turns token ids (N, T) into position ids (N, T) for a position Embedding: the "
            "real tokens (ids other than padding_idx) are numbered padding_idx + 1, "
            "padding_idx + 2, ... in order, and every padding token gets padding_idx, so "
            "padding never moves the positions of the real tokens, wherever it is. RoBERTa, "
            "XLM-R and their relatives compute it this way (padding_idx is their pad token, "
            "1); wire its output into an Embedding of max_position_embeddings rows with the "
            "same padding_idx."
        ),
        formula="m = (x != p);  y = cumsum(m, dim=1) * m + p",
        infer=_position_ids_shape,
        params=(
            ParamSpec(
                "padding_idx",
                "int",
                1,
                "The padding token's id: padding gets this position, real tokens count on from it.",
                minimum=0,
                maximum=1_000_000,
            ),
        ),
        name_prefix="position_ids",
        key_params=("padding_idx",),
    )
)

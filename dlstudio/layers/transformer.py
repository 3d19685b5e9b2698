"""The Transformer encoder and decoder layers (``nn.TransformerEncoderLayer`` and
``nn.TransformerDecoderLayer``, batch first): their parameters, shape rules and counts, built
on the attention rules of :mod:`dlstudio.layers.attention`."""

from __future__ import annotations

from dlstudio.core.tensor_spec import TensorSpec
from dlstudio.layers.attention import (
    attended,
    attention_macs,
    attention_weight_count,
    check_heads,
    check_key_mask,
)
from dlstudio.layers.attention_weights import weights_param, weights_spec, with_weights
from dlstudio.layers.registry import register
from dlstudio.layers.rules import static_size
from dlstudio.layers.sequence import sequence_input
from dlstudio.layers.spec import (
    LayerType,
    ParamSpec,
    PortSpec,
    ShapeContext,
    ShapeResult,
    StatContext,
)


def _block_params(causal: bool, weights_of: str) -> tuple[ParamSpec, ...]:
    return (
        ParamSpec(
            "nhead",
            "int",
            4,
            "Number of attention heads; must divide d_model.",
            minimum=1,
            maximum=1024,
        ),
        ParamSpec(
            "dim_feedforward",
            "int",
            2048,
            "Hidden size of the feed-forward network (often 4 x d_model).",
            minimum=1,
            maximum=1_000_000,
        ),
        ParamSpec(
            "dropout",
            "float",
            0.1,
            "Dropout on attention weights and after each sub-layer.",
            minimum=0.0,
            maximum=0.99,
        ),
        ParamSpec(
            "activation",
            "choice",
            "relu",
            "Non-linearity of the feed-forward network (BERT uses gelu; GPT-2 gelu_tanh, "
            "GELU's tanh approximation).",
            choices=("relu", "gelu", "gelu_tanh"),
        ),
        ParamSpec(
            "norm_first",
            "bool",
            False,
            "Pre-norm: LayerNorm before each sub-layer (GPT-2 style, more stable when deep).",
        ),
        ParamSpec(
            "causal",
            "bool",
            causal,
            "Mask future positions in self-attention: step t sees only steps 0..t.",
        ),
        ParamSpec(
            "layer_norm_eps",
            "float",
            1e-5,
            "Added to the variance in every LayerNorm of the block (PyTorch 1e-5, ViT 1e-6, "
            "BERT 1e-12).",
            label="LayerNorm eps",
            minimum=0.0,
            maximum=1.0,
        ),
        weights_param(weights_of),
    )


def _block_input(ctx: ShapeContext) -> tuple[TensorSpec, int]:
    x = sequence_input(ctx, from_vector=False)
    d_model = static_size(ctx, x.shape[2], "embedding size d_model (last dimension)")
    check_heads(ctx, d_model, "nhead", "d_model")
    return x, d_model


def _encoder_shape(ctx: ShapeContext) -> ShapeResult:
    x, d_model = _block_input(ctx)
    check_key_mask(ctx, "mask", x, "input")
    weights = weights_spec(ctx, x, x, ctx["nhead"])
    return ShapeResult(with_weights({"out": x}, weights=weights), {"d_model": d_model})


def _decoder_shape(ctx: ShapeContext) -> ShapeResult:
    x, d_model = _block_input(ctx)
    memory = attended(ctx, "memory", x, "d_model", "target")
    check_key_mask(ctx, "mask", x, "target")
    check_key_mask(ctx, "memory_mask", memory, "memory")
    heads = ctx["nhead"]
    outputs = with_weights(
        {"out": x},
        weights=weights_spec(ctx, x, x, heads),
        cross_weights=weights_spec(ctx, x, memory, heads),
    )
    return ShapeResult(outputs, {"d_model": d_model})


def _feedforward_params(ctx: StatContext) -> int:
    d_model, hidden = ctx["d_model"], ctx["dim_feedforward"]
    return 2 * d_model * hidden + hidden + d_model


def _encoder_params(ctx: StatContext) -> int:
    # Self-attention, feed-forward (linear1, linear2) and two LayerNorms (gamma and beta).
    d_model = ctx["d_model"]
    return attention_weight_count(d_model) + _feedforward_params(ctx) + 2 * 2 * d_model


def _decoder_params(ctx: StatContext) -> int:
    # Self-attention, cross-attention, feed-forward and three LayerNorms.
    d_model = ctx["d_model"]
    return 2 * attention_weight_count(d_model) + _feedforward_params(ctx) + 3 * 2 * d_model


def _encoder_macs(ctx: StatContext) -> int:
    # What the same block drawn from MultiheadAttention, Dense, Add and LayerNorm counts: the
    # attention, both Dense layers, and one per element for each residual Add and LayerNorm.
    n, steps, d_model = ctx.in_shape()
    feedforward = 2 * steps * d_model * ctx["dim_feedforward"]
    residuals_and_norms = 2 * 2 * steps * d_model
    return n * (attention_macs(d_model, steps, steps) + feedforward + residuals_and_norms)


def _decoder_macs(ctx: StatContext) -> int:
    n, steps, d_model = ctx.in_shape()
    memory = ctx.in_shape("memory")[1]
    attention = attention_macs(d_model, steps, steps) + attention_macs(d_model, steps, memory)
    residuals_and_norms = 3 * 2 * steps * d_model
    feedforward = 2 * steps * d_model * ctx["dim_feedforward"]
    return n * (attention + feedforward + residuals_and_norms)


_BLOCK_NOTES = (
    " Shape is unchanged, (N, T, d_model), with d_model read from the input; nhead must divide "
    "d_model. Attention alone does not know word order: put a PositionalEncoding before the "
    "first block. dropout acts on the attention weights and after each sub-layer. An optional "
    "mask input (N, T), 1 for real tokens and 0 for padding (BERT's attention_mask), keeps "
    "every position from attending to padding; a sequence carrying the padding mask of an Input "
    "with a padding id (memory too, for the decoder) does so without the wire, and with both a "
    "step must pass each. layer_norm_eps is the eps of the block's "
    "LayerNorms (BERT 1e-12, ViT 1e-6). 'weights output' adds a port with the self-attention "
    "weights, averaged over heads (N, T, T) or per head (N, nhead, T, T)."
)

TRANSFORMER_ENCODER_LAYER = register(
    LayerType(
        id="transformer_encoder_layer",
        label="TransformerEncoderLayer",
        category="Attention",
        summary="One Transformer encoder block: self-attention + feed-forward, residual + norm.",
        explanation=(
            "The building block of BERT, ViT and (with causal on) GPT. Multi-head "
            "self-attention lets every position gather information from every other; a "
            "position-wise feed-forward network (Dense d_model -> dim_feedforward, activation, "
            "Dense back to d_model) then transforms each position on its own. Each sub-layer "
            "sits in a residual connection with a LayerNorm: after the sum in the original "
            "post-norm design, before the sub-layer with norm_first (pre-norm, GPT-2 style, "
            "which trains more stably in deep stacks). causal masks future positions, so a "
            "stack of these blocks becomes a decoder-only, GPT-style language model that "
            "predicts each next token from the ones before it." + _BLOCK_NOTES
        ),
        formula=(
            "SA(x) = MultiheadAttention(x, x, x);  FF(x) = W_2 act(W_1 x + b_1) + b_2;  "
            "post-norm: h = LN(x + SA(x)), y = LN(h + FF(h));  "
            "norm_first: h = x + SA(LN(x)), y = h + FF(LN(h))"
        ),
        infer=_encoder_shape,
        count_params=_encoder_params,
        count_macs=_encoder_macs,
        inputs=(
            PortSpec("in", "sequence (N, T, d_model)"),
            PortSpec("mask", "padding mask (N, T): 1 = attend, 0 = padding", optional=True),
        ),
        outputs=(
            PortSpec("out", "sequence (N, T, d_model)"),
            PortSpec("weights", "self-attention weights (N, T, T) or (N, nhead, T, T)"),
        ),
        optional_outputs=(("weights", "attention_weights"),),
        params=_block_params(causal=False, weights_of="port 'weights' (self-attention)"),
        name_prefix="enc",
        key_params=("nhead", "dim_feedforward", "causal"),
        inferred=("d_model",),
    )
)

TRANSFORMER_DECODER_LAYER = register(
    LayerType(
        id="transformer_decoder_layer",
        label="TransformerDecoderLayer",
        category="Attention",
        summary="One Transformer decoder block: masked self-attention, cross-attention, FF.",
        explanation=(
            "The decoder block of the original encoder-decoder Transformer (translation). "
            "First masked (causal) self-attention over the target sequence 'in' (N, T, d_model), "
            "so position t cannot peek at the tokens it has to predict; then cross-attention "
            "(encoder-decoder attention) whose queries come from the target and whose keys and "
            "values come from the encoder output 'memory' (N, S, d_model), which is never "
            "masked and may have another length S; then the feed-forward network. Each "
            "sub-layer has a residual connection and a LayerNorm (after the sum, or before the "
            "sub-layer with norm_first). During training the target is the answer shifted "
            "right (teacher forcing)." + _BLOCK_NOTES + " The decoder also has 'cross_weights': "
            "the cross-attention weights (N, T, S), how each target step looks at the memory."
        ),
        formula=(
            "h1 = LN(x + SA_causal(x));  h2 = LN(h1 + MultiheadAttention(h1, memory, memory));  "
            "y = LN(h2 + FF(h2)),  FF(h) = W_2 act(W_1 h + b_1) + b_2  (post-norm)"
        ),
        infer=_decoder_shape,
        count_params=_decoder_params,
        count_macs=_decoder_macs,
        inputs=(
            PortSpec("in", "target sequence (N, T, d_model)"),
            PortSpec("memory", "encoder output (N, S, d_model)"),
            PortSpec("mask", "target padding mask (N, T): 1 = attend, 0 = pad", optional=True),
            PortSpec("memory_mask", "memory padding mask (N, S)", optional=True),
        ),
        outputs=(
            PortSpec("out", "sequence (N, T, d_model)"),
            PortSpec("weights", "self-attention weights (N, T, T) or (N, nhead, T, T)"),
            PortSpec("cross_weights", "cross-attention weights (N, T, S) or (N, nhead, T, S)"),
        ),
        optional_outputs=(("weights", "attention_weights"), ("cross_weights", "attention_weights")),
        params=_block_params(
            causal=True,
            weights_of="ports 'weights' (self-attention) and 'cross_weights' (cross-attention)",
        ),
        name_prefix="dec",
        key_params=("nhead", "dim_feedforward"),
        inferred=("d_model",),
    )
)

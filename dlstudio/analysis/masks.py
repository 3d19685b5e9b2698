"""Padding masks in the analysis: which tensors carry the padding of which Input.

An int64 Input with a ``padding_id`` starts a mask. The mask travels with the sequence through
the layers that work step by step and keep the time axis where it was (axis 1, batch first):
an Embedding, a Dense (or GPT-2's Conv1D) on every step, activations and value-by-value
math, dropout, LayerNorm and RMSNorm, positional codes, attention, the Transformer layers,
recurrent layers returning every step, and merges and arithmetic of such sequences. Anything else (Flatten, Permute, convolutions, pooling, picking one step) ends it,
and so do the layers that use it up: mean over time, SelectStep and a recurrent layer's
last step.
The rule is a list, not a guess from shapes, so a transposed (N, E, T) tensor whose E happens
to equal T never inherits a mask that would be wrong there.
"""

from __future__ import annotations

from dlstudio.analysis.diagnostics import WARNING, Diagnostic
from dlstudio.analysis.result import NodeInfo
from dlstudio.core.blocks import BLOCK_TYPE
from dlstudio.core.graph import LayerGraph, LayerNode
from dlstudio.core.tensor_spec import TensorSpec

KEEPS_TIME_AXIS = frozenset(
    {
        "dense",
        "dropout",
        "layernorm",
        "identity",
        "embedding",
        "positional_encoding",
        "gelu",
        "hardsigmoid",
        "hardswish",
        "leaky_relu",
        "log_softmax",
        "relu",
        "relu6",
        "silu",
        "sigmoid",
        "softmax",
        "tanh",
        "rmsnorm",
        "stochastic_depth",
        "math",
        "constant_op",
        "cast",
        "gpt2_conv1d",
        "add",
        "multiply",
        "subtract",
        "divide",
        "concat",
        "multihead_attention",
        "scaled_dot_product_attention",
        "transformer_encoder_layer",
        "transformer_decoder_layer",
        "rnn",
        "lstm",
        "gru",
    }
)
"""Layer ids whose outputs keep their input's time axis at axis 1, step for step."""

SEQUENCE_PORTS = ("in", "query", "in1", "in2", "in3", "in4")
"""The ports whose mask an output inherits, in order of preference (the decoder's target,
not its memory; attention's queries, not its keys)."""

MASK_USERS = frozenset(
    {
        "multihead_attention",
        "transformer_encoder_layer",
        "transformer_decoder_layer",
        "mean_over_time",
        "select_step",
        "rnn",
        "lstm",
        "gru",
    }
)
"""Layer ids that read the padding mask of their inputs (see ``docs/layers.md``)."""


def input_mask(node: LayerNode, info: NodeInfo) -> None:
    """An Input with a padding id: its output carries its own mask."""
    if info.params.get("padding_id") is not None and "out" in info.outputs:
        info.outputs["out"] = info.outputs["out"].with_mask(node.id)


def carry_masks(node: LayerNode, info: NodeInfo) -> None:
    """Set the mask of each output of ``node`` from its inputs, by the rule above."""
    if all(spec.mask is None for spec in info.inputs.values()):  # the common case: no mask
        for port, spec in list(info.outputs.items()):
            if spec.mask is not None:
                info.outputs[port] = spec.with_mask(None)
        return
    source = _sequence_mask(info.inputs)
    for port, spec in list(info.outputs.items()):
        mask = source if source and _keeps(node, info, port, spec) else None
        info.outputs[port] = spec.with_mask(mask[1] if mask else None)


def _sequence_mask(inputs: dict[str, TensorSpec]) -> tuple[TensorSpec, str] | None:
    for port in SEQUENCE_PORTS:
        spec = inputs.get(port)
        if spec is not None and spec.mask is not None:
            return spec, spec.mask
    return None


def _keeps(node: LayerNode, info: NodeInfo, port: str, spec: TensorSpec) -> bool:
    if node.type_id not in KEEPS_TIME_AXIS or port != "out" or spec.rank < 2:
        return False
    if node.type_id in ("rnn", "lstm", "gru") and not info.params.get("return_sequences"):
        return False  # the last (real) step: the time axis is gone
    source = _sequence_mask(info.inputs)
    assert source is not None
    return tuple(spec.shape[:2]) == tuple(source[0].shape[:2])


def strip_block_masks(
    node: LayerNode, info: NodeInfo, root: LayerGraph, out: list[Diagnostic]
) -> None:
    """A block instance's definition is analysed without masks: its class's forward() takes
    tensors only, so a mask cannot reach its layers. Say so when one of them would use it."""
    masked = sorted(port for port, spec in info.inputs.items() if spec.mask is not None)
    if not masked:
        return
    info.inputs = {port: spec.with_mask(None) for port, spec in info.inputs.items()}
    if not _uses_masks(root, str(info.params.get("block", "")), set()):
        return
    out.append(
        Diagnostic(
            WARNING,
            node.id,
            f"{node.name}: the padding mask on {', '.join(masked)} does not reach inside the "
            "block, so its layers treat padded steps as real; draw the attention, recurrent "
            "or mean-over-time layers outside the block to have padding ignored",
        )
    )


def _uses_masks(root: LayerGraph, name: str, seen: set[str]) -> bool:
    definition = root.blocks.get(name)
    if definition is None or name in seen:
        return False
    seen.add(name)
    for inner in definition.graph:
        if inner.type_id in MASK_USERS:
            return True
        if inner.type_id == BLOCK_TYPE and _uses_masks(root, str(inner.params.get("block")), seen):
            return True
    return False

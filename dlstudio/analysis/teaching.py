"""Warnings that teach: drawings that compile and train, but not the way their author meant.

Each finding says what happens and why, and offers a one-click fix: a Softmax before a loss
that applies its own (a double softmax), dropout that a one-layer recurrent layer would ignore
in PyTorch, a decoder block with no encoder to attend to.
"""

from __future__ import annotations

from dlstudio.analysis.diagnostics import WARNING, Diagnostic
from dlstudio.analysis.result import NodeInfo
from dlstudio.core.graph import LayerGraph, LayerNode, PortRef
from dlstudio.layers.spec import Fix

_LOGIT_LOSSES = {
    "cross_entropy": "cross-entropy applies log-softmax to raw scores itself",
    "bce_with_logits": "bce_with_logits applies the sigmoid to raw scores itself",
}
# Nodes that only move values around: a Softmax behind them still reaches the loss.
_PASS_THROUGH = ("reshape", "flatten", "permute")
_BLOCK_PARAMS = (
    "nhead",
    "dim_feedforward",
    "dropout",
    "activation",
    "norm_first",
    "layer_norm_eps",
)


def teaching_diagnostics(
    graph: LayerGraph, infos: dict[str, NodeInfo], top_level: bool = True
) -> list[Diagnostic]:
    """The teaching warnings of ``graph`` (its training settings give the loss). Inside a block
    (``top_level`` false) an Output is not where a loss is computed, so only the layer checks
    run."""
    training = graph.metadata.get("training")
    training = training if isinstance(training, dict) else {}  # a malformed file: defaults
    loss = training.get("loss") or "cross_entropy"
    loss = loss if isinstance(loss, str) else "cross_entropy"
    found: list[Diagnostic] = []
    first_output = next((n for n in graph if n.type_id == "output"), None)
    if first_output is not None and top_level:
        found += _squashed_scores(graph, first_output, loss)
    for node in graph:
        info = infos.get(node.id)
        if info is None or not info.params:
            continue
        if node.type_id in ("rnn", "lstm", "gru"):
            found += _single_layer_dropout(node, info)
        elif node.type_id == "transformer_decoder_layer":
            found += _decoder_without_memory(graph, node, info)
    return found


def _feeding(graph: LayerGraph, node: LayerNode, port: str = "in") -> LayerNode | None:
    edge = graph.incoming_edge(PortRef(node.id, port))
    return graph.node(edge.src.node) if edge is not None else None


def _squashed_scores(graph: LayerGraph, output: LayerNode, loss: str) -> list[Diagnostic]:
    """A Softmax, LogSoftmax or Sigmoid right before the loss that wants raw scores."""
    node = _feeding(graph, output)
    while node is not None and node.type_id in _PASS_THROUGH:
        node = _feeding(graph, node)
    if node is None:
        return []
    kind = node.type_id
    label = {"softmax": "Softmax", "log_softmax": "LogSoftmax", "sigmoid": "Sigmoid"}.get(kind)
    if label is None:
        return []
    wants_logits = (kind in ("softmax", "log_softmax") and loss == "cross_entropy") or (
        kind == "sigmoid" and loss == "bce_with_logits"
    )
    if kind == "softmax" and loss == "nll":
        return [
            Diagnostic(
                WARNING,
                node.id,
                f"{node.name} (Softmax) feeds the nll loss, which expects log-probabilities: "
                "use LogSoftmax instead, or remove it and use cross_entropy",
                (Fix.replace("use LogSoftmax instead", "log_softmax", dim=-1),),
            )
        ]
    if not wants_logits:
        return []
    remove = Fix.remove(f"remove {node.name}")
    if kind == "softmax":
        message = (
            f"{node.name} (Softmax) feeds the {loss} loss, and {_LOGIT_LOSSES[loss]}: the "
            "scores are squashed twice (a double softmax), so gradients shrink and training "
            "stalls. Remove it: the loss expects logits, and argmax of the logits is the same "
            "prediction (apply softmax after training when you want probabilities)"
        )
        fixes: tuple[Fix, ...] = (remove,)
    elif kind == "log_softmax":
        message = (
            f"{node.name} (LogSoftmax) feeds the {loss} loss, and {_LOGIT_LOSSES[loss]}: "
            "here that does no harm (log-softmax of log-probabilities changes nothing) but "
            "hides what is computed. Use the nll loss, which expects log-probabilities, or "
            "remove the LogSoftmax"
        )
        fixes = (Fix.set_training("use the nll loss", "loss", "nll"), remove)
    else:
        message = (
            f"{node.name} (Sigmoid) feeds the {loss} loss, and {_LOGIT_LOSSES[loss]}: "
            "probabilities are squashed twice, so the loss cannot go below log(1 + e^-1); "
            "remove it"
        )
        fixes = (remove,)
    return [Diagnostic(WARNING, node.id, message, fixes)]


def _single_layer_dropout(node: LayerNode, info: NodeInfo) -> list[Diagnostic]:
    p = info.params.get("dropout") or 0.0
    if info.params.get("num_layers") != 1 or not p:
        return []
    label = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}[node.type_id]
    return [
        Diagnostic(
            WARNING,
            node.id,
            f"{node.name} ({label}) has dropout {p:g} but one layer: PyTorch's dropout acts "
            f"only between stacked layers, so DL Studio applies it to the layer's input, as "
            f"Keras's dropout= does. Say so in the drawing: a Dropout({p:g}) node before "
            f"{node.name}, and dropout 0 on the layer",
            (
                Fix(
                    f"insert Dropout({p:g}) before {node.name}",
                    "insert",
                    port="in",
                    layer_type="dropout",
                    params=(("p", p),),
                    param="dropout",
                    value=0.0,
                ),
            ),
        )
    ]


def _decoder_without_memory(graph: LayerGraph, node: LayerNode, info: NodeInfo) -> list[Diagnostic]:
    if graph.incoming_edge(PortRef(node.id, "memory")) is not None:
        return []
    params = {k: info.params[k] for k in _BLOCK_PARAMS if k in info.params}
    return [
        Diagnostic(
            WARNING,
            node.id,
            f"{node.name} (TransformerDecoderLayer) has no memory: a decoder block "
            "cross-attends to an encoder's output. Without an encoder (a GPT-style language "
            "model) use a TransformerEncoderLayer with causal on: the same masked "
            "self-attention and feed-forward network, without the cross-attention",
            (
                Fix.replace(
                    "replace by a causal TransformerEncoderLayer",
                    "transformer_encoder_layer",
                    causal=True,
                    **params,
                ),
            ),
        )
    ]

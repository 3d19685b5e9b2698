"""Does the data set fit the drawing? Each mismatch as a diagnostic with one-click fixes.

The fixes are the ones shape errors offer (:class:`~dlstudio.layers.spec.Fix`), applied by the
editor's :func:`~dlstudio.analysis.fixes.command_for_fix` as one undoable edit: data-set options
(``resize=28``, ``flatten=true``, an image folder's ``size`` and ``channels``), the Input's
shape or dtype, the last layer's class count, the loss. An option fix is offered only after the
data set, loaded with it, fits the Input: a fix that would not work is never shown.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from dlstudio.analysis import AnalysisResult
from dlstudio.analysis.diagnostics import ERROR, WARNING, Diagnostic
from dlstudio.core.graph import LayerGraph
from dlstudio.core.tensor_spec import TensorSpec, format_shape
from dlstudio.layers.spec import Fix
from dlstudio.train.compat import check_inputs, check_target, target_warnings
from dlstudio.train.config import TrainConfig
from dlstudio.train.data import Dataset, list_datasets, load_dataset
from dlstudio.train.errors import DLStudioError

Loader = Callable[[str, dict[str, Any]], Dataset]
MIN_IMAGE_SIDE = 8
"""A flat input of fewer than 8x8 values is not taken for a flattened image."""
_PASS_THROUGH = {"relu", "softmax", "log_softmax", "sigmoid", "tanh", "dropout", "identity"}


def data_diagnostics(
    graph: LayerGraph,
    analysis: AnalysisResult,
    config: TrainConfig,
    dataset: Dataset,
    loader: Loader = load_dataset,
) -> list[Diagnostic]:
    """Errors for what training would refuse, warnings for what it would accept but flag, each
    with the fixes that make the data set and the drawing fit."""
    inputs = [n for n in graph if n.type_id == "input"]
    outputs = [n for n in graph if n.type_id == "output"]
    specs = [
        analysis.nodes[n.id].outputs.get("out") if n.id in analysis.nodes else None for n in inputs
    ]
    out_spec = None
    if outputs and outputs[0].id in analysis.nodes:
        out_spec = analysis.nodes[outputs[0].id].inputs.get("in")
    found: list[Diagnostic] = []
    known = [s for s in specs if s is not None]
    if specs and len(known) == len(specs):
        names = [n.name for n in inputs]
        for message in check_inputs(dataset, known, names):
            index = next((i for i, n in enumerate(names) if f" {n} expects" in message), None)
            node = inputs[index] if index is not None else None
            fixes: tuple[Fix, ...] = ()
            if index is not None and index < len(dataset.input_specs):
                fixes = _input_fixes(config, dataset, known, index, loader)
            found.append(
                Diagnostic(ERROR, node.id if node else None, f"training data: {message}", fixes)
            )
    head = _class_layer(graph, outputs[0].id) if outputs else None
    target_node = head or (outputs[0].id if outputs else None)
    class_fix = _class_fix(graph, head, dataset)
    for message in check_target(dataset, config.loss, out_spec):
        fixes = _loss_fixes(message) or class_fix
        found.append(Diagnostic(ERROR, target_node, f"training data: {message}", fixes))
    for message in target_warnings(dataset, config.loss, out_spec):
        found.append(Diagnostic(WARNING, target_node, f"training data: {message}", class_fix))
    return found


def dataset_option_names(name: str, dataset: Dataset) -> set[str]:
    """The options a data set understands: a built-in's list, an image folder's size and
    channels."""
    for info in list_datasets():
        if info.name == name:
            return {o.strip() for o in info.options.split(",") if o.strip()}
    return set(dataset.options) & {"size", "channels", "resize", "flatten"}


def _input_fixes(
    config: TrainConfig,
    dataset: Dataset,
    specs: list[TensorSpec],
    index: int,
    loader: Loader,
) -> tuple[Fix, ...]:
    expected = tuple(specs[index].shape)
    dims = expected[1:] if expected and expected[0] == "N" else expected
    data_spec = dataset.input_specs[index]
    fixes = []
    name = config.dataset or ""  # a data set was loaded, so the settings name one
    for changes in _option_candidates(dims, dataset_option_names(name, dataset)):
        options = {**config.dataset_options, **changes}
        options = {k: v for k, v in options.items() if v is not None}
        try:
            fitted = loader(name, options)
        except (DLStudioError, ValueError, OSError):
            continue
        if not check_inputs(fitted, specs):
            fixes.append(Fix.set_training(_describe(changes), "dataset_options", options))
            break  # the first working change is the fix; more would only confuse
    shape = tuple(data_spec.shape)
    spec = specs[index]
    if tuple(dims) != shape:
        fixes.append(Fix.set_param(f"Set the Input shape to {format_shape(shape)}", "shape", shape))
    elif spec.dtype != data_spec.dtype:
        fixes.append(
            Fix.set_param(f"Set the Input dtype to {data_spec.dtype}", "dtype", data_spec.dtype)
        )
    return tuple(fixes)


def _option_candidates(dims: tuple[Any, ...], known: set[str]) -> list[dict[str, Any]]:
    """Option changes that could turn the data into ``dims`` (checked by loading them)."""
    if not all(isinstance(d, int) for d in dims):
        return []
    found: list[dict[str, Any]] = []
    if len(dims) == 3:
        channels, height, width = dims
        if height == width:
            if "resize" in known:
                found.append(
                    {"resize": height, **({"flatten": None} if "flatten" in known else {})}
                )
            if "size" in known:
                found.append(
                    {"size": height, **({"channels": channels} if "channels" in known else {})}
                )
    elif len(dims) == 1 and "flatten" in known:
        side = math.isqrt(dims[0])
        if side * side == dims[0] and side >= MIN_IMAGE_SIDE:
            found.append({"flatten": True, **({"resize": side} if "resize" in known else {})})
    return found


def _describe(changes: dict[str, Any]) -> str:
    parts = []
    for key, value in changes.items():
        if key in ("resize", "size") and value:
            parts.append(f"resize the images to {value}x{value}")
        elif key == "flatten" and value:
            parts.append("flatten them")
        elif key == "channels" and value:
            parts.append("grey" if value == 1 else "colour (3 channels)")
    text = " and ".join(parts) or "change the data-set options"
    return text[0].upper() + text[1:]


def _class_layer(graph: LayerGraph, output_id: str) -> str | None:
    """The Dense layer whose units are the class scores (through activations and dropout)."""
    node_id: str | None = output_id
    for _ in range(4):
        edges = graph.edges_into(node_id) if node_id else []
        if len(edges) != 1:
            return None
        node = graph.node(edges[0].src.node)
        if node.type_id == "dense":
            return node.id
        if node.type_id not in _PASS_THROUGH:
            return None
        node_id = node.id
    return None


def _class_fix(graph: LayerGraph, head: str | None, dataset: Dataset) -> tuple[Fix, ...]:
    classes = dataset.num_classes
    if head is None or not classes or dataset.target_kind != "class":
        return ()
    name = graph.node(head).name
    return (Fix.set_param(f"Set {name} to {classes} outputs", "units", classes),)


def _loss_fixes(message: str) -> tuple[Fix, ...]:
    for loss in ("mse", "bce_with_logits", "cross_entropy"):
        if message.endswith(f"set loss to {loss}"):
            return (Fix.set_training(f"Set the loss to {loss}", "loss", loss),)
    return ()

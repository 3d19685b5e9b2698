"""Everything ``train`` would refuse, found without training: the checks behind ``validate``.

The project's training settings are resolved as ``train`` resolves them, the data set is
loaded, and its inputs and targets are checked against the analysed Input and Output nodes:
shapes and dtypes, class count against the output size, loss against the kind of target.
"""

from __future__ import annotations

from pathlib import Path

from dlstudio.analysis import AnalysisResult
from dlstudio.analysis.diagnostics import ERROR, WARNING, Diagnostic
from dlstudio.compile.codegen.names import class_name
from dlstudio.compile.limits import check_fits
from dlstudio.core.graph import LayerGraph
from dlstudio.train.compat import check_inputs, check_target, target_warnings
from dlstudio.train.config import TrainConfig
from dlstudio.train.devices import resolve_device
from dlstudio.train.errors import DLStudioError
from dlstudio.train.session import resolve_run


def training_diagnostics(
    graph: LayerGraph, analysis: AnalysisResult, base_dir: str | Path | None = None
) -> list[Diagnostic]:
    """Errors for what ``train`` would refuse, warnings for what it would accept but flag.

    Relative data paths are taken from ``base_dir`` (the project file's folder), as train takes
    them. Empty when the project names no data set (there is nothing to check against)."""
    training = graph.metadata.get("training")
    if training is None or (isinstance(training, dict) and not training.get("dataset")):
        return []
    try:
        config, dataset = resolve_run(training, base_dir)
    except DLStudioError as exc:
        return [Diagnostic(ERROR, None, f"training settings: {exc}")]
    inputs = [n for n in graph if n.type_id == "input"]
    outputs = [n for n in graph if n.type_id == "output"]
    specs = [analysis.nodes[n.id].outputs.get("out") for n in inputs]
    out_spec = analysis.nodes[outputs[0].id].inputs.get("in") if outputs else None
    found: list[Diagnostic] = []
    if all(s is not None for s in specs):
        for message in check_inputs(dataset, specs, [n.name for n in inputs]):
            node = next((n.id for n in inputs if f" {n.name} expects" in message), None)
            found.append(Diagnostic(ERROR, node, f"training data: {message}"))
    output_id = outputs[0].id if outputs else None
    for message in check_target(dataset, config.loss, out_spec):
        found.append(Diagnostic(ERROR, output_id, f"training data: {message}"))
    for message in target_warnings(dataset, config.loss, out_spec):
        found.append(Diagnostic(WARNING, output_id, f"training data: {message}"))
    if not any(d.is_error for d in found):
        found += _memory_diagnostics(graph, analysis, config)
    return found


def _memory_diagnostics(
    graph: LayerGraph, analysis: AnalysisResult, config: TrainConfig
) -> list[Diagnostic]:
    """The check train makes before its first step: weights, gradients, optimizer state and
    activations at the batch size against the memory of the chosen device."""
    try:
        check_fits(
            analysis,
            "train",
            name=class_name(graph.name),  # the name train gives the model
            device=resolve_device(config.device),
            batch_size=config.batch_size,
            optimizer=config.optimizer,
        )
    except DLStudioError as exc:
        return [Diagnostic(ERROR, None, f"training settings: {exc}")]
    return []

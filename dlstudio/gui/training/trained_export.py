"""The trained weights the Export menu offers: those of the last run, when it trained the
drawing as it is now (see :mod:`dlstudio.gui.export_weights`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dlstudio.compile.weights import read_state_dict
from dlstudio.core import LayerGraph
from dlstudio.core.errors import DLStudioError
from dlstudio.gui.export_weights import TrainedWeights, structure_key
from dlstudio.gui.training.history import RunRecord

if TYPE_CHECKING:
    from dlstudio.gui.training.controller import TrainingController


def trained_weights_for(controller: TrainingController, graph: LayerGraph) -> TrainedWeights | None:
    """The trained weights of the latest run (of this session, else the one selected in the
    run history) whose snapshot is ``graph`` up to positions and metadata; None if none."""
    for record in _candidates(controller):
        module = controller.trained.get(record.run_id)
        if module is None and not record.weights_path.exists():
            continue
        try:
            same = structure_key(_snapshot(controller, record)) == structure_key(graph)
        except (OSError, ValueError, DLStudioError):
            continue  # a damaged run folder offers nothing
        if not same:
            continue
        return TrainedWeights(_label(record), _state_source(record, module))
    return None


def _candidates(controller: TrainingController) -> list[RunRecord]:
    found = []
    if controller.record is not None and not controller.is_running:
        found.append(controller.record)
    selected = controller.monitor.history.current()
    if selected is not None and selected not in found and selected is not controller.record:
        found.append(selected)
    return found


def _snapshot(controller: TrainingController, record: RunRecord) -> LayerGraph:
    cache: dict[str, LayerGraph] = controller.__dict__.setdefault("_snapshots", {})
    if record.run_id not in cache:
        cache[record.run_id] = record.load_graph()
    return cache[record.run_id]


def _label(record: RunRecord) -> str:
    epochs = len(record.epochs)
    status = record.status.replace("_", " ")
    when = f"{epochs} epoch{'s' if epochs != 1 else ''}, {status}"
    return f"trained weights of run {record.run_id} ({when})"


def _state_source(record: RunRecord, module: Any):
    if module is not None:
        return module.state_dict
    return lambda: read_state_dict(record.weights_path)

"""Which weights an export writes: the trained ones of a run of this drawing, or the initial ones.

Export means the model the user sees: once a run has trained the drawing as it is now, the
Export menu offers that run's weights first, and every export dialog names the weights it wrote.
A run trained an earlier drawing when its snapshot differs from the document in anything but
node positions and metadata; its weights are then not offered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtWidgets import QMessageBox, QWidget

from dlstudio.core import LayerGraph
from dlstudio.core.serialization import graph_to_dict

INITIAL_LABEL = "initial weights (untrained, as compiled)"


@dataclass(frozen=True)
class TrainedWeights:
    """A run's trained weights that fit the current drawing."""

    label: str
    """Says which weights these are, e.g. ``trained weights of run 20261207-040210 (epoch 3,
    completed)``."""
    state_dict: Callable[[], dict[str, Any]]
    """Returns the state dict (called on a worker thread)."""


TrainedWeightsSource = Callable[[LayerGraph], "TrainedWeights | None"]
"""Given the document's graph, the trained weights that fit it, or None."""


def structure_key(graph: LayerGraph) -> Any:
    """What decides a graph's weights: nodes, parameters, wires and blocks, without positions
    or metadata (moving a node or changing the learning rate keeps the trained weights)."""
    data = graph_to_dict(graph)
    data.pop("metadata", None)
    data.pop("name", None)
    return _without_positions(data)


def _without_positions(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_positions(v) for k, v in value.items() if k != "position"}
    if isinstance(value, list):
        return [_without_positions(v) for v in value]
    return value


def ask_weights(parent: QWidget, what: str, trained: TrainedWeights) -> str | None:
    """Ask which weights ``what`` (ONNX, Python, Weights) should hold: ``"trained"`` (the
    default button), ``"initial"``, or None when cancelled."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle(f"Export {what}")
    box.setText(f"Export the {trained.label}?")
    box.setInformativeText(
        "That run trained the model as it is drawn now. Choose Initial weights for the "
        "untrained model."
    )
    trained_button = box.addButton("Trained weights", QMessageBox.ButtonRole.AcceptRole)
    initial_button = box.addButton("Initial weights", QMessageBox.ButtonRole.ActionRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(trained_button)
    box.exec()
    clicked = box.clickedButton()
    if clicked is trained_button:
        return "trained"
    if clicked is initial_button:
        return "initial"
    return None

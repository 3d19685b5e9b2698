"""Weights that travel with a project: ``metadata["weights"]`` names a safetensors file beside
the project file (a path relative to it), loaded whenever the project is compiled to train,
export or evaluate. Model import writes them; see docs/file-format.md."""

from __future__ import annotations

from pathlib import Path

import torch

from dlstudio.compile.errors import ExportError
from dlstudio.compile.weights import WeightsReport, load_weights
from dlstudio.core.graph import LayerGraph

WEIGHTS_KEY = "weights"


def attached_weights_path(graph: LayerGraph, project_path: str | Path | None) -> Path | None:
    """The weights file the project names, resolved beside ``project_path``; None if none."""
    name = graph.metadata.get(WEIGHTS_KEY)
    if not isinstance(name, str) or not name:
        return None
    path = Path(name)
    if not path.is_absolute() and project_path is not None:
        path = Path(project_path).resolve().parent / path
    return path


def load_attached_weights(
    module: torch.nn.Module, graph: LayerGraph, project_path: str | Path | None
) -> WeightsReport | None:
    """Load the project's own weights into ``module``; None when it names none.

    A named file that is missing is an :class:`ExportError` saying which file and what to do."""
    path = attached_weights_path(graph, project_path)
    if path is None:
        return None
    if not path.exists():
        raise ExportError(
            f"the project's weights file {path} is missing; put it back beside the project, "
            f'or remove "{WEIGHTS_KEY}" from the project\'s metadata to start from random weights'
        )
    return load_weights(module, path)

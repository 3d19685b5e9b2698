"""The whole experiment leaves DL Studio: a standalone training script and a notebook.

``build_experiment(graph, project_path)`` gathers the model's generated code, the data set's
loader and the training settings into sections; ``write_script`` and ``write_notebook`` write
them as ``train.py`` or as a Jupyter notebook holding the same code.
"""

from __future__ import annotations

from pathlib import Path

from dlstudio.core.serialization import write_text_atomic
from dlstudio.train.experiment.notebook import build_notebook, explain_model, write_notebook
from dlstudio.train.experiment.script import Experiment, Section, build_experiment

__all__ = [
    "Experiment",
    "Section",
    "build_experiment",
    "build_notebook",
    "explain_model",
    "write_notebook",
    "write_script",
]


def write_script(experiment: Experiment, path: str | Path) -> Path:
    """Write ``experiment.script`` atomically (no half-written file on a failure)."""
    path = Path(path)
    write_text_atomic(path, experiment.script)
    return path

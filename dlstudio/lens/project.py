"""A project opened for looking inside: its graph, compiled module, weights and data set."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlstudio.compile.build import CompiledModel
from dlstudio.compile.errors import WeightsFileError
from dlstudio.compile.weights import load_weights
from dlstudio.core.errors import DLStudioError
from dlstudio.core.graph import LayerGraph
from dlstudio.layers.validation import load_checked
from dlstudio.train.cli_train import compile_project
from dlstudio.train.reproducible import seeded_build
from dlstudio.train.session import resolve_project_run

DEFAULT_SEED = 0


@dataclass
class OpenProject:
    """Everything the lens needs of a project file."""

    path: Path
    graph: LayerGraph
    compiled: CompiledModel
    dataset: Any | None
    """The project's data set (``train.data.Dataset``), or None when it names none."""
    weights: str
    """Which weights the module holds: a file, or ``random (seed 0)``."""
    data_problem: str = ""
    """Why the data set could not be loaded, when it could not."""

    @property
    def class_names(self) -> list[str] | None:
        """The data set's class names, for labelling predictions."""
        return getattr(self.dataset, "class_names", None) if self.dataset is not None else None


def open_project(
    path: str | Path, weights: str | Path | None = None, with_data: bool = True
) -> OpenProject:
    """Load, compile (seeded by the project's training seed, so the random weights before
    training are the ones a run starts from) and, with ``weights``, load trained weights; every
    tensor must fit. Errors are :class:`~dlstudio.core.errors.DLStudioError`."""
    graph = load_checked(str(path))
    training = graph.metadata.get("training")
    seed = DEFAULT_SEED
    if isinstance(training, dict) and isinstance(training.get("seed"), int):
        seed = training["seed"]
    compiled = seeded_build(lambda: compile_project(graph, path), seed)
    described = f"random (seed {seed})"
    if weights is not None:
        load_weights(compiled.module, weights, fit="all")  # every tensor must fit
        described = str(weights)
    dataset, problem = None, "the project names no data set"
    if with_data and isinstance(training, dict) and training.get("dataset"):
        try:
            _config, dataset = resolve_project_run(graph.metadata, Path(path).resolve().parent)
            problem = ""
        except DLStudioError as exc:
            problem = str(exc)
    return OpenProject(Path(path), graph, compiled, dataset, described, problem)


MODEL_FILE = "model.json"
WEIGHTS_FILE = "weights.safetensors"


def open_run(run_dir: str | Path, project: str | Path | None = None) -> OpenProject:
    """A trained run: its graph snapshot (``model.json``, or ``project``) with its weights."""
    folder = Path(run_dir)
    if not folder.is_dir():
        raise WeightsFileError(f"{folder} is not a run folder")
    model = Path(project) if project else folder / MODEL_FILE
    if not model.exists():
        raise WeightsFileError(
            f"{folder} has no {MODEL_FILE}; name the project it trained with --project FILE"
        )
    weights = folder / WEIGHTS_FILE
    if not weights.exists():
        raise WeightsFileError(
            f"{folder} has no {WEIGHTS_FILE}: the run did not finish; train it to the end first"
        )
    return open_project(model, weights)

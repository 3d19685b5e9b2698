"""Background jobs on a finished run (no Qt): evaluate it on the test split, export it.

Each runs on a pool thread through :func:`dlstudio.gui.workers.run_in_thread`; the trained
weights come from memory when the run happened in this session, else from the run folder.
"""

from __future__ import annotations

from pathlib import Path

import torch

from dlstudio.compile import compile_graph, export_onnx, export_python, load_weights, save_weights
from dlstudio.gui.training.evaluation import Predictions, choose_split, evaluate_model
from dlstudio.gui.training.history import RunRecord
from dlstudio.train import TrainConfig, TrainError, load_dataset


def trained_model(record: RunRecord, module: torch.nn.Module | None = None):
    """The run's graph compiled, with its trained weights loaded (from ``module`` if given)."""
    graph = record.load_graph()
    compiled = compile_graph(graph)
    if module is not None:
        compiled.module.load_state_dict(module.state_dict())
    elif record.weights_path.exists():
        load_weights(compiled.module, record.weights_path, fit="all")
    else:
        raise TrainError(f"run {record.run_id} has no trained weights (it ended before any step)")
    compiled.module.eval()
    return graph, compiled


def evaluate_run(record: RunRecord, module: torch.nn.Module | None = None) -> Predictions:
    """Metrics, confusion matrix and samples of the run's model on the test split."""
    _graph, compiled = trained_model(record, module)
    config = TrainConfig.from_metadata(record.settings)
    assert config.dataset is not None, "a run's record names the data set it trained on"
    dataset = load_dataset(config.dataset, config.dataset_options)
    name, split = choose_split(dataset, config, test=True)
    return evaluate_model(compiled.module, split, dataset, config, name)


def export_run(record: RunRecord, path: Path, module: torch.nn.Module | None = None) -> str:
    """Write the trained model: ``.onnx`` (checked with onnxruntime) or ``.py`` plus weights.

    Returns a sentence saying what was written.
    """
    graph, compiled = trained_model(record, module)
    path = Path(path)
    if path.suffix.lower() == ".onnx":
        report = export_onnx(compiled, path)
        if not report.ok:
            raise TrainError(report.message)
        return f"Wrote {path} with the trained weights.\n\n{report.message}"
    code_path = path.with_suffix(".py")
    weights = code_path.with_suffix(".safetensors")
    export_python(graph, code_path, compiled.analysis)
    save_weights(compiled.module, weights)
    class_name = compiled.code.class_name if compiled.code else "Model"
    return (
        f"Wrote {code_path.name} and {weights.name} in {code_path.parent}.\n\n"
        f"Load them with:\n  model = {class_name}()\n"
        f"  model.load_state_dict(safetensors.torch.load_file('{weights.name}'))"
    )

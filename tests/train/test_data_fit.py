"""Data-set/Input mismatches come with fixes that work: applied as the editor applies them, the
project then passes the checks ``train`` makes before it starts (``training_diagnostics``)."""

from __future__ import annotations

import graph_builders

from dlstudio.analysis import analyze
from dlstudio.analysis.fixes import command_for_fix
from dlstudio.core import LayerGraph
from dlstudio.train.data_fit import data_diagnostics
from dlstudio.train.preflight import training_diagnostics
from dlstudio.train.session import resolve_run


def _diagnose(graph: LayerGraph):
    config, dataset = resolve_run(graph.metadata["training"])
    return data_diagnostics(graph, analyze(graph), config, dataset)


def _apply(graph: LayerGraph, diagnostic, index: int = 0) -> None:
    command_for_fix(graph, diagnostic.node_id, diagnostic.fixes[index]).do(graph)


def test_lenet_on_8x8_digits_is_fixed_by_resizing():
    graph = graph_builders.lenet5()
    graph.metadata["training"] = {"dataset": "digits"}
    (problem,) = _diagnose(graph)
    assert problem.is_error and "digits gives (N, 1, 8, 8)" in problem.message
    labels = [f.label for f in problem.fixes]
    assert labels == ["Resize the images to 28x28", "Set the Input shape to (1, 8, 8)"]
    assert training_diagnostics(graph, analyze(graph))  # train would refuse it
    _apply(graph, problem)
    assert graph.metadata["training"]["dataset_options"] == {"resize": 28}
    assert training_diagnostics(graph, analyze(graph)) == []


def test_mlp_on_digits_is_fixed_by_flattening_and_resizing():
    graph = graph_builders.mlp()
    graph.metadata["training"] = {"dataset": "digits", "dataset_options": {"resize": 12}}
    (problem,) = _diagnose(graph)
    assert problem.fixes[0].label == "Flatten them and resize the images to 28x28"
    _apply(graph, problem)
    assert graph.metadata["training"]["dataset_options"] == {"resize": 28, "flatten": True}
    assert training_diagnostics(graph, analyze(graph)) == []


def test_the_input_shape_fix_sets_the_data_sets_shape():
    graph = graph_builders.iris_mlp()
    graph.metadata["training"] = {"dataset": "digits", "dataset_options": {"flatten": True}}
    problems = _diagnose(graph)
    shape_problem = next(p for p in problems if "gives" in p.message)
    assert [f.label for f in shape_problem.fixes] == ["Set the Input shape to (64,)"]
    _apply(graph, shape_problem)
    # Now the class count is the only problem: 3 scores for digits' 10 classes.
    (classes,) = _diagnose(graph)
    assert classes.fixes[0].label == "Set fc2 to 10 outputs"
    _apply(graph, classes)
    assert training_diagnostics(graph, analyze(graph)) == []


def test_a_wrong_loss_is_fixed_by_setting_the_loss():
    graph = graph_builders.iris_mlp()
    graph.metadata["training"] = {"dataset": "iris", "loss": "mse"}
    (problem,) = _diagnose(graph)
    assert problem.fixes[0].label == "Set the loss to cross_entropy"
    _apply(graph, problem)
    assert training_diagnostics(graph, analyze(graph)) == []

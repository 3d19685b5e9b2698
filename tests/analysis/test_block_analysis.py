"""Shapes, counts and diagnostics flow through blocks; repeated stages are analysed once."""

from __future__ import annotations

from block_models import residual_model

from dlstudio.analysis import analyze
from dlstudio.core import UndoStack
from dlstudio.core.block_commands import UngroupBlock


def _by_name(graph, result, name):
    return result.nodes[graph.node_by_name(name).id]


def test_instances_carry_shapes_counts_and_children():
    graph = residual_model(repeat=3, channels=8)
    result = analyze(graph)
    assert not result.diagnostics
    stage = _by_name(graph, result, "stage1")
    assert stage.definition == "Residual"
    assert len(stage.children) == 3
    assert len({id(c) for c in stage.children}) == 1  # same params and specs: analysed once
    assert str(stage.output) == "(N, 8, 12, 12)"
    per_copy = 2 * (8 * 8 * 9 + 8) + 2 * (2 * 8)
    assert stage.param_count == 3 * per_copy
    proj = _by_name(graph, result, "proj")
    assert str(proj.output) == "(N, 16, 6, 6)"  # channels * 2 and stride from the instance


def test_totals_equal_the_ungrouped_model():
    graph = residual_model(repeat=2)
    blocked = analyze(graph)
    stack = UndoStack(graph)
    for name in ("stage1", "proj"):
        stack.push(UngroupBlock(graph.node_by_name(name).id))
    flat = analyze(graph)
    assert not flat.diagnostics
    assert flat.total_params == blocked.total_params
    assert flat.total_macs == blocked.total_macs
    assert flat.activation_bytes == blocked.activation_bytes


def test_frozen_instance_freezes_everything_in_it():
    graph = residual_model()
    graph.update_node(graph.node_by_name("stage1").id, trainable=False)
    result = analyze(graph)
    stage = _by_name(graph, result, "stage1")
    assert stage.trainable_params == 0
    assert result.frozen_params == stage.param_count


def test_problems_inside_carry_the_path_and_location():
    graph = residual_model(repeat=2)
    inner = graph.blocks["Residual"].graph
    conv2 = inner.node_by_name("conv2")
    inner.update_node(conv2.id, params={**conv2.params, "out_channels": 5})
    result = analyze(graph)
    errors = result.errors
    assert len(errors) == 1  # both copies share one analysis: reported once
    error = errors[0]
    stage = graph.node_by_name("stage1")
    assert error.node_id == stage.id
    assert error.path == "stage1.0.bn2" or error.path == "stage1.0.add"
    assert error.message.startswith(error.path + " (")
    assert error.location[0] == stage.id and error.location[-1] in inner.nodes
    assert error.to_json({stage.id: "stage1"})["path"] == error.path


def test_expressions_outside_blocks_are_an_error():
    graph = residual_model()
    stem = graph.node_by_name("stem")
    graph.update_node(stem.id, params={**stem.params, "out_channels": "=channels"})
    (error,) = analyze(graph).errors
    assert "expressions work only inside blocks" in error.message


def test_block_parameter_out_of_range_is_reported_on_the_instance():
    graph = residual_model()
    stage = graph.node_by_name("stage1")
    graph.update_node(stage.id, params={**stage.params, "channels": 0})
    (error,) = analyze(graph).errors
    assert error.node_id == stage.id and "channels must be at least 1" in error.message

"""Parsing ``--space`` entries against a project, and writing chosen values back (no torch run)."""

from __future__ import annotations

import pytest
from graph_builders import iris_mlp

from dlstudio.core import UndoStack, graph_to_dict
from dlstudio.train.tune import SpaceError, applied, apply_command, parse_space, resolve_node


@pytest.fixture
def graph():
    graph = iris_mlp()
    graph.metadata["training"] = {"dataset": "iris", "epochs": 3, "lr": 0.01}
    return graph


def test_training_settings_and_node_parameters_parse_to_typed_dimensions(graph) -> None:
    lr, batch, units, opt = parse_space(
        ["lr=1e-4:1e-1:log", "batch_size=16|32|64", "fc1.units=8:128", "optimizer=adam|sgd"],
        graph,
    )
    assert (lr.kind, lr.low, lr.high, lr.log, lr.node_path) == ("float", 1e-4, 1e-1, True, None)
    assert (batch.kind, batch.choices) == ("categorical", (16, 32, 64))
    assert (units.kind, units.low, units.high, units.node_path, units.param) == (
        "int",
        8,
        128,
        "fc1",
        "units",
    )
    assert units.target == "fc1.units" and units.describe() == "8:128"
    assert opt.choices == ("adam", "sgd")
    # A whole number in a float choice is a float (Optuna keeps the type it is given).
    (momentum,) = parse_space(["momentum=0|0.9"], graph)
    assert momentum.choices == (0.0, 0.9) and isinstance(momentum.choices[0], float)


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("lr", "write TARGET=DOMAIN"),
        ("lr=", "write TARGET=DOMAIN"),
        ("lr=a:b", "must be numbers"),
        ("lr=0.1:0.01", "the range is empty"),
        ("lr=0:0.1:log", "a log range needs LOW above 0"),
        ("lr=1:2:3", "LOW:HIGH or LOW:HIGH:log"),
        ("lr=0:1", "lr must be above 0"),
        ("seed=1:9", "'seed' is not a training setting that can be searched"),
        ("batch_size=0|16", "batch_size must be a whole number of at least 1, got 0"),
        ("batch_size=8.5:64", "batch_size takes whole numbers"),
        ("optimizer=1:3", "optimizer is not a number; search it as a choice, e.g. sgd|adam|adamw"),
        ("optimizer=adam|rmsprop", "optimizer is 'rmsprop'"),
        ("fc9.units=8:64", "the model has no layer named 'fc9' (its layers: "),
        (
            "fc1.width=8:64",
            "fc1 (Dense) has no parameter 'width' (its parameters: units, bias, tie_weight, any_rank)",
        ),
        ("fc1.units=0:64", "fc1: units must be at least 1, got 0"),
        ("fc1.units=8:64.5", "units takes whole numbers"),
        ("fc1.bias=0:1", "bias is not a number; search it as a choice, e.g. true|false"),
        ("fc1.bias=true|maybe", "bias must be true or false, got 'maybe'"),
        ("fc1.units=8||16", "a choice is empty"),
        ("fc1.units=8|8", "a choice is listed twice"),
        ("fc1.conv1.out_channels=8:16", "fc1 has no inner layers, so fc1.conv1 names nothing"),
    ],
)
def test_bad_entries_name_the_argument_and_the_problem(graph, entry: str, expected: str) -> None:
    with pytest.raises(SpaceError) as info:
        parse_space([entry], graph)
    message = str(info.value)
    assert message.startswith(f"--space {entry!r}: "), message
    assert expected in message, message


def test_the_same_target_twice_is_refused(graph) -> None:
    with pytest.raises(SpaceError, match=r"fc1\.units is searched twice"):
        parse_space(["fc1.units=8:16", "fc1.units=32|64"], graph)


def test_node_paths_resolve_through_one_function(graph) -> None:
    found = resolve_node(graph, "fc2")
    assert found.node.name == "fc2" and found.graph is graph
    with pytest.raises(KeyError):
        resolve_node(graph, "nope")


def test_apply_is_one_undoable_step_and_trials_train_a_copy(graph) -> None:
    dims = parse_space(["lr=1e-4:1e-1:log", "fc1.units=8:128", "batch_size=16|32"], graph)
    before = graph_to_dict(graph)
    values = {"lr": 0.02, "fc1.units": 40, "batch_size": 32}
    copy = applied(graph, dims, values)
    assert graph_to_dict(graph) == before  # the original is untouched
    assert copy.node_by_name("fc1").params["units"] == 40
    assert copy.metadata["training"] == {
        "dataset": "iris",
        "epochs": 3,
        "lr": 0.02,
        "batch_size": 32,
    }

    stack = UndoStack(graph)
    stack.push(apply_command(graph, dims, values))
    assert graph_to_dict(graph) == graph_to_dict(copy)
    assert "lr=0.02" in stack.undo_text and stack.undo()
    assert graph_to_dict(graph) == before


def test_block_paths_reach_inner_layers_and_instance_parameters():
    from block_models import residual_model

    from dlstudio.core import UndoStack, dumps_project
    from dlstudio.train.tune import parse_space
    from dlstudio.train.tune.space import apply_command

    graph = residual_model(repeat=2)
    dims = parse_space(
        ["stage1.1.conv2.kernel_size=1|3", "stage1.channels=4:16", "proj.stride=1|2"], graph, {}
    )
    assert [d.node_path for d in dims] == ["stage1.1.conv2", "stage1", "proj"]
    before = dumps_project(graph)
    stack = UndoStack(graph)
    values = {"stage1.1.conv2.kernel_size": 1, "stage1.channels": 12, "proj.stride": 1}
    stack.push(apply_command(graph, dims, values))
    inner = graph.blocks["Residual"].graph.node_by_name("conv2")
    assert inner.params["kernel_size"] == 1
    assert graph.node_by_name("stage1").params["channels"] == 12
    stack.undo()
    assert dumps_project(graph) == before
    with pytest.raises(SpaceError, match="no layer named 'conv9'"):
        parse_space(["stage1.conv9.kernel_size=1|3"], graph, {})
    with pytest.raises(SpaceError, match="must be at least 1"):
        parse_space(["stage1.channels=0:4"], graph, {})

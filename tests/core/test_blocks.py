"""Blocks in the document: expressions, the version-2 file, load errors and undoable edits."""

from __future__ import annotations

import json

import pytest
from block_models import residual_model

from dlstudio.core import ProjectFileError, UndoStack, dumps_project, loads_project
from dlstudio.core.block_commands import (
    GroupIntoBlock,
    InDefinition,
    RenameDefinition,
    UngroupBlock,
)
from dlstudio.core.block_insert import insert_project_as_block
from dlstudio.core.commands import RemoveNode, SetParam
from dlstudio.core.errors import GraphEditError
from dlstudio.core.expressions import ExpressionError, evaluate, names, parse
from dlstudio.layers.validation import check_node


# ------------------------------------------------------------------ expressions
@pytest.mark.parametrize(
    ("text", "env", "value", "source"),
    [
        ("=channels * 4", {"channels": 16}, 64, "channels * 4"),
        ("=(a + b) // 2", {"a": 3, "b": 6}, 4, "(a + b) // 2"),
        ("=a - (b - c)", {"a": 10, "b": 4, "c": 1}, 7, "a - (b - c)"),
        ("=-a * 2", {"a": 3}, -6, "-a * 2"),
        ("=stride", {"stride": 2}, 2, "stride"),
        ("=flag", {"flag": True}, True, "flag"),
    ],
)
def test_expressions_parse_evaluate_and_print(text, env, value, source):
    tree = parse(text)
    assert evaluate(tree, env) == value
    assert tree.source() == source
    assert parse(tree.source()) == tree


@pytest.mark.parametrize(
    "text",
    ["=", "=a +", "=__import__('os')", "=a ** 2", "=a / 2", "=(a", "=a b", "=1.5", "=" + "(" * 40],
)
def test_bad_expressions_are_refused_not_run(text):
    with pytest.raises(ExpressionError):
        evaluate(parse(text), {"a": 1, "b": 2})


def test_expression_errors_name_the_problem():
    with pytest.raises(ExpressionError, match="no block parameter 'width'"):
        evaluate(parse("=width * 2"), {"channels": 3})
    with pytest.raises(ExpressionError, match="divides by zero"):
        evaluate(parse("=a // 0"), {"a": 3})
    assert names(parse("=(a + b) * a")) == {"a", "b"}


# ------------------------------------------------------------------ the file
def test_block_project_round_trips_byte_for_byte():
    graph = residual_model()
    text = dumps_project(graph)
    data = json.loads(text)
    assert data["format_version"] == 2
    assert [b["name"] for b in data["blocks"]] == ["Residual", "Projection"]
    again = loads_project(text, node_checker=check_node)
    assert dumps_project(again) == text
    assert again.blocks["Residual"].params[0].name == "channels"


def test_version_1_files_load_unchanged_and_save_as_version_2(tmp_path):
    from repo_paths import TEMPLATES_DIR

    original = json.loads((TEMPLATES_DIR / "lenet5.json").read_text())
    original["format_version"] = 1
    original.pop("blocks", None)
    graph = loads_project(json.dumps(original), node_checker=check_node)
    saved = json.loads(dumps_project(graph))
    assert saved["format_version"] == 2
    assert saved["nodes"] == original["nodes"] and saved["edges"] == original["edges"]


def _mutated(change) -> str:
    data = json.loads(dumps_project(residual_model()))
    change(data)
    return json.dumps(data)


@pytest.mark.parametrize(
    ("change", "where", "what"),
    [
        (
            lambda d: d["nodes"][2]["params"].update(block="Missing"),
            "nodes[2].params",
            "no block definition 'Missing'",
        ),
        (
            lambda d: d["blocks"][0]["nodes"][1]["params"].update(out_channels="=width"),
            "blocks[0].nodes[1].params.out_channels",
            "does not have",
        ),
        (
            lambda d: d["edges"][1]["to"].update(port="skip"),
            "edges[1].to.port",
            "no input port 'skip'",
        ),
        (
            lambda d: d["nodes"][2]["params"].update(depth=3),
            "nodes[2].params",
            "has no parameter 'depth'",
        ),
        (lambda d: d["nodes"][2]["params"].update(repeat=0), "nodes[2].params", "repeat must be"),
        (lambda d: d["blocks"][0].update(name="2bad"), "blocks[0].name", "not a valid block"),
        (
            lambda d: d["blocks"][0]["params"][0].update(kind="tensor"),
            "blocks[0].params[0].kind",
            "kind must be",
        ),
        (lambda d: d.update(format_version=1), "blocks", "format_version 2"),
    ],
)
def test_bad_block_files_raise_the_project_error_with_the_place(change, where, what):
    with pytest.raises(ProjectFileError) as info:
        loads_project(_mutated(change), source="model.json", node_checker=check_node)
    assert info.value.location == where
    assert what in info.value.problem
    assert "model.json" in str(info.value)


def test_recursive_definitions_are_refused():
    def recurse(data):
        inner = data["blocks"][0]
        inner["nodes"].append(
            {"id": "r", "type": "block", "name": "again", "params": {"block": "Projection"}}
        )
        data["blocks"][1]["nodes"].append(
            {"id": "r", "type": "block", "name": "back", "params": {"block": "Residual"}}
        )

    with pytest.raises(ProjectFileError, match=r"contains itself \(Residual -> Projection"):
        loads_project(_mutated(recurse), node_checker=check_node)


# ------------------------------------------------------------------ commands
def _ids(graph, *names):
    return [graph.node_by_name(n).id for n in names]


def test_group_then_undo_restores_the_document_exactly():
    graph = residual_model()
    stack = UndoStack(graph)
    before = dumps_project(graph)
    stack.push(UngroupBlock(graph.node_by_name("stage1").id))
    flat = dumps_project(graph)
    assert graph.node_by_name("conv1_1") is not None  # the second copy of the repeat
    assert not any(n.params.get("block") == "Residual" for n in graph)
    spec = {
        graph.edges_into(graph.node_by_name("conv1_0").id)[0].src: ((8, 12, 12), "float32"),
    }
    copy0 = [f"{n}_0" for n in ("conv1", "bn1", "relu1", "conv2", "bn2", "add", "relu2")]
    stack.push(GroupIntoBlock(_ids(graph, *copy0), "Branch", spec))
    assert "Branch" in graph.blocks
    branch = graph.blocks["Branch"]
    assert [n.name for n in branch.input_nodes()] == ["x"]
    assert len(branch.graph) == 9
    stack.undo()
    assert dumps_project(graph) == flat
    stack.undo_all()
    assert dumps_project(graph) == before
    stack.redo_all()
    assert "Branch" in graph.blocks


def test_edit_inside_a_definition_is_one_undo_step_and_guards_ports():
    graph = residual_model()
    stack = UndoStack(graph)
    before = dumps_project(graph)
    conv = graph.blocks["Residual"].graph.node_by_name("conv2")
    stack.push(InDefinition("Residual", SetParam(conv.id, "kernel_size", 1)))
    assert graph.blocks["Residual"].graph.node(conv.id).params["kernel_size"] == 1
    stack.undo()
    assert dumps_project(graph) == before
    input_id = graph.blocks["Residual"].input_nodes()[0].id
    with pytest.raises(GraphEditError):  # the instance's input port is wired
        stack.push(InDefinition("Residual", RemoveNode(input_id)))
    assert dumps_project(graph) == before
    with pytest.raises(GraphEditError, match="does not have"):
        stack.push(InDefinition("Residual", SetParam(conv.id, "out_channels", "=nope")))
    assert dumps_project(graph) == before


def test_rename_definition_updates_every_instance():
    graph = residual_model()
    stack = UndoStack(graph)
    before = dumps_project(graph)
    stack.push(RenameDefinition("Residual", "ResBlock"))
    assert "ResBlock" in graph.blocks and "Residual" not in graph.blocks
    assert graph.node_by_name("stage1").params["block"] == "ResBlock"
    with pytest.raises(GraphEditError):
        stack.push(RenameDefinition("ResBlock", "Projection"))
    stack.undo()
    assert dumps_project(graph) == before


def test_insert_project_as_block_brings_its_definitions():
    host = residual_model()
    guest = residual_model(repeat=1)
    stack = UndoStack(host)
    stack.push(insert_project_as_block(host, guest, "Backbone", weights="w.safetensors"))
    assert set(host.blocks) == {"Residual", "Projection", "Backbone"}  # same ones: shared
    inner = host.blocks["Backbone"].graph
    assert inner.node_by_name("stage1").params["block"] == "Residual"
    node = host.node_by_name("backbone")
    assert node.params == {"block": "Backbone", "weights": "w.safetensors"}
    text = dumps_project(host)
    assert dumps_project(loads_project(text, node_checker=check_node)) == text
    stack.undo()
    assert "Backbone" not in host.blocks


def test_inserting_a_project_with_a_different_same_named_block_renames_it():
    host = residual_model()
    guest = residual_model()
    conv = guest.blocks["Residual"].graph.node_by_name("conv2")
    guest.blocks["Residual"].graph.update_node(conv.id, params={**conv.params, "kernel_size": 1})
    UndoStack(host).push(insert_project_as_block(host, guest, "Backbone"))
    assert set(host.blocks) == {"Residual", "Projection", "Residual_2", "Backbone"}
    assert host.blocks["Backbone"].graph.node_by_name("stage1").params["block"] == "Residual_2"


def test_flatten_names_layers_by_module_path_and_keeps_the_model():
    from dlstudio.analysis import analyze
    from dlstudio.core.block_commands import flatten

    graph = residual_model(repeat=2)
    flat = flatten(graph)
    names = {n.name for n in flat}
    assert {"stage1.0.conv1", "stage1.1.bn2", "proj.0", "proj.1"} <= names
    assert not flat.blocks and all(n.type_id != "block" for n in flat)
    assert flat.node_by_name("proj.0").params["out_channels"] == 16  # =channels * 2 evaluated
    assert analyze(flat).total_params == analyze(graph).total_params
    assert dumps_project(graph) == dumps_project(residual_model(repeat=2))  # untouched

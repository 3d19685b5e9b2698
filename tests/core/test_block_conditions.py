"""Optional layers inside blocks (``when``): file, checks, analysis, ungroup, code and module."""

from __future__ import annotations

import json

import pytest
import torch

from dlstudio.analysis import analyze
from dlstudio.compile import compile_graph
from dlstudio.compile.codegen import generate_source
from dlstudio.core import ProjectFileError, dumps_project, loads_project
from dlstudio.core.block_commands import UngroupBlock, flatten
from dlstudio.core.blocks import BlockParam
from dlstudio.layers.builder import GraphBuilder
from dlstudio.layers.validation import check_node


def gated_model(second_on: bool = True) -> GraphBuilder:
    """Two instances of a block whose projection (weights) and ReLU (none) are optional."""
    b = GraphBuilder("gated")
    d = b.define(
        "Gated",
        (
            BlockParam("project", "bool", False, "Add the Dense projection."),
            BlockParam("plain", "bool", True, "Leave out the ReLU."),
        ),
        "A block with optional layers.",
    )
    x = d.input("x", (8,))
    y = d.layer("dense", "proj", x, units=8, when="project")
    y = d.layer("relu", "act", y, when="not plain")
    d.output(y, "out")
    d.end_block()
    x = b.input("x", (8,))
    y = b.block("Gated", "first", x)
    y = b.block("Gated", "second", y, project=second_on, plain=not second_on)
    b.output(b.layer("dense", "head", y, units=3))
    return b


def test_conditions_round_trip_and_old_files_have_none() -> None:
    graph = gated_model().graph
    text = dumps_project(graph)
    again = loads_project(text, node_checker=check_node)
    inner = again.blocks["Gated"].graph
    assert inner.node_by_name("proj").when == "project"
    assert inner.node_by_name("act").when == "not plain"
    assert dumps_project(again) == text
    plain = GraphBuilder("plain")
    plain.output(plain.layer("relu", "act", plain.input("x", (8,))))
    assert '"when"' not in dumps_project(plain.graph)


@pytest.mark.parametrize(
    ("where", "when", "message"),
    [
        ("top", "project", "works only inside a block definition"),
        ("inner", "nothing", "must name a true/false parameter of block Gated"),
        ("inner", "not", "must name a true/false parameter"),
    ],
)
def test_bad_conditions_are_refused_with_the_place(where: str, when: str, message: str) -> None:
    data = json.loads(dumps_project(gated_model().graph))
    nodes = data["nodes"] if where == "top" else data["blocks"][0]["nodes"]
    nodes[1]["when"] = when
    with pytest.raises(ProjectFileError) as info:
        loads_project(json.dumps(data), node_checker=check_node)
    assert message in str(info.value)
    assert "nodes[1].when" in str(info.value)


def test_analysis_leaves_out_the_layers_whose_condition_is_false() -> None:
    graph = gated_model().graph
    result = analyze(graph)
    assert result.diagnostics == []
    first = result.nodes[graph.node_by_name("first").id]
    second = result.nodes[graph.node_by_name("second").id]
    assert first.param_count == 0  # no projection, no ReLU: the input passes through
    assert second.param_count == 8 * 8 + 8
    inner = graph.blocks["Gated"].graph
    assert not first.children[0].nodes[inner.node_by_name("proj").id].enabled
    assert second.children[0].nodes[inner.node_by_name("proj").id].enabled


def test_a_condition_on_a_layer_with_two_inputs_is_an_error() -> None:
    b = GraphBuilder("two")
    d = b.define("Sum", (BlockParam("on", "bool", True, "Add."),), "A block.")
    x = d.input("x", (4,))
    d.output(d.layer("add", "add", x, x, when="on"), "out")
    d.end_block()
    b.output(b.block("Sum", "s", b.input("x", (4,))))
    messages = [d.message for d in analyze(b.graph).diagnostics]
    assert any("s.add" in m and "exactly one input" in m for m in messages), messages


def test_ungroup_drops_the_left_out_layers_and_wires_through() -> None:
    graph = gated_model().graph
    UngroupBlock(graph.node_by_name("first").id).do(graph)
    assert graph.node_by_name("proj") is None and graph.node_by_name("act") is None
    flat = flatten(gated_model().graph)
    names = sorted(n.name for n in flat)
    assert "second.proj" in names and "second.act" in names
    assert not any(n.startswith("first.") for n in names)
    assert all(n.when is None for n in flat)
    assert analyze(flat).total_params == analyze(gated_model().graph).total_params


def test_one_class_serves_both_uses_and_the_module_is_right() -> None:
    graph = gated_model().graph
    source = generate_source(graph)
    assert source.count("class Gated(") == 1
    assert "self.proj = nn.Linear(8, 8) if project else None" in source
    assert "self.act_on = not plain" in source
    assert "self.proj(x) if self.proj is not None else x" in source
    assert "F.relu(x) if self.act_on else x" in source
    module = compile_graph(graph).module.eval()
    assert module.first.proj is None and isinstance(module.second.proj, torch.nn.Linear)
    x = torch.randn(5, 8)
    with torch.no_grad():
        expected = module.head(torch.relu(module.second.proj(x)))
        torch.testing.assert_close(module(x), expected)


def test_a_condition_never_on_still_gives_the_attribute() -> None:
    module = compile_graph(gated_model(second_on=False).graph).module
    assert module.first.proj is None and module.second.proj is None
    assert sum(p.numel() for p in module.parameters()) == 8 * 3 + 3

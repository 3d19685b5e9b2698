"""GraphBuilder: layers, wiring, block definitions and instances, copies from a library."""

from __future__ import annotations

import pytest

from dlstudio.analysis import analyze
from dlstudio.core.blocks import BlockParam
from dlstudio.layers import UnknownLayerError
from dlstudio.layers.builder import GraphBuilder


def _block_model() -> GraphBuilder:
    b = GraphBuilder("net")
    d = b.define("Wide", (BlockParam("units", "int", 8, "Width.", minimum=1),), "A  wide\n block.")
    x = d.input("x", (4,))
    d.output(d.layer("dense", "fc", x, units="=units * 2"), "out")
    assert d.end_block() == "Wide"
    x = b.input("x", (4,))
    y = b.block("Wide", "wide", x, units=3)
    b.output(b.layer("dense", "head", y, units=2))
    return b


def test_layers_are_wired_in_order() -> None:
    b = GraphBuilder("mlp")
    x = b.input("x", (4,))
    y = b.layer("dense", "fc1", x, units=3)
    z = b.layer("add", "sum", y, y)
    b.output(z)
    graph = b.graph
    assert [n.name for n in graph] == ["x", "fc1", "sum", "output"]
    assert graph.node_by_name("sum").params["inputs"] == 2
    assert {e.dst.port for e in graph.edges_into(graph.node_by_name("sum").id)} == {"in1", "in2"}
    assert analyze(graph).diagnostics == []


def test_define_block_and_instance() -> None:
    b = _block_model()
    definition = b.graph.blocks["Wide"]
    assert definition.description == "A wide block."
    assert definition.graph.blocks == {}, "definitions live in the document only"
    result = analyze(b.graph)
    assert result.diagnostics == []
    assert result.total_params == (4 * 6 + 6) + (6 * 2 + 2)
    assert all(n.position == (0.0, 0.0) for n in b.graph), "no layout in the package builder"


def test_mistakes_are_named() -> None:
    b = _block_model()
    with pytest.raises(ValueError, match="two nodes are called 'head'"):
        b.layer("relu", "head", b.input("y", (2,)))
    with pytest.raises(ValueError, match=r"no block definition 'Narrow'.*Wide"):
        b.block("Narrow", "n")
    with pytest.raises(UnknownLayerError):
        b.layer("no_such_layer", "z")
    with pytest.raises(ValueError, match="define"):
        b.end_block()


def test_use_copies_definitions_with_what_they_use() -> None:
    source = _block_model()
    outer = source.define("Outer", ())
    x = outer.input("x", (4,))
    outer.output(outer.block("Wide", "inner", x), "out")
    outer.end_block()
    b = GraphBuilder("user")
    b.use(source.graph.blocks, "Outer")
    assert list(b.graph.blocks) == ["Wide", "Outer"]
    assert b.graph.blocks["Wide"] is not source.graph.blocks["Wide"]
    b.use(source.graph.blocks, "Wide")  # already there: kept, not replaced
    assert list(b.graph.blocks) == ["Wide", "Outer"]


def test_define_returns_the_callers_class() -> None:
    class Sub(GraphBuilder):
        pass

    assert type(Sub("m").define("B")) is Sub

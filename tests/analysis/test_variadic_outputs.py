"""A Split grows one output port per piece; a wire from a port it does not have is an error."""

from __future__ import annotations

from graph_builders import ChainBuilder

from dlstudio.analysis import analyze
from dlstudio.layers import get_layer_type


def _split_graph(pieces: int, port: str):
    b = ChainBuilder("split")
    x = b.add("input", "x", shape=(12,))
    split = b.add("split", "qkv", outputs=pieces)
    out = b.add("output", "y")
    b.wire(x, split)
    b.wire(split, out, src_port=port)
    return b.graph


def test_split_ports_follow_the_number_of_pieces() -> None:
    split = get_layer_type("split")
    assert [p.name for p in split.output_ports({"outputs": 4})] == ["out1", "out2", "out3", "out4"]
    result = analyze(_split_graph(3, "out3"))
    assert not result.errors
    assert result.nodes["n2"].outputs["out3"].shape == ("N", 4)
    [error] = analyze(_split_graph(3, "out4")).errors
    assert "qkv (Split) has no output port 'out4'" in error.message

"""How block classes read: parameters of every kind written as themselves, docstrings and
signatures within the line length, shape comments that are true for every use."""

from __future__ import annotations

import ast

import torch

from dlstudio.compile import compile_graph
from dlstudio.compile.codegen import generate_source
from dlstudio.core.blocks import BlockParam
from dlstudio.layers.block_library import library_definitions
from dlstudio.layers.builder import GraphBuilder

LONG = (
    "A block whose description is much longer than one line of code, so that its docstring "
    "has to be wrapped: it goes on and on about what the block does. The second sentence is "
    "left out of the docstring."
)


def _class_source(source: str, name: str) -> str:
    tree = ast.parse(source)
    node = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name)
    return ast.get_source_segment(source, node)


def _model() -> GraphBuilder:
    b = GraphBuilder("m")
    params = (
        BlockParam("units", "int", 8, "Width."),
        BlockParam("bias", "bool", True, "Learn biases."),
        BlockParam("dropout", "float", 0.1, "Dropout."),
        BlockParam("a_rather_long_parameter_name", "int", 3, "Unused, but long."),
        BlockParam("another_rather_long_parameter_name", "int", 4, "Unused, but long."),
    )
    d = b.define("Head", params, LONG)
    x = d.input("x", (16,))
    y = d.layer("dense", "fc", x, units="=units", bias="=bias")
    y = d.layer("dropout", "dropout", y, p="=dropout")
    d.output(y, "out")
    d.end_block()
    x = b.input("x", (16,))
    y = b.block("Head", "head1", x, units=16)
    y = b.block("Head", "head2", y, units=4, bias=False, dropout=0.0)
    b.output(y)
    return b


def test_bool_and_float_parameters_are_constructor_arguments() -> None:
    b = _model()
    source = generate_source(b.graph)
    head = _class_source(source, "Head")
    assert source.count("class Head") == 1, "bias=False and bias=True share the class"
    assert "nn.Linear(16, units, bias=bias)" in head
    # The attribute may be called like a parameter: self.dropout = nn.Dropout(dropout).
    assert "self.dropout = nn.Dropout(dropout)" in head
    assert "Head(units=4, bias=False, dropout=0.0)" in source
    module = compile_graph(b.graph).module
    assert module.head1.fc.bias is not None and module.head2.fc.bias is None
    assert module.head2.dropout.p == 0.0
    assert module(torch.randn(2, 16)).shape == (2, 4)


def test_docstring_is_the_first_sentence_wrapped_and_lines_fit() -> None:
    source = generate_source(_model().graph)
    head = _class_source(source, "Head")
    doc = ast.get_docstring(ast.parse(head).body[0])
    assert " ".join(doc.split()) == LONG.split(" The second")[0]
    assert "second sentence" not in head
    assert max(len(line) for line in head.splitlines()) <= 100
    assert "    def __init__(\n" in head, "a long signature is wrapped"


def test_shape_comment_names_a_multiple_of_a_parameter() -> None:
    """A stage used at two widths: its Bottleneck's output is written ``width * 4``."""
    b = GraphBuilder("stages")
    b.use(library_definitions(), "Bottleneck")
    s = b.define("Stage", (BlockParam("width", "int", 4, "Width."),), "Two widths.")
    x = s.input("x", (16, 8, 8))
    s.output(s.block("Bottleneck", "0", x, width="=width"), "out")
    s.end_block()
    x = b.input("x", (16, 8, 8))
    x = b.block("Stage", "small", x, width=4)
    x = b.layer("conv2d", "widen", x, out_channels=32, kernel_size=1)
    b.output(b.block("Stage", "big", x, width=8))
    source = generate_source(b.graph)
    stage = _class_source(source, "Stage")
    assert "# (N, width * 4, 8, 8)" in stage


def test_docstring_of_every_length_is_valid_python() -> None:
    """Near the line length the quotes decide whether a docstring fits on one line."""
    for length in range(80, 200):
        b = GraphBuilder("m")
        d = b.define("Block", (BlockParam("units", "int", 4, "Width."),), "w" * length + ".")
        d.output(d.layer("dense", "fc", d.input("x", (4,)), units="=units"), "out")
        d.end_block()
        b.output(b.block("Block", "block", b.input("x", (4,))))
        head = _class_source(generate_source(b.graph), "Block")
        doc = ast.get_docstring(ast.parse(head).body[0])
        assert doc.replace("\n", "").replace(" ", "") == "w" * length + ".", length
        assert max(len(line) for line in head.splitlines()) <= 100, length


def test_each_block_forward_line_is_mapped_to_its_inner_node() -> None:
    """GeneratedCode.blocks: line numbers of the whole source -> the definition's node ids,
    and node ids -> the submodule attributes (``"0"`` in a chain)."""
    from repo_paths import TEMPLATES_DIR

    from dlstudio.compile.codegen import generate
    from dlstudio.core import load_project

    graph = load_project(TEMPLATES_DIR / "resnet18.json")
    code = generate(graph)
    lines = code.source.splitlines()
    block = code.blocks["BasicBlock"]
    inner = graph.blocks["BasicBlock"].graph
    assert not block.chain and len(block.lines) == len(inner) - 2  # all but input and output
    for number, node_id in block.lines.items():
        attr = block.attrs[node_id]
        written = lines[number - 1].split("#")[0]
        if inner.node(node_id).type_id in ("conv2d", "batchnorm2d"):
            assert f"self.{attr}(" in written, (number, written)
        assert written.strip().split(" = ")[0] in ("x", attr, "identity"), written
    stage = code.blocks["BasicStage"]
    assert stage.chain and not stage.lines
    assert sorted(stage.attrs.values()) == ["0", "1"]
    assert code.blocks["[Downsample]"].inline

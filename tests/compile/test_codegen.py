"""The generated source: reads like a hand-written file, names are safe, and no torch needed."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import models
import pytest
import torch
from graph_builders import ChainBuilder, lenet5
from hypothesis import given, settings
from hypothesis import strategies as st
from layer_cases import CASES, case_graph
from layer_references import REFERENCES
from repo_paths import TEMPLATES_DIR

from dlstudio.analysis import analyze
from dlstudio.compile import CompileError, compile_graph, generate_source
from dlstudio.compile.codegen.names import MODULE_ATTRIBUTES, RESERVED, NameAllocator
from dlstudio.layers.validation import load_checked


def test_lenet_reads_like_a_hand_written_file() -> None:
    source = generate_source(lenet5())
    tree = ast.parse(source)
    assert ast.get_docstring(tree)
    assert "import *" not in source
    imports = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    assert len(imports) <= 5
    assert "x = self.conv1(x)  # (N, 6, 28, 28)" in source
    assert "x = self.pool1(x)  # (N, 6, 14, 14)" in source
    assert "x = self.fc3(x)  # (N, 10)" in source
    classes = [n.name for n in tree.body if isinstance(n, ast.ClassDef)]
    # Only the batch size varies: example_inputs takes it, no config class is needed.
    assert classes == ["Lenet5"]
    assert "dataclass" not in source
    assert "def example_inputs(batch_size: int = 2)" in source
    assert 'if __name__ == "__main__":' in source
    # Submodules are declared in the order forward() uses them.
    declared = [
        line.split("self.")[1].split(" ")[0]
        for line in source.splitlines()
        if line.startswith("        self.") and " = " in line
    ]
    assert declared == ["conv1", "pool1", "conv2", "pool2", "fc1", "fc2", "fc3"]
    for line in source.splitlines():
        assert len(line) <= 100, line


def test_state_dict_keys_are_node_names() -> None:
    module = compile_graph(lenet5()).module
    assert list(module.state_dict()) == [
        f"{name}.{p}"
        for name in ("conv1", "conv2", "fc1", "fc2", "fc3")
        for p in ("weight", "bias")
    ]


def test_skip_connection_keeps_its_tensor_named() -> None:
    source = generate_source(models.residual_block())
    assert "def forward(self, image: torch.Tensor)" in source
    assert "x = self.conv1(image)" in source
    assert "x = x + image" in source


def test_a_second_output_port_gets_its_own_variable() -> None:
    source = generate_source(models.lstm_states())
    assert "x, gru_state = self.gru(x)" in source
    assert "torch.cat([x, gru_state], dim=1)" in source


def test_several_inputs_and_outputs_follow_document_order() -> None:
    compiled = compile_graph(models.sequence_model())
    assert compiled.input_names == ["src", "tgt"]
    assert compiled.output_names == ["logits", "summary"]
    assert [str(s) for s in compiled.input_specs] == ["(N, T) int64", "(N, S) int64"]
    src = torch.randint(0, 13, (2, 7))
    tgt = torch.randint(0, 11, (2, 5))
    logits, summary = compiled.module.eval()(src, tgt)
    assert logits.shape == (2, 5, 11) and summary.shape == (2, 8)


def test_frozen_nodes_do_not_train() -> None:
    graph = lenet5()
    conv1 = graph.node_by_name("conv1")
    graph.update_node(conv1.id, trainable=False)
    compiled = compile_graph(graph)
    assert "self.conv1.requires_grad_(False)" in compiled.source
    frozen = {n for n, p in compiled.module.named_parameters() if not p.requires_grad}
    assert frozen == {"conv1.weight", "conv1.bias"}


def test_errors_are_listed_by_node() -> None:
    graph = lenet5()
    fc1 = graph.node_by_name("fc1")
    graph.update_node(fc1.id, params={"units": -3})
    conv2 = graph.node_by_name("conv2")
    graph.update_node(conv2.id, params={"out_channels": 16, "kernel_size": 50})
    with pytest.raises(CompileError) as info:
        compile_graph(graph)
    names = {name for name, _ in info.value.problems}
    assert {"fc1", "conv2"} <= names
    assert "fc1" in str(info.value) and "units" in str(info.value)


def test_a_graph_without_output_is_refused() -> None:
    b = ChainBuilder("no output")
    b.chain(("input", "input", {"shape": (3,)}), ("dense", "fc", {"units": 2}))
    with pytest.raises(CompileError, match="Output"):
        generate_source(b.graph)


def test_reserved_names_cover_every_module_attribute() -> None:
    public = {a for a in dir(torch.nn.Module()) if not a.startswith("_")}
    assert public <= MODULE_ATTRIBUTES | RESERVED


def test_allocator_makes_unique_safe_identifiers() -> None:
    allocator = NameAllocator()
    names = [
        allocator.allocate(text, "layer")
        for text in (
            "conv 1",
            "conv_1",
            "forward",
            "input",
            "class",
            "1st",
            "ünïcödé",
            "",
            "__init__",
        )
    ]
    assert names == [
        "conv_1",
        "conv_1_2",
        "forward_",
        "input_",
        "class_",
        "layer_1st",
        "unicode",
        "layer",
        "init",
    ]
    assert len(set(names)) == len(names)


def test_codegen_does_not_import_torch() -> None:
    code = (
        "import sys; sys.path[:0] = ['tests']\n"
        "from graph_builders import lenet5\n"
        "from dlstudio.compile import generate_source\n"
        "assert 'class Lenet5' in generate_source(lenet5())\n"
        "assert 'torch' not in sys.modules, 'codegen imported torch'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=_repo_root())


def test_a_200_node_graph_generates_one_module_per_layer() -> None:
    """Speed is measured by benchmarks/bench_analysis.py (200-node codegen), not asserted."""
    b = ChainBuilder("deep")
    layers = [("input", "input", {"shape": (16,)})]
    for i in range(99):
        layers += [("dense", f"fc{i}", {"units": 16}), ("relu", f"relu{i}", {})]
    layers.append(("output", "output", {}))
    b.chain(*layers)
    source = generate_source(b.graph, analyze(b.graph))
    assert source.count("nn.Linear") == 99
    assert source.count("nn.ReLU") + source.count("F.relu") == 99


def _repo_root() -> str:
    from pathlib import Path

    return str(Path(__file__).resolve().parents[2])


def test_generated_files_are_ruff_clean(tmp_path) -> None:
    ruff = Path(sys.executable).with_name("ruff")
    if not ruff.exists():
        pytest.skip("ruff is not installed next to this Python")
    graphs = [lenet5(), models.sequence_model(), models.residual_block(), models.lstm_states()]
    # Models with a config of hyper-parameters (a repeat loop wrapped over several lines).
    graphs += [load_checked(TEMPLATES_DIR / f"{n}.json") for n in ("gpt-mini", "transformer")]
    for type_id in REFERENCES:  # every case of the layers checked against torch's functions
        graphs += [case_graph(type_id, case, {"T": 5, "S": 3})[0] for case in CASES[type_id]]
    for i, graph in enumerate(graphs):
        (tmp_path / f"m{i}_{graph.name.replace(' ', '_')}.py").write_text(generate_source(graph))
    options = ["--isolated", "--line-length", "100"]
    lint = [str(ruff), "check", *options, "--select", "E,F,W,I,B,UP,SIM,RUF", str(tmp_path)]
    subprocess.run(lint, check=True, capture_output=True)
    subprocess.run([str(ruff), "format", *options, "--check", str(tmp_path)], check=True)


def _forward_statements(source: str, class_name: str) -> list[range]:
    """Python's own parse of the source: the lines of each statement of the class's forward()
    before its return."""
    tree = ast.parse(source)
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == class_name)
    forward = next(n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "forward")
    assert isinstance(forward.body[-1], ast.Return)
    return [range(s.lineno, (s.end_lineno or s.lineno) + 1) for s in forward.body[:-1]]


def test_forward_line_map_agrees_with_the_parsed_source() -> None:
    """line_nodes (counted while the source is written) names exactly the lines of forward()'s
    statements as Python parses the file, one node per statement, in the walk's order: every
    template (blocks, masks, configs, wrapped calls) and a wrapped Concat."""
    from repo_paths import TEMPLATES_DIR

    from dlstudio.compile.codegen import generate
    from dlstudio.layers.validation import load_checked

    graphs = [load_checked(path) for path in sorted(TEMPLATES_DIR.glob("*.json"))]
    graphs.append(case_graph("concat", CASES["concat"][2], {})[0])
    assert len(graphs) > 10
    for graph in graphs:
        code = generate(graph)
        statements = _forward_statements(code.source, code.class_name)
        assert sorted(code.line_nodes) == [n for lines in statements for n in lines], graph.name
        names = [{code.line_nodes[n] for n in lines} for lines in statements]
        assert all(len(one) == 1 for one in names), graph.name
        order = [node.name for node in (graph.node(i) for i in analyze(graph).order)]
        walked = [n for n in order if n in {name for one in names for name in one}]
        assert [one.pop() for one in names] == walked, graph.name


def test_long_forward_lines_wrap_and_still_map_to_their_nodes() -> None:
    """A Concat of ten inputs wraps as ruff format would; every line of it names the node."""
    graph, node_id = case_graph("concat", CASES["concat"][2], {})
    code = compile_graph(graph).code
    lines = code.source.splitlines()
    start = lines.index("        x = torch.cat(")
    assert lines[start - 1] == "        # (N, 55, 3, 3)"  # the shape, above the long statement
    end = lines.index("        )", start)
    name = graph.node(node_id).name
    assert all(code.line_nodes[number + 1] == name for number in range(start, end + 1))
    assert max(len(line) for line in lines) <= 100


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["math.", "F.", ".", "x", "_", " ", "é", "\n"]), max_size=12))
def test_import_detection_finds_the_modules_python_would_need(pieces: list[str]) -> None:
    """``math.`` and ``F.`` count as uses unless a dot or word character comes before them,
    as the regular expression ``(?<![.\\w])name\\.`` says."""
    import re

    from dlstudio.compile.codegen.source import _uses_module

    body = "".join(pieces)
    for name in ("math", "F"):
        expected = bool(re.search(rf"(?<![.\w]){name}\.", body))
        assert _uses_module(body, name) == expected

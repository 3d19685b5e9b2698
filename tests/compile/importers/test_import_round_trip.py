"""Every template survives export --python then import: same layers, parameters, wires, names."""

from __future__ import annotations

import pytest
from graph_compare import differences
from repo_paths import TEMPLATES_DIR

from dlstudio.cli import main
from dlstudio.compile.codegen import generate
from dlstudio.compile.importers import InputSpec, import_module
from dlstudio.compile.importers.loader import load_model
from dlstudio.core import load_project
from dlstudio.core.block_commands import flatten

TEMPLATES = sorted(p.stem for p in TEMPLATES_DIR.glob("*.json"))


def _inputs(graph) -> list[InputSpec]:
    specs = []
    for node in graph:
        if node.type_id == "input":
            p = node.params
            shape = tuple(p["shape"])
            specs.append(
                InputSpec(
                    shape,
                    p.get("dtype", "float32"),
                    p.get("seq_len", 32),
                    p.get("vocab_size", 0),
                    node.name,
                )
            )
    return specs


@pytest.mark.parametrize("name", TEMPLATES)
def test_template_round_trips_through_python(name: str, tmp_path, capsys) -> None:
    graph = load_project(TEMPLATES_DIR / f"{name}.json")
    source = tmp_path / f"{name}.py"
    assert main(["export", str(TEMPLATES_DIR / f"{name}.json"), "--python", str(source)]) == 0
    model_class = generate(graph).class_name
    result = import_module(load_model(f"{source}:{model_class}"), _inputs(graph), name=graph.name)
    assert result.ok, result.report_lines()
    # Blocks may be grouped differently (the import makes one definition per distinct module
    # structure): the models, expanded into layers named by module path, are the same.
    assert differences(flatten(graph), flatten(result.graph)) == []


def test_differences_notice_a_changed_parameter() -> None:
    graph = load_project(TEMPLATES_DIR / "lenet5.json")
    other = load_project(TEMPLATES_DIR / "lenet5.json")
    conv = next(n for n in other if n.type_id == "conv2d")
    other.update_node(conv.id, params={**conv.params, "out_channels": 7})
    assert differences(graph, other)

"""The model difference (``dlstudio.analysis.model_diff``) and ``python -m dlstudio diff``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from repo_paths import TEMPLATES_DIR

from dlstudio.analysis.model_diff import diff_models
from dlstudio.analysis.model_diff_text import diff_lines
from dlstudio.cli import main as cli
from dlstudio.core import load_project


def template(name: str) -> dict[str, Any]:
    return json.loads((TEMPLATES_DIR / f"{name}.json").read_text(encoding="utf-8"))


def node(data: dict[str, Any], name: str, nodes: list | None = None) -> dict[str, Any]:
    return next(n for n in (nodes or data["nodes"]) if n["name"] == name)


def save(data: dict[str, Any], path: Path) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def widened_lenet(tmp_path: Path) -> Path:
    """LeNet-5 with conv1 widened, fc2 renamed, relu4 removed (fc2 wired straight to fc3)."""
    data = template("lenet5")
    node(data, "conv1")["params"]["out_channels"] = 16
    node(data, "fc2")["name"] = "hidden"
    relu4 = node(data, "relu4")["id"]
    data["nodes"] = [n for n in data["nodes"] if n["id"] != relu4]
    data["edges"] = [e for e in data["edges"] if relu4 not in (e["from"]["node"], e["to"]["node"])]
    fc2, fc3 = node(data, "hidden")["id"], node(data, "fc3")["id"]
    data["edges"].append({"from": {"node": fc2, "port": "out"}, "to": {"node": fc3, "port": "in"}})
    data["name"] = "lenet5-wide"
    return save(data, tmp_path / "wide.json")


def test_same_model_has_no_differences() -> None:
    graph = load_project(TEMPLATES_DIR / "resnet-cifar.json")
    diff = diff_models(graph, load_project(TEMPLATES_DIR / "resnet-cifar.json"))
    assert diff.same and diff.counts() == {"added": 0, "removed": 0, "renamed": 0, "changed": 0}
    assert all(b.params_delta == 0 and b.macs_delta == 0 for b in diff.blocks)


def test_added_removed_renamed_and_changed_layers(tmp_path: Path) -> None:
    a = load_project(TEMPLATES_DIR / "lenet5.json")
    b = load_project(widened_lenet(tmp_path))
    diff = diff_models(a, b)
    kinds = {c.path: c.kind for c in diff.changes}
    assert kinds == {
        "conv1": "changed",
        "conv2": "changed",  # its in_channels (and weights) follow conv1
        "hidden": "renamed",
        "fc3": "changed",  # its input is now hidden, not relu4
        "relu4": "removed",
    }
    conv1 = diff.changes[0]
    assert [(v.name, v.before, v.after) for v in conv1.values] == [("out_channels", 6, 16)]
    # Conv2d(1, C, 5): C * (25 + 1) weights, as torch counts them.
    assert conv1.params == (6 * 26, 16 * 26)
    assert diff.of_kind("renamed")[0].values[0].before == "fc2"
    fc3 = next(c for c in diff.changes if c.path == "fc3")
    assert [(v.name, v.before, v.after) for v in fc3.values] == [("input in", "relu4", "hidden")]
    # Side by side: the removed ReLU shows where it was, between fc2 (now hidden) and fc3.
    assert [(r.kind, r.path_a, r.path_b) for r in diff.rows][-4:] == [
        ("renamed", "fc2", "hidden"),
        ("removed", "relu4", None),
        ("changed", "fc3", "fc3"),
        ("same", "logits", "logits"),
    ]
    assert len(diff.rows) == len(a)  # every layer of A once (B has one fewer, none new)
    model = diff.blocks[0]
    assert model.params_delta == b_total(b) - b_total(a)
    lines = diff_lines(diff)
    assert lines[0] == "lenet5 -> lenet5-wide: 1 removed, 1 renamed, 3 changed"
    assert "~ conv1 (Conv2d): out_channels 6 -> 16; params 156 -> 416 (+260)" in lines


def b_total(graph) -> int:
    from dlstudio.analysis import analyze

    return analyze(graph).total_params


def test_blocks_compared_by_path_with_deltas_measured_by_torch(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from dlstudio.compile import compile_graph

    data = template("resnet-cifar")
    node(data, "layer3")["params"]["channels"] = 96
    changed = load_project(save(data, tmp_path / "wider.json"))
    original = load_project(TEMPLATES_DIR / "resnet-cifar.json")
    diff = diff_models(original, changed)
    paths = [c.path for c in diff.changes]
    # The instance, the layers inside it by module path, and the head that reads 96 channels.
    assert paths[0] == "layer3" and diff.changes[0].values[0].name == "channels"
    assert "layer3.conv1" in paths and "layer3.downsample.0" in paths
    assert not [p for p in paths if p.startswith(("layer1", "layer2"))]
    modules = [compile_graph(g).module for g in (original, changed)]
    for block in diff.blocks:
        counted = []
        for module in modules:
            try:
                sub = module.get_submodule(block.path) if block.path else module
            except AttributeError:  # a shortcut switched off is no module: nothing to count
                sub = torch.nn.Identity()
            counted.append(sum(p.numel() for p in sub.parameters()))
        assert block.params == tuple(counted), block.path
    layer3 = next(b for b in diff.blocks if b.path == "layer3")
    assert layer3.params_delta and layer3.params_delta > 0
    assert next(b for b in diff.blocks if b.path == "layer1").params_delta == 0


def test_cli_diff_text_json_and_exit_codes(tmp_path: Path, capsys) -> None:
    wide = widened_lenet(tmp_path)
    lenet = str(TEMPLATES_DIR / "lenet5.json")
    assert cli(["diff", lenet, lenet]) == 0
    assert "no differences" in capsys.readouterr().out
    assert cli(["diff", lenet, str(wide), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["counts"] == {"added": 0, "removed": 1, "renamed": 1, "changed": 3}
    added_back = cli(["diff", str(wide), lenet, "--json"])
    assert added_back == 1
    back = json.loads(capsys.readouterr().out)
    assert [c["path"] for c in back["changes"] if c["kind"] == "added"] == ["relu4"]
    assert back["blocks"][0]["params"]["delta"] == -report["blocks"][0]["params"]["delta"]


def test_cli_diff_unreadable_file_is_one_message(tmp_path: Path, capsys) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    assert cli(["diff", str(broken), str(TEMPLATES_DIR / "lenet5.json")]) == 2
    err = capsys.readouterr().err
    assert "broken.json" in err and "Traceback" not in err

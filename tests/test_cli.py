"""The command line: validate and summary, exit codes and JSON."""

from __future__ import annotations

import json
import subprocess
import sys

from graph_builders import lenet5
from repo_paths import REPO_ROOT

from dlstudio.cli import main
from dlstudio.core import Edge, PortRef, RemoveNode, UndoStack, save_project


def _broken_lenet(tmp_path):
    graph = lenet5()
    UndoStack(graph).push(RemoveNode(graph.node_by_name("flatten").id))
    graph.insert_edge(
        Edge(
            PortRef(graph.node_by_name("pool2").id, "out"),
            PortRef(graph.node_by_name("fc1").id, "in"),
        )
    )
    path = tmp_path / "broken.json"
    save_project(graph, path)
    return path


def test_validate_exit_codes_and_messages(tmp_path, capsys):
    good = tmp_path / "lenet.json"
    save_project(lenet5(), good)
    assert main(["validate", str(good)]) == 0
    assert "0 error(s)" in capsys.readouterr().out
    assert main(["validate", str(_broken_lenet(tmp_path))]) == 1
    out = capsys.readouterr().out
    assert "error: fc1: fc1 (Dense) needs a 2-D input" in out
    assert "fix: insert Flatten before fc1" in out


def test_unreadable_files_exit_2_with_a_located_message(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "dlstudio-project", "format_version": 1, "nodes": [1]}')
    assert main(["validate", str(bad)]) == 2
    assert "bad.json, at nodes[0]: each node must be a JSON object" in capsys.readouterr().err
    assert main(["summary", str(tmp_path / "missing.json")]) == 2


def test_summary_json_has_totals_layers_and_diagnostics(tmp_path, capsys):
    path = tmp_path / "lenet.json"
    save_project(lenet5(), path)
    assert main(["summary", str(path), "--json", "--batch", "8"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total_params"] == 61706
    assert data["trainable_params"] == 61706
    assert data["total_macs"] == sum(layer["macs"] for layer in data["layers"])
    conv1 = next(layer for layer in data["layers"] if layer["name"] == "conv1")
    assert conv1 == {
        "id": conv1["id"],
        "name": "conv1",
        "path": "conv1",
        "depth": 0,
        "type": "Conv2d",
        "type_id": "conv2d",
        "output_shape": ["N", 6, 28, 28],
        "params": 156,
        "trainable": True,
        "macs": 117600,
        "flops": 235200,
    }
    assert data["total_flops"] == 2 * data["total_macs"]
    assert data["diagnostics"] == []
    assert main(["summary", str(_broken_lenet(tmp_path)), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["diagnostics"][0]["node"] == "fc1"
    assert data["diagnostics"][0]["severity"] == "error"


def test_summary_flops_are_two_per_mac(tmp_path, capsys):
    """conv1 of LeNet-5: 6 x 28 x 28 outputs x 25 multiply-adds = 117,600 MACs, 235,200 FLOPs."""
    path = tmp_path / "lenet.json"
    save_project(lenet5(), path)
    assert main(["summary", str(path)]) == 0
    assert "FLOPs" not in capsys.readouterr().out
    assert main(["summary", str(path), "--flops"]) == 0
    out = capsys.readouterr().out
    conv1 = next(line for line in out.splitlines() if line.startswith("conv1 "))
    assert conv1.split()[-2:] == ["117,600", "235,200"]
    assert "FLOPs per example: 845,648 (2 per MAC)" in out


def test_summary_table_and_module_entry_point(tmp_path, capsys):
    path = tmp_path / "lenet.json"
    save_project(lenet5(), path)
    proc = subprocess.run(
        [sys.executable, "-m", "dlstudio", "summary", str(path)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "conv1" in proc.stdout and "(N, 6, 28, 28)" in proc.stdout
    assert "Total params:     61,706" in proc.stdout
    # The help, in this process (the entry point is the one just run; a second interpreter
    # would cost seconds of start-up).
    try:
        code = main(["--help"])
    except SystemExit as exit_:
        code = exit_.code
    assert code in (0, None) and "validate" in capsys.readouterr().out


def test_summary_of_templates_reports_published_parameter_counts(capsys):
    from repo_paths import TEMPLATES_DIR

    expected = {"resnet18": 11_689_512, "lenet5": 61_706, "mlp-mnist": 13_002}
    for name, count in expected.items():
        assert main(["summary", str(TEMPLATES_DIR / f"{name}.json"), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["total_params"] == count, name


def test_templates_lists_every_template_with_its_title(capsys):
    from repo_paths import TEMPLATES_DIR

    assert main(["templates"]) == 0
    lines = capsys.readouterr().out.splitlines()
    names = sorted(p.stem for p in TEMPLATES_DIR.glob("*.json"))
    assert [line.split()[0] for line in lines] == names
    assert any(line.startswith("lenet5") and "LeNet-5:" in line for line in lines)
    assert all(len(line) < 160 for line in lines)


def test_light_commands_do_not_import_torch():
    code = (
        "import sys; from dlstudio.cli import build_parser; "
        "build_parser(['validate', 'x.json']); print('torch' in sys.modules)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, check=True
    )
    assert proc.stdout.strip() == "False"


def _iris_mlp(tmp_path, units: int = 3, **training):
    from graph_builders import ChainBuilder

    b = ChainBuilder("iris_mlp")
    b.chain(
        ("input", "features", {"shape": (4,)}),
        ("dense", "fc1", {"units": 8}),
        ("relu", "relu", {}),
        ("dense", "fc2", {"units": units}),
        ("output", "scores", {}),
    )
    b.graph.metadata["training"] = {"dataset": "iris", "loss": "cross_entropy", **training}
    path = tmp_path / f"iris_{units}.json"
    save_project(b.graph, path)
    return path


def test_validate_checks_the_training_settings_against_the_data(tmp_path, capsys):
    assert main(["validate", str(_iris_mlp(tmp_path))]) == 0
    assert "0 error(s), 0 warning(s)" in capsys.readouterr().out
    # Fewer scores than classes: train refuses, so validate fails.
    assert main(["validate", str(_iris_mlp(tmp_path, units=2))]) == 1
    out = capsys.readouterr().out
    assert "error: scores: training data: the model outputs 2 scores per prediction" in out
    assert "has 3 classes" in out and "set the last layer's output size to 3" in out
    # More scores than classes: train accepts it (as PyTorch and Keras do), with a warning.
    assert main(["validate", str(_iris_mlp(tmp_path, units=6))]) == 0
    assert "warning: scores: training data: the model outputs 6 scores" in capsys.readouterr().out
    # The loss against the kind of target.
    assert main(["validate", str(_iris_mlp(tmp_path, loss="mse"))]) == 1
    assert "set loss to cross_entropy" in capsys.readouterr().out
    # The data set's inputs against the Input node: LeNet-5 on 8x8 digits.
    graph = lenet5()
    graph.metadata["training"] = {"dataset": "digits"}
    path = tmp_path / "lenet_digits.json"
    save_project(graph, path)
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert "error: input: training data: digits gives (N, 1, 8, 8) but input expects" in out
    # Unknown settings are reported, not raised.
    assert main(["validate", str(_iris_mlp(tmp_path, optimizer="adagrad"))]) == 1
    assert "error: model: training settings:" in capsys.readouterr().out


def test_validate_json_prints_diagnostics_as_objects(tmp_path, capsys):
    assert main(["validate", str(_broken_lenet(tmp_path)), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert (report["errors"], report["warnings"]) == (1, 0)
    [d] = report["diagnostics"]
    assert d["severity"] == "error" and d["node"] == d["path"] == "fc1"
    assert d["message"].startswith("fc1 (Dense) needs a 2-D input")
    assert d["fixes"] == [{"label": "insert Flatten before fc1", "kind": "insert"}]
    assert main(["validate", str(_iris_mlp(tmp_path, units=6)), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [(d["severity"], d["node"]) for d in report["diagnostics"]] == [("warning", "scores")]


def test_summary_prints_the_block_tree_and_json_paths(tmp_path, capsys):
    from tests.gui.gui_block_models import block_model

    path = tmp_path / "net.json"
    save_project(block_model(repeat=2), path)
    assert main(["summary", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("layer1      BasicBlock ×2") for line in lines), lines
    assert any(line.startswith("  layer1.1  BasicBlock") for line in lines)
    assert any(line.startswith("    conv1   Conv2d") for line in lines)
    assert "Total params:     7,754" in lines
    assert main(["summary", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    paths = [layer["path"] for layer in data["layers"]]
    assert paths[:4] == ["image", "stem", "layer1", "layer1.0"]
    assert "layer1.1.bn2" in paths and "layer1.0.conv1" in paths
    conv = next(layer for layer in data["layers"] if layer["path"] == "layer1.1.conv1")
    assert conv["depth"] == 2 and conv["params"] == 584
    assert conv["output_shape"] == ["N", 8, 8, 8]
    top = [layer for layer in data["layers"] if layer["depth"] == 0]
    assert sum(layer["params"] for layer in top) == data["total_params"] == 7754
    assert sum(layer["macs"] for layer in top) == data["total_macs"]

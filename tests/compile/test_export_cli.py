"""The export command and the standalone Python file it writes."""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys
from pathlib import Path

import models
import pytest
import torch
from graph_builders import lenet5

from dlstudio.compile import ExportReport, cli_commands, compile_graph, export_python, load_weights
from dlstudio.core import save_project

REPO = Path(__file__).resolve().parents[2]
STDLIB = set(sys.stdlib_module_names)


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli_commands.add_export_parser(parser.add_subparsers())
    return parser.parse_args(["export", *argv])


def _run_isolated(script: Path) -> subprocess.CompletedProcess:
    """Run ``script`` with ``python -I`` from its own folder, then check that nothing but torch
    and the standard library was imported."""
    check = (
        "import runpy, sys\n"
        f"runpy.run_path({str(script)!r}, run_name='__main__')\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] == 'dlstudio')\n"
        "assert not bad, bad\n"
        # The venv may live inside the checkout; the checkout's own code must not be reachable.
        f"repo, venv = {str(REPO)!r}, {str(REPO / '.venv')!r}\n"
        "assert not [p for p in sys.path if p.startswith(repo) and not p.startswith(venv)]\n"
    )
    return subprocess.run(
        [sys.executable, "-I", "-c", check],
        cwd=script.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _imports(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add((node.module or "").split(".")[0])
    return names


def test_cli_python_export_runs_with_only_torch(tmp_path) -> None:
    out = tmp_path / "lenet.py"
    subprocess.run(
        [sys.executable, "-m", "dlstudio", "export", "templates/lenet5.json", "--python", str(out)],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    assert _imports(out.read_text()) <= {"torch"} | STDLIB
    run = _run_isolated(out)
    assert run.returncode == 0, run.stderr
    assert "output (2, 10)" in run.stdout
    assert "61,706 parameters" in run.stdout


def test_sequence_model_file_runs_with_token_inputs(tmp_path) -> None:
    out = export_python(models.sequence_model(), tmp_path / "seq.py")
    run = _run_isolated(out)
    assert run.returncode == 0, run.stderr
    assert "logits (2, 5, 11)" in run.stdout and "summary (2, 8)" in run.stdout


def test_trained_weights_load_into_the_exported_file(tmp_path) -> None:
    """The exported class is the trained module: its state_dict keys match exactly."""
    graph = lenet5()
    project = tmp_path / "lenet.json"
    save_project(graph, project)
    trained = compile_graph(graph).module
    torch.save(trained.state_dict(), tmp_path / "trained.pt")
    args = _parse(
        [
            str(project),
            "--python",
            str(tmp_path / "m.py"),
            "--weights",
            str(tmp_path / "w.safetensors"),
            "--from",
            str(tmp_path / "trained.pt"),
        ]
    )
    assert cli_commands.run_export(args) == 0
    namespace = {"__name__": "exported"}
    exec(compile((tmp_path / "m.py").read_text(), "m.py", "exec", dont_inherit=True), namespace)
    exported = namespace["Lenet5"]()
    assert load_weights(exported, tmp_path / "w.safetensors").ok
    x = torch.randn(2, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(exported.eval()(x), trained.eval()(x))


def test_onnx_command_prints_parity(tmp_path, capsys) -> None:
    args = _parse(["templates/lenet5.json", "--onnx", str(tmp_path / "m.onnx")])
    assert cli_commands.run_export(_with_repo(args)) == 0
    assert "onnxruntime matches PyTorch" in capsys.readouterr().out


def test_onnx_parity_failure_exits_1(tmp_path, monkeypatch, capsys) -> None:
    def failing(compiled, path, **kwargs):
        return ExportReport(str(path), None, None, 3, None, "parity failed: diff 0.5", False)

    monkeypatch.setattr("dlstudio.compile.onnx_export.export_onnx", failing)
    args = _parse(["templates/lenet5.json", "--onnx", str(tmp_path / "m.onnx")])
    assert cli_commands.run_export(_with_repo(args)) == 1
    assert "parity failed" in capsys.readouterr().out


def test_bad_usage_and_bad_projects(tmp_path, capsys) -> None:
    assert cli_commands.run_export(_parse(["templates/lenet5.json"])) == 2
    assert cli_commands.run_export(_parse([str(tmp_path / "none.json"), "--python", "x.py"])) == 2
    graph = lenet5()
    graph.update_node(graph.node_by_name("fc1").id, params={"units": 0})
    save_project(graph, tmp_path / "bad.json")
    out = tmp_path / "bad.py"
    assert cli_commands.run_export(_parse([str(tmp_path / "bad.json"), "--python", str(out)])) == 1
    assert "fc1" in capsys.readouterr().err
    assert not out.exists()


def test_mismatched_weights_are_refused_by_node(tmp_path, capsys) -> None:
    torch.save({"fc1.weight": torch.zeros(3, 3)}, tmp_path / "w.pt")
    args = _parse(
        [
            "templates/lenet5.json",
            "--weights",
            str(tmp_path / "o.pt"),
            "--from",
            str(tmp_path / "w.pt"),
        ]
    )
    assert cli_commands.run_export(_with_repo(args)) == 1
    err = capsys.readouterr().err
    assert "fc1: weight has shape (3, 3)" in err
    assert not (tmp_path / "o.pt").exists()


def _with_repo(args: argparse.Namespace) -> argparse.Namespace:
    args.file = str(REPO / args.file)
    return args


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch) -> None:
    monkeypatch.chdir(REPO)

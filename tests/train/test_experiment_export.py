"""``export --train-script`` / ``--notebook``: what the files hold and that they run alone."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from test_experiment_parity import step_losses, trimmed_project

from dlstudio.cli import main as cli
from dlstudio.compile.codegen import generate_source
from dlstudio.core import load_project
from dlstudio.layers import get_layer_type
from dlstudio.train.errors import TrainError
from dlstudio.train.experiment import build_experiment, build_notebook

# Runs a script with every dlstudio import refused, as on a machine without DL Studio.
WITHOUT_DLSTUDIO = (
    "import runpy, sys; sys.modules['dlstudio'] = None; sys.argv = sys.argv[1:]; "
    "runpy.run_path(sys.argv[0], run_name='__main__')"
)


def test_script_holds_the_python_export_of_the_model(tmp_path: Path) -> None:
    project = trimmed_project("lenet5", tmp_path)
    graph = load_project(project)
    script = build_experiment(graph, project).script
    model = generate_source(graph).split("\n\n\n", 1)[1].rsplit("\n\n\nif __name__", 1)[0]
    assert model.strip() in script
    assert "from dlstudio.train.data import DataSplit, load_dataset" in script
    # Written as a person would: ruff's formatting leaves it as it is.
    path = tmp_path / "train.py"
    path.write_text(script, encoding="utf-8")
    ruff = [sys.executable, "-m", "ruff", "format", "--check", "--isolated", "--line-length", "100"]
    check = subprocess.run([*ruff, str(path)], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr


def test_embedded_script_trains_without_dlstudio_and_matches_train(tmp_path: Path) -> None:
    options = {"seq_len": 12, "n_samples": 400}
    project = trimmed_project("lstm-classifier", tmp_path, dataset_options=options)
    studio = tmp_path / "studio"
    argv = ["--out", str(studio), "--threads", "1", "--device", "cpu", "--report-every", "1"]
    assert cli(["train", str(project), *argv]) == 0
    script = tmp_path / "train.py"
    assert cli(["export", str(project), "--train-script", str(script), "--embed-data"]) == 0
    assert "import dlstudio" not in script.read_text() and "from dlstudio" not in script.read_text()
    out = tmp_path / "alone"
    flags = ["--out", str(out), "--threads", "1", "--device", "cpu", "--log-every", "0"]
    run = subprocess.run(
        [sys.executable, "-c", WITHOUT_DLSTUDIO, str(script), *flags],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
    )
    assert run.returncode == 0, run.stderr[-2000:]
    expected, got = step_losses(studio / "metrics.jsonl"), step_losses(out / "metrics.jsonl")
    assert len(got) == len(expected) >= 8
    assert max(abs(a - b) for a, b in zip(got, expected, strict=True)) <= 1e-5


def test_notebook_is_valid_holds_the_script_code_and_runs(tmp_path: Path) -> None:
    project = trimmed_project("mlp-mnist", tmp_path, val_fraction=0.8)
    notebook_path = tmp_path / "x.ipynb"
    assert cli(["export", str(project), "--notebook", str(notebook_path)]) == 0
    notebook = nbformat.read(notebook_path, as_version=4)
    nbformat.validate(notebook)
    code = [c.source for c in notebook.cells if c.cell_type == "code"]
    experiment = build_experiment(load_project(project), project)
    script = experiment.script
    # Cells in the script's order: imports, then every section, then the run.
    assert "\n\n\n".join(code[1:-1]) == experiment.code
    assert code[0].split("\n\n", 1)[1] in script and experiment.code in script
    titles = [c.source.splitlines()[0] for c in notebook.cells if c.cell_type == "markdown"]
    assert titles[1:] == [f"## {s.title}" for s in experiment.sections] + ["## Run"]
    # The model is explained with the layer catalogue's own words.
    text = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    assert get_layer_type("dense").summary.replace("*", "\\*") in text
    # The cells run in order (the last with one epoch into tmp_path).
    namespace: dict[str, object] = {}
    for cell in code[:-1]:
        exec(compile(cell, "cell", "exec"), namespace)
    run = namespace["parse_args"]
    settings = run(["--threads", "1", "--device", "cpu", "--out", str(tmp_path / "nb")])  # type: ignore[operator]
    namespace["train"](settings)  # type: ignore[operator]
    assert len(step_losses(tmp_path / "nb" / "metrics.jsonl")) == 12


def test_every_setting_is_a_flag(tmp_path: Path) -> None:
    project = trimmed_project("lenet5", tmp_path)
    namespace: dict[str, object] = {}
    script = build_experiment(load_project(project), project).script
    exec(compile(script.replace('if __name__ == "__main__":', "if False:"), "t", "exec"), namespace)
    parse = namespace["parse_args"]
    settings = parse(  # type: ignore[operator]
        ["--lr", "0.5", "--optimizer", "sgd", "--compile", "--dataset-options", '{"resize": 16}']
    )
    assert (settings.lr, settings.optimizer, settings.compile) == (0.5, "sgd", True)
    assert settings.dataset_options == {"resize": 16}
    assert parse([]).dataset_options == {"resize": 28}  # type: ignore[operator]
    with pytest.raises(SystemExit):
        parse(["--optimizer", "rmsprop"])  # type: ignore[operator]


def test_export_without_data_set_is_one_clear_error(tmp_path: Path, capsys) -> None:
    data = json.loads(Path("templates/resnet18.json").read_text(encoding="utf-8"))
    project = tmp_path / "r.json"
    project.write_text(json.dumps(data), encoding="utf-8")
    assert cli(["export", str(project), "--train-script", str(tmp_path / "t.py")]) == 2
    err = capsys.readouterr().err
    assert "no data set chosen" in err and "Traceback" not in err
    assert not (tmp_path / "t.py").exists()


def test_notebook_escapes_names_from_the_drawing(tmp_path: Path) -> None:
    project = trimmed_project("mlp-mnist", tmp_path)
    graph = load_project(project)
    node = next(n for n in graph if n.type_id == "dense")
    node.name = "<b>fc*</b>"
    graph.name = 'x"""; PWNED = 1  # \\ <i>'
    experiment = build_experiment(graph, project)
    tree = ast.parse(experiment.script)  # the name cannot end the docstring and add code
    assigned = {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets}
    assert "PWNED" not in assigned and "PWNED" in (ast.get_docstring(tree) or "")
    notebook = build_notebook(experiment, graph)
    text = "\n".join(c.source for c in notebook.cells)
    assert "<b>" not in text and "<i>" not in text and "\\<b\\>fc\\*\\</b\\>" in text


@pytest.mark.parametrize("name", ["train settings", "data split"])
def test_a_model_named_like_the_script_own_code_is_refused(tmp_path: Path, name: str) -> None:
    project = trimmed_project("mlp-mnist", tmp_path)
    graph = load_project(project)
    graph.name = name  # the class would be TrainSettings / DataSplit
    with pytest.raises(TrainError, match="rename the model"):
        build_experiment(graph, project)

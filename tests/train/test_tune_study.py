"""``tune``: an Optuna study over iris whose trials are runs; pruning, applying the best values,
the same result for the same seed, a shared study, and the command's errors and exit codes."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import optuna
import pytest
from graph_builders import iris_mlp

from dlstudio.core import load_project, save_project
from dlstudio.train.cli_tune import add_tune_parser
from dlstudio.train.history import RunStore
from dlstudio.train.tune import Tuner, TuneSettings, parse_space

SPACE = [
    "--space",
    "lr=1e-4:1e-1:log",
    "--space",
    "batch_size=16|32|64",
    "--space",
    "fc1.units=4:64",
]


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    add_tune_parser(parser.add_subparsers())
    args = parser.parse_args(["tune", *argv])
    return args.handler(args)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The iris MLP on the built-in iris data set: 3 epochs a trial, a fraction of a second."""
    graph = iris_mlp()
    graph.metadata["training"] = {"dataset": "iris", "epochs": 3, "batch_size": 32, "lr": 0.01}
    path = tmp_path / "iris.json"
    save_project(graph, path)
    return path


@pytest.mark.slow
def test_tune_iris_prunes_records_runs_and_applies_the_best_values(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _run([str(project), "--trials", "8", *SPACE, "--prune-after", "3", "--apply-best"])
    out, err = capsys.readouterr()
    assert code == 0, err

    folder = project.with_name("iris_tune")
    study = optuna.load_study(study_name="iris-mlp", storage=f"sqlite:///{folder / 'study.db'}")
    states = [t.state for t in study.trials]
    assert len(states) == 8
    pruned = [t for t in study.trials if t.state == optuna.trial.TrialState.PRUNED]
    assert pruned, [s.name for s in states]
    # A pruned trial stopped before its last epoch, or was judged at it.
    assert all(len(t.intermediate_values) <= 3 for t in pruned)
    assert any(len(t.intermediate_values) < 3 for t in pruned)
    best = study.best_trial
    assert best.state == optuna.trial.TrialState.COMPLETE
    # The trial's value is its best validation accuracy, reported epoch by epoch.
    assert best.value == max(best.intermediate_values.values())

    # Every trial is a run of the run history: model snapshot, record, weights.
    records = {r.trial["number"]: r for r in RunStore(folder / "runs").load_all()}
    assert sorted(records) == list(range(8))
    for trial in study.trials:
        record = records[trial.number]
        assert record.trial["params"] == trial.params
        assert record.status == {"COMPLETE": "completed", "PRUNED": "pruned"}[trial.state.name]
        assert [e["val"]["accuracy"] for e in record.epochs] == list(
            trial.intermediate_values.values()
        )
        assert (
            record.weights_path.exists()
            and record.load_graph().node_by_name("fc1").params["units"] == trial.params["fc1.units"]
        )
        assert record.settings["lr"] == trial.params["lr"]
    for trial in pruned:
        assert trial.user_attrs["run"] == str(records[trial.number].folder)

    # The table lists every trial with its state and values, the best one starred.
    lines = out.splitlines()
    assert lines[0].split() == [
        "trial",
        "state",
        "lr",
        "batch_size",
        "fc1.units",
        "accuracy",
        "epochs",
    ]
    rows = [line.split() for line in lines[2:10]]
    assert [r[0] for r in rows] == [str(n) for n in range(8)]
    assert sum(r[1] == "pruned" or r[2] == "pruned" for r in rows) == len(pruned)
    assert any(r[:2] == [str(best.number), "*"] for r in rows)
    assert f"best: trial {best.number}" in out

    tuned = load_project(project.with_name("iris.tuned.json"))
    assert tuned.node_by_name("fc1").params["units"] == best.params["fc1.units"]
    training = tuned.metadata["training"]
    assert (training["lr"], training["batch_size"]) == (
        best.params["lr"],
        best.params["batch_size"],
    )
    assert training["epochs"] == 3 and training["dataset"] == "iris"
    # The original file is kept as it was.
    assert load_project(project).node_by_name("fc1").params["units"] == 16


def test_same_seed_same_trials_and_in_place(project: Path, tmp_path: Path) -> None:
    def tune(folder: str) -> list[tuple[dict, float | None]]:
        argv = [str(project), "--trials", "3", "--epochs", "1", "--no-prune", "--folder"]
        assert _run([*argv, str(tmp_path / folder), *SPACE]) == 0
        storage = f"sqlite:///{tmp_path / folder / 'study.db'}"
        study = optuna.load_study(study_name="iris-mlp", storage=storage)
        return [(t.params, t.value) for t in study.trials]

    first = tune("a")
    assert tune("b") == first
    graph = load_project(project)
    graph.metadata["training"]["seed"] = 7
    save_project(graph, project)
    assert [p for p, _ in tune("c")] != [p for p, _ in first]

    assert (
        _run(
            [
                str(project),
                "--trials",
                "0",
                "--folder",
                str(tmp_path / "c"),
                *SPACE,
                "--apply-best",
                "--in-place",
            ]
        )
        == 0
    )
    units = load_project(project).node_by_name("fc1").params["units"]
    storage = f"sqlite:///{tmp_path / 'c' / 'study.db'}"
    assert (
        units == optuna.load_study(study_name="iris-mlp", storage=storage).best_params["fc1.units"]
    )


def test_two_workers_share_one_study_through_storage(project: Path, tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    graph = load_project(project)
    dims = parse_space(["lr=1e-3:1e-1:log"], graph)
    for worker in ("one", "two"):
        settings = TuneSettings(trials=1, epochs=1, storage=storage, study_name="shared")
        study = Tuner(graph, dims, tmp_path / worker, settings).run()
        assert not (tmp_path / worker / "study.db").exists()
    assert [t.number for t in study.trials] == [0, 1]
    assert study.trials[0].params != study.trials[1].params


def test_bad_space_and_bad_settings_exit_2_naming_the_argument(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run([str(project), "--space", "fc7.units=8:64"]) == 2
    assert (
        "error: --space 'fc7.units=8:64': the model has no layer named 'fc7'"
        in capsys.readouterr().err
    )
    assert _run([str(project), "--space", "fc1.units=0:64"]) == 2
    assert (
        "--space 'fc1.units=0:64': fc1: units must be at least 1, got 0" in capsys.readouterr().err
    )
    assert _run([str(project)]) == 2
    assert "give at least one --space" in capsys.readouterr().err
    assert _run([str(project.with_name("missing.json")), *SPACE]) == 2
    assert "missing.json" in capsys.readouterr().err
    graph = load_project(project)
    graph.metadata["training"]["val_fraction"] = 0.0
    save_project(graph, project)
    assert _run([str(project), *SPACE]) == 2
    assert "val_fraction is 0" in capsys.readouterr().err
    assert not project.with_name("iris_tune").exists() or not list(
        (project.with_name("iris_tune") / "runs").glob("*")
    )


def test_failed_trials_are_recorded_and_no_completed_trial_exits_1(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # accuracy is not what iris regression would report: ask for a metric iris does not give.
    assert _run([str(project), "--trials", "2", "--epochs", "1", "--metric", "mae", *SPACE]) == 1
    captured = capsys.readouterr()
    assert (
        "trial 0 fail" in captured.err
        and "reports no mae (it reports: loss, accuracy)" in captured.err
    )
    assert "no trial completed" in captured.err
    records = RunStore(project.with_name("iris_tune") / "runs").load_all()
    assert [r.status for r in records] == ["failed", "failed"]
    assert json.loads((records[0].folder / "run.json").read_text())["message"].startswith(
        "the validation"
    )


def test_a_trial_the_data_rejects_fails_with_the_fix_and_the_study_goes_on(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        str(project),
        "--trials",
        "2",
        "--epochs",
        "1",
        "--space",
        "fc2.units=1|2",
    ]  # fewer scores than classes
    assert _run(argv) == 1
    err = capsys.readouterr().err
    assert err.count(" fail after 0 epoch(s)") == 2
    assert "3 classes" in err and "set the last layer's output size to 3" in err
    assert "Traceback" not in err


def test_a_continued_study_keeps_the_kind_of_each_domain(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = [str(project), "--trials", "1", "--epochs", "1", "--space"]
    assert _run([*base, "fc1.units=8:16"]) == 0
    assert _run([*base, "fc1.units=8:32"]) == 0  # wider bounds: the same study goes on
    capsys.readouterr()
    assert _run([*base, "fc1.units=8|16"]) == 2
    err = capsys.readouterr().err
    assert "--space 'fc1.units=8|16': the study 'iris-mlp' already searches fc1.units" in err
    study = optuna.load_study(
        study_name="iris-mlp", storage=f"sqlite:///{project.with_name('iris_tune') / 'study.db'}"
    )
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE"]
    assert study.trials[0].params != study.trials[1].params  # the sampler moved on

"""The command line on hostile input: one message, the documented exit code, no traceback, and
nothing from a file ever reaches the terminal as a control sequence."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from repo_paths import REPO_ROOT, TEMPLATES_DIR

from dlstudio.cli import EXIT_PROBLEMS, EXIT_USAGE, main


def _lenet() -> dict:
    return json.loads((TEMPLATES_DIR / "lenet5.json").read_text(encoding="utf-8"))


def _write(tmp_path, doc: dict, name: str = "p.json"):
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_escape_sequences_in_names_never_reach_the_terminal(tmp_path, capsys):
    doc = _lenet()
    doc["nodes"][1]["name"] = "evil\x1b]0;pwned\x07\x1b[2J"
    doc["nodes"][1]["params"]["out_channels"] = -3  # so validate prints the name
    path = _write(tmp_path, doc)
    assert main(["validate", str(path)]) == EXIT_PROBLEMS
    assert main(["summary", str(path)]) == EXIT_PROBLEMS
    captured = capsys.readouterr()
    assert "\x1b" not in captured.out + captured.err and "\x07" not in captured.out
    assert "evil\\x1b]0;pwned\\x07\\x1b[2J" in captured.out


@pytest.mark.parametrize(
    ("mutate", "words"),
    [
        (lambda d: d["nodes"][0].update(position=[int("9" * 310), 0]), "finite number"),
        (lambda d: d["nodes"][1].update(name="a\ud800"), "lone surrogate"),
        (lambda d: d["metadata"].update(title="\ud800"), "lone surrogate"),
        (
            lambda d: d["nodes"][1].update(name="conv1\nerror: model: forged line"),
            "holds a line break (U+000A) at character 5; a name is one line of text",
        ),
    ],
)
def test_hostile_files_exit_2_with_a_located_message(tmp_path, capsys, mutate, words):
    doc = _lenet()
    mutate(doc)
    path = _write(tmp_path, doc)
    for command in ("validate", "summary"):
        assert main([command, str(path)]) == EXIT_USAGE
        err = capsys.readouterr().err
        assert err.startswith(f"error: {path}, at ") and words in err


@pytest.mark.skipif(os.name == "nt", reason="POSIX devices and FIFOs")
def test_devices_and_fifos_are_refused_without_reading(tmp_path, capsys):
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    for path in ("/dev/zero", str(fifo)):
        assert main(["validate", path]) == EXIT_USAGE
        assert "not a regular file" in capsys.readouterr().err


def test_a_real_process_prints_no_traceback_for_a_surrogate_file(tmp_path):
    doc = _lenet()
    doc["nodes"][1]["name"] = "a\ud800"
    path = _write(tmp_path, doc)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "PYTHONIOENCODING": "ascii"}
    result = subprocess.run(
        [sys.executable, "-m", "dlstudio", "validate", str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == EXIT_USAGE
    assert "Traceback" not in result.stderr and "lone surrogate" in result.stderr


def test_a_line_break_cannot_enter_a_name_by_renaming_either():
    from graph_builders import lenet5

    from dlstudio.core import GraphEditError, RenameNode, UndoStack

    graph = lenet5()
    with pytest.raises(GraphEditError, match="holds a line break"):
        UndoStack(graph).push(RenameNode(graph.node_by_name("conv1").id, "a\rb"))
    assert graph.node_by_name("conv1") is not None


@pytest.mark.parametrize("command", ["validate", "summary"])
def test_json_is_printed_for_an_unreadable_file_too(tmp_path, capsys, command):
    path = tmp_path / "broken.json"
    path.write_text("{not json", encoding="utf-8")
    assert main([command, str(path), "--json"]) == EXIT_USAGE
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["unreadable"] is True and report["errors"] == 1
    assert report["diagnostics"][0]["message"].startswith(f"{path}")
    assert captured.err.startswith("error: ")


def test_training_settings_that_are_a_list_are_an_error_not_a_traceback(tmp_path, capsys):
    doc = _lenet()
    doc["metadata"]["training"] = ["digits"]
    assert main(["validate", str(_write(tmp_path, doc))]) == EXIT_PROBLEMS
    out = capsys.readouterr().out
    assert "metadata.training must be a mapping of settings, got list ['digits']" in out


def test_a_reader_that_stops_early_gets_no_traceback(tmp_path):
    """`summary --json | head -1`: the pipe closes while the summary is still being written."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    project = str(TEMPLATES_DIR / "resnet50.json")
    process = subprocess.Popen(
        [sys.executable, "-m", "dlstudio", "summary", project, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert process.stdout is not None and process.stdout.read(20).startswith(b"{")
    process.stdout.close()  # what head does after its first lines
    _out, err = process.communicate(timeout=60)
    assert b"Traceback" not in err and b"BrokenPipe" not in err, err.decode()
    assert process.returncode == 0

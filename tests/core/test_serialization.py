"""The project file format: round trips, atomic saves, and located errors for bad files."""

from __future__ import annotations

import json
import os

import pytest
from graph_builders import lenet5

from dlstudio.core import (
    FORMAT_VERSION,
    ProjectFileError,
    dumps_project,
    load_project,
    loads_project,
    save_project,
)
from dlstudio.core.serialization import graph_to_dict


def test_save_load_save_gives_identical_files(tmp_path):
    graph = lenet5()
    graph.metadata["training"] = {"dataset": "digits", "lr": 0.001, "epochs": 3}
    first = tmp_path / "a.json"
    second = tmp_path / "b.json"
    save_project(graph, first)
    save_project(load_project(first), second)
    assert first.read_bytes() == second.read_bytes()
    loaded = load_project(first)
    assert loaded.node_by_name("conv1").params["kernel_size"] == 5
    assert loaded.node_by_name("input").params["shape"] == (1, 28, 28)


def test_saving_is_atomic_when_writing_fails(tmp_path, monkeypatch):
    target = tmp_path / "model.json"
    save_project(lenet5(), target)
    before = target.read_bytes()

    def broken_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        save_project(lenet5(), target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.json"]  # no temp file left


@pytest.mark.parametrize(
    ("mutate", "location", "words"),
    [
        (lambda d: d.pop("format"), "format", "not a DL Studio project"),
        (lambda d: d.update(format_version=FORMAT_VERSION + 1), "format_version", "newer"),
        (lambda d: d.update(format_version="1"), "format_version", "whole number"),
        (lambda d: d.update(nodes={}), "nodes", "must be a list"),
        (lambda d: d["nodes"][2].pop("id"), "nodes[2].id", "text string"),
        (lambda d: d["nodes"][1].update(id=d["nodes"][0]["id"]), "nodes[1].id", "used twice"),
        (lambda d: d["nodes"][3].update(name="conv1"), "nodes[3].name", "two nodes"),
        (
            lambda d: d["nodes"][1]["params"].update(kernel_size={"a": 1}),
            "nodes[1].params.kernel_size",
            "number",
        ),
        (lambda d: d["nodes"][1].update(position=[1]), "nodes[1].position", "two numbers"),
        (lambda d: d["nodes"][1].update(trainable="yes"), "nodes[1].trainable", "true or false"),
        (
            lambda d: d["edges"][0]["from"].update(node="ghost"),
            "edges[0].from.node",
            "no node 'ghost'",
        ),
        (lambda d: d["edges"].append(d["edges"][0]), "edges[13].to", "two wires"),
        (lambda d: d["metadata"].update(x=[[[]]] * 3), None, None),  # fine: nested plain JSON
    ],
)
def test_bad_documents_raise_one_located_error(mutate, location, words):
    data = graph_to_dict(lenet5())
    mutate(data)
    text = json.dumps(data)
    if location is None:
        loads_project(text, source="model.json")
        return
    with pytest.raises(ProjectFileError) as info:
        loads_project(text, source="model.json")
    assert info.value.location == location
    assert words in str(info.value)
    assert str(info.value).startswith("model.json, at ")


def test_invalid_json_names_line_and_column():
    text = dumps_project(lenet5())
    broken = text.replace('"conv1"', '"conv1",,', 1)
    with pytest.raises(
        ProjectFileError,
        match=r"broken\.json, at line \d+, column \d+: not "
        r"valid JSON",
    ):
        loads_project(broken, source="broken.json")


def test_truncated_binary_and_missing_files(tmp_path):
    text = dumps_project(lenet5())
    with pytest.raises(ProjectFileError, match="not valid JSON"):
        loads_project(text[: len(text) // 2], source="half.json")
    with pytest.raises(ProjectFileError, match="not UTF-8"):
        loads_project(b"\xff\xfe\x00garbage", source="bin.json")
    with pytest.raises(ProjectFileError, match="cannot read the file"):
        load_project(tmp_path / "missing.json")
    with pytest.raises(ProjectFileError, match="NaN is not allowed"):
        loads_project(
            text.replace('"position": [0, 0]', '"position": [NaN, 0]', 1).replace(
                '"position": [200, 0]', '"position": [NaN, 0]', 1
            ),
            source="nan.json",
        )


def test_deeply_nested_json_is_refused_cleanly():
    deep = (
        '{"format": "dlstudio-project", "format_version": 1, "metadata": '
        + "[" * 100_000
        + "]" * 100_000
        + ', "nodes": []}'
    )
    with pytest.raises(ProjectFileError):
        loads_project(deep, source="deep.json")

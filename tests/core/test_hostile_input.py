"""Regression tests for hostile project files found by fuzzing (issue 15): each is refused with
a located ProjectFileError, or loads and then saves and loads again."""

from __future__ import annotations

import json

import pytest
from repo_paths import TEMPLATES_DIR

from dlstudio.core import ProjectFileError, dumps_project, loads_project
from dlstudio.layers.validation import check_node


def _lenet() -> dict:
    return json.loads((TEMPLATES_DIR / "lenet5.json").read_text(encoding="utf-8"))


def _refused(doc: dict, location: str, words: str) -> None:
    with pytest.raises(ProjectFileError) as info:
        loads_project(json.dumps(doc), source="bad.json", node_checker=check_node)
    assert info.value.location == location, str(info.value)
    assert words in info.value.problem
    str(info.value).encode("utf-8")  # the message itself can be printed


def test_a_310_digit_position_is_refused_not_an_overflow():
    doc = _lenet()
    doc["nodes"][0]["position"] = [int("9" * 310), 0]
    _refused(doc, "nodes[0].position[0]", "finite number")


def test_huge_integers_in_metadata_are_refused():
    doc = _lenet()
    doc["metadata"]["training"]["epochs"] = 10**40
    _refused(doc, "metadata.training.epochs", "too large")


@pytest.mark.parametrize(
    ("mutate", "location"),
    [
        (lambda d: d["nodes"][1].update(name="conv\ud800"), "nodes[1].name"),
        (lambda d: d.update(name="model\udfff"), "name"),
        (lambda d: d["metadata"].update(title="title \ud800"), "metadata.title"),
        (lambda d: d["metadata"].update({"k\ud800": 1}), "metadata (a key)"),
        (lambda d: d["nodes"][1]["params"].update({"p\ud800": 1}), "nodes[1].params (a key)"),
        (lambda d: d["nodes"][1]["params"].update(padding="\ud800"), "nodes[1].params.padding"),
    ],
)
def test_lone_surrogates_are_refused_where_they_are(mutate, location):
    doc = _lenet()
    mutate(doc)
    _refused(doc, location, "lone surrogate")


@pytest.mark.parametrize("x", [999999999.999, -999999999.995, 1e9, 999999999])
def test_positions_near_the_limit_survive_saving(x):
    doc = _lenet()
    doc["nodes"][0]["position"] = [x, 0]
    graph = loads_project(json.dumps(doc), node_checker=check_node)
    again = loads_project(dumps_project(graph), node_checker=check_node)
    assert dumps_project(again) == dumps_project(graph)


def test_positions_past_the_limit_are_refused():
    doc = _lenet()
    doc["nodes"][0]["position"] = [1000000000.01, 0]
    _refused(doc, "nodes[0].position[0]", "finite number")


def test_terminal_escapes_in_names_load_and_are_escaped_for_terminals():
    from dlstudio.core.terminal import escape_controls

    doc = _lenet()
    doc["nodes"][1]["name"] = "evil\x1b]0;pwned\x07\x1b[2J\u202e"
    graph = loads_project(json.dumps(doc), node_checker=check_node)
    shown = escape_controls(graph.node(doc["nodes"][1]["id"]).name)
    assert shown == "evil\\x1b]0;pwned\\x07\\x1b[2J\\u202e"
    assert escape_controls("line\n\ttab\r") == "line\n\ttab\r"

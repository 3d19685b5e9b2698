"""A data set that only warns (more outputs than classes) is drawn in the warning colour, and
the Problems panel lists the data set's problems beside the drawing's, with their fixes."""

from __future__ import annotations

import graph_builders

from tests.gui import fixtures_window

window = fixtures_window.shared_window
module_window = fixtures_window.module_window
data_dir = fixtures_window.data_dir


def _iris_with_outputs(units: int):
    graph = graph_builders.iris_mlp()
    graph.node_by_name("fc2").params["units"] = units
    graph.metadata["training"] = {"dataset": "iris", "epochs": 1, "batch_size": 16}
    return graph


def test_a_data_warning_is_amber_and_listed_in_problems(window, qtbot):
    training = window.install_training()
    window.document.replace_graph(_iris_with_outputs(5))
    window.document.reanalyze()
    assert window.problems.note_text.startswith("No problems")
    report = training.data_check.check_now()
    assert [p.severity for p in report.problems] == ["warning"]
    label = training.panel.data_box.problem_label
    assert label.property("role") == "warning"
    # The style sheet's warning colour, not the error colour.
    assert label.palette().color(label.foregroundRole()).name() == "#e8b54a"
    problems = window.problems
    assert problems.topLevelItemCount() == 1
    row = problems.topLevelItem(0)
    assert row.text(0).startswith("Data set: the model outputs 5 scores")
    assert row.text(1) == "fc2"
    assert problems.note_text == ""
    problems.fix_button_for(0).click()  # "Set fc2 to 3 outputs"
    assert window.document.graph.node_by_name("fc2").params["units"] == 3
    # The edit makes the report stale: the row goes; the next check finds nothing.
    qtbot.waitUntil(lambda: problems.topLevelItemCount() == 0, timeout=5_000)
    assert training.data_check.check_now().problems == ()
    assert problems.note_text.startswith("No problems")


def test_a_data_error_stays_red(window, qtbot):
    training = window.install_training()
    graph = _iris_with_outputs(3)
    graph.node_by_name("features").params["shape"] = (5,)
    window.document.replace_graph(graph)
    window.document.reanalyze()
    report = training.data_check.check_now()
    assert report.errors
    label = training.panel.data_box.problem_label
    assert label.property("role") == "error"
    assert label.palette().color(label.foregroundRole()).name() == "#f07b74"
    assert window.problems.topLevelItemCount() == len(report.problems)

"""Summary table, problems list, code preview, background work and picture/code export."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QMessageBox, QToolButton

from dlstudio.core.commands import SetMetadata
from dlstudio.gui.canvas.placement import overlaps
from dlstudio.gui.exports import describe_parity
from dlstudio.gui.panels.summary import human_bytes, human_count
from dlstudio.gui.workers import run_in_thread
from tests.gui import fixtures_window
from tests.gui.fixtures_window import TEMPLATES, answer_message_boxes

window = fixtures_window.shared_window
module_window = fixtures_window.module_window
data_dir = fixtures_window.data_dir

LENET = next(p for p in TEMPLATES if p.stem == "lenet5")


def _break_lenet(window) -> str:
    """Remove the Flatten so fc1 gets a 4-D tensor; returns fc1's id."""
    graph = window.document.graph
    flatten, pool2, fc1 = (graph.node_by_name(n) for n in ("flatten", "pool2", "fc1"))
    window.scene.select_nodes([flatten.id])
    assert window.scene.delete_selection()
    assert window.scene.connect_ports((pool2.id, "out"), (fc1.id, "in"))
    window.document.reanalyze()
    return fc1.id


def test_summary_rows_totals_and_click_selects(window, qtbot):
    window.files.load_template(LENET, ask=False)
    summary = window.summary
    graph = window.document.graph
    assert summary.tree.topLevelItemCount() == len(graph) + 1
    conv1 = graph.node_by_name("conv1")
    row = summary.item_of(conv1.id)
    assert row.text(2) == "(N, 6, 28, 28)"
    assert row.text(3) == "156"
    totals = summary.totals.text()
    assert "61,706" in totals and "trainable" in totals and "frozen" in totals
    assert "MACs" in totals and "batch 32" in totals
    with qtbot.waitSignal(window.scene.selection_changed_ids):
        summary.tree.itemClicked.emit(row, 0)
    assert window.scene.selected_node_ids() == [conv1.id]
    assert window.properties.node_id == conv1.id


def test_human_units():
    assert human_count(999) == "999" and human_count(1_500_000) == "1.5 M"
    assert human_bytes(512) == "512 B" and human_bytes(3 * 1024 * 1024) == "3.0 MiB"


def test_problems_list_click_and_fix(window, qtbot):
    window.files.load_template(LENET, ask=False)
    assert window.problems.diagnostics == []
    fc1 = _break_lenet(window)
    problems = window.problems
    errors = [d for d in problems.diagnostics if d.is_error]
    assert errors and errors[0].node_id == fc1
    assert "1 error" in window.problems_label.text()
    assert window.problems_dock.windowTitle().startswith("Problems (")
    item = problems.topLevelItem(0)
    assert not item.icon(0).isNull()
    problems.itemClicked.emit(item, 0)
    assert window.scene.selected_node_ids() == [fc1]

    code = window.code_preview
    code.refresh()
    assert "error" in code.toPlainText().splitlines()[0]

    button = problems.fix_button_for(0)
    assert button is not None and button.toolTip()
    depth = len(window.document.undo_stack._done)
    with qtbot.waitSignal(window.document.analysis_ready):
        button.click()
    assert len(window.document.undo_stack._done) == depth + 1  # one undoable step
    assert not window.document.analysis.has_errors
    assert any(n.type_id == "flatten" for n in window.document.graph)


def test_code_preview_updates_after_edits_and_is_highlighted(window, qtbot):
    code = window.code_preview
    code.refresh()
    assert "empty model" in code.toPlainText()
    window.files.load_template(LENET, ask=False)
    qtbot.waitUntil(lambda: "class " in code.toPlainText(), timeout=5000)
    assert code.isReadOnly()
    assert "nn.Conv2d(1, 6" in code.toPlainText().replace("in_channels=", "")
    block = code.document().findBlockByNumber(0)
    formats = block.layout().formats()
    assert formats, "the docstring line is highlighted"
    colours = {
        f.format.foreground().color().name()
        for b in range(code.document().blockCount())
        for f in code.document().findBlockByNumber(b).layout().formats()
    }
    assert QColor("#c792ea").name() in colours  # keywords
    conv1 = window.document.graph.node_by_name("conv1")
    window.scene.select_nodes([conv1.id])
    window.properties.editors["out_channels"].editor.setValue(10)
    qtbot.waitUntil(lambda: "nn.Conv2d(1, 10" in code.toPlainText().replace("in_channels=", ""))


def test_run_in_thread_reports_on_gui_thread(qtbot):
    import threading

    main = threading.get_ident()
    seen: dict = {}

    def work():
        seen["worker"] = threading.get_ident()
        return 42

    handle = run_in_thread(work, lambda r: seen.update(result=r, done=threading.get_ident()))
    with qtbot.waitSignal(handle.finished, timeout=5000):
        pass
    assert seen["result"] == 42 and seen["done"] == main and seen["worker"] != main

    def boom():
        raise ValueError("bad shape")

    handle = run_in_thread(boom, None, lambda e, tb: seen.update(error=str(e), tb=tb))
    with qtbot.waitSignal(handle.finished, timeout=5000):
        pass
    assert seen["error"] == "bad shape" and "ValueError" in seen["tb"]


def test_export_picture_png_and_svg(window, tmp_path):
    window.files.load_template(LENET, ask=False)
    png = window.exports.export_image(tmp_path / "model.png")
    svg = window.exports.export_image(tmp_path / "model.svg")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in svg.read_text()


def test_export_python_runs_in_a_worker(window, qtbot, tmp_path, monkeypatch):
    shown = fixtures_window.answer_message_boxes(monkeypatch, None)
    window.files.load_template(LENET, ask=False)
    handle = window.exports.export_python(tmp_path / "lenet.py")
    with qtbot.waitSignal(handle.finished, timeout=60000):
        pass
    source = (tmp_path / "lenet.py").read_text()
    assert "class " in source and "nn.Conv2d" in source
    assert [title for title, _ in shown] == ["Python export"]  # says where it went


def test_export_refuses_a_graph_with_errors(window, monkeypatch, tmp_path):
    window.files.load_template(LENET, ask=False)
    _break_lenet(window)
    seen = answer_message_boxes(monkeypatch, QMessageBox.StandardButton.Ok)
    assert window.exports.export_onnx(tmp_path / "x.onnx") is None
    assert seen and "errors" in seen[0][0]


@pytest.mark.slow
def test_export_onnx_reports_parity(window, qtbot, tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    window.files.load_template(LENET, ask=False)
    seen = answer_message_boxes(monkeypatch, QMessageBox.StandardButton.Ok)
    handle = window.exports.export_onnx(tmp_path / "lenet.onnx")
    with qtbot.waitSignal(handle.finished, timeout=240000):
        pass
    assert Path(tmp_path / "lenet.onnx").exists()
    title, text = seen[-1]
    assert title == "ONNX export", text
    assert "Exporter:" in text and "Max abs difference" in text and "batch size" in text


def test_describe_parity_reads_a_report():
    class Report:
        exporter = "dynamo"
        max_abs_diff = 1.2e-6
        tolerance = 1e-4
        checked_batch = 3
        checked_seq_len = None
        passed = True
        message = ""

    text = describe_parity(Report())
    assert "dynamo" in text and "1.2e-06" in text and "batch size 3" in text and "OK" in text


def test_teaching_warning_offers_each_fix_and_one_edits_the_training_settings(window, qtbot):
    word2vec = next(p for p in TEMPLATES if p.stem == "word2vec")
    window.files.load_template(word2vec, ask=False)
    assert window.problems.diagnostics == []
    training = dict(window.document.graph.metadata["training"], loss="cross_entropy")
    with qtbot.waitSignal(window.document.analysis_ready):
        window.document.push(SetMetadata("training", training))
    problems = window.problems
    [warning] = problems.diagnostics
    assert warning.severity == "warning" and "LogSoftmax" in warning.message
    button = problems.fix_button_for(0)
    assert button.toolTip() == "use the nll loss"
    with qtbot.waitSignal(window.document.analysis_ready):
        button.click()
    assert window.document.graph.metadata["training"]["loss"] == "nll"
    assert window.problems.diagnostics == []
    with qtbot.waitSignal(window.document.analysis_ready):
        window.action_registry.undo.trigger()
    # The other fix, from the menu beside the button: remove the LogSoftmax.
    holder = problems.itemWidget(problems.topLevelItem(0), 2)
    more = holder.findChild(QToolButton, "more_fixes_button")
    [action] = more.menu().actions()
    assert action.text() == "remove log_softmax"
    with qtbot.waitSignal(window.document.analysis_ready):
        action.trigger()
    assert window.document.graph.node_by_name("log_softmax") is None
    assert window.problems.diagnostics == []


def test_problem_messages_wrap_whole_and_counts_match_the_status_bar(window, qtbot):
    window.files.load_template(LENET, ask=False)
    graph = window.document.graph
    window.scene.select_nodes([graph.node_by_name("flatten").id])
    assert window.scene.delete_selection()  # fc1 unfed, everything before it leads nowhere
    window.document.reanalyze()
    problems = window.problems
    errors = sum(d.is_error for d in problems.diagnostics)
    warnings = sum(d.severity == "warning" for d in problems.diagnostics)
    assert errors >= 1 and warnings >= 1
    words = f"{errors} error{'s' * (errors > 1)}, {warnings} warning{'s' * (warnings > 1)}"
    assert window.problems_dock.windowTitle() == f"Problems ({words})"
    assert words in window.problems_label.text()

    problems.resize(320, 400)
    qtbot.wait(20)
    metrics = problems.fontMetrics()
    text_width = problems.header().sectionSize(0)  # more than the text gets: fewest lines
    for row in range(problems.topLevelItemCount()):
        item = problems.topLevelItem(row)
        message = item.text(0)
        assert metrics.horizontalAdvance(message) > text_width  # would not fit on one line
        needed = metrics.boundingRect(0, 0, text_width, 10_000, Qt.TextFlag.TextWordWrap, message)
        assert problems.visualItemRect(item).height() >= needed.height()


def test_the_flatten_fix_goes_between_its_neighbours(window, qtbot):
    window.files.load_template(LENET, ask=False)
    graph = window.document.graph
    flatten, pool2, fc1 = (graph.node_by_name(n) for n in ("flatten", "pool2", "fc1"))
    column = sorted(
        (n for n in graph if abs(n.position[0] - pool2.position[0]) < 1),
        key=lambda n: n.position[1],
    )
    assert [n.name for n in column] == ["relu2", "pool2", "flatten", "fc1"]
    # The student's CNN: pool2 wired straight into fc1, right under it (no room between).
    window.scene.select_nodes([flatten.id])
    assert window.scene.delete_selection()
    from dlstudio.core import MoveNodes

    window.document.push(MoveNodes({fc1.id: flatten.position}))
    assert window.scene.connect_ports((pool2.id, "out"), (fc1.id, "in"))
    window.document.reanalyze()
    diagnostic = next(d for d in window.problems.diagnostics if d.is_error)
    assert "Flatten" in diagnostic.fixes[0].label
    assert window.apply_fix(diagnostic)
    new = graph.node_by_name(next(n.name for n in graph if n.type_id == "flatten"))
    x = pool2.position[0]
    order = sorted((n for n in graph if abs(n.position[0] - x) < 1), key=lambda n: n.position[1])
    assert [n.name for n in order] == ["relu2", "pool2", new.name, "fc1"]  # reads in flow order
    positions = [n.position for n in graph]
    assert not any(  # and nothing overlaps
        overlaps(a, b) for i, a in enumerate(positions) for b in positions[i + 1 :]
    )
    window.document.undo()  # one step: the new node and the moves
    assert graph.node(fc1.id).position == flatten.position

"""The editor in the states a new user meets: an empty model, new nodes among old ones, a
layout direction per document, and File > New after a run."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog

from dlstudio.analysis.diagnostics import Diagnostic
from dlstudio.gui.canvas.placement import overlaps
from dlstudio.gui.document import EMPTY_MODEL_TEXT
from dlstudio.train import EpochEvent, StepEvent
from tests.gui import fixtures_window
from tests.gui.fixtures_window import REPO_ROOT

window = fixtures_window.shared_window
module_window = fixtures_window.module_window
data_dir = fixtures_window.data_dir

LENET = REPO_ROOT / "templates" / "lenet5.json"


def _no_dialogs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    asked: list[str] = []

    def fake(_parent, title, *_args, **_kwargs):
        asked.append(title)
        return "", ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(fake))
    return asked


def test_empty_model_says_so_and_train_and_export_refuse_it_up_front(window, monkeypatch):
    assert window.document.is_empty
    assert window.problems.note_text == EMPTY_MODEL_TEXT
    assert window.problems.note.isVisible() and window.problems.topLevelItemCount() == 0
    assert "empty" in window.problems_label.text()
    runs_before = len(window.training.store.load_all())
    assert window.training.start() is None
    assert window.training.error_box.windowTitle() == "Nothing to train"
    assert "Input" in window.training.error_box.text()
    assert len(window.training.store.load_all()) == runs_before  # no failed run recorded
    assert window.training.state == "idle"
    asked = _no_dialogs(monkeypatch)
    seen: list[tuple[str, str]] = []
    monkeypatch.setattr(
        "dlstudio.gui.exports.QMessageBox.information",
        lambda _p, title, text: seen.append((title, text)),
    )
    assert window.exports.export_python() is None
    assert window.exports.export_onnx() is None
    assert asked == []  # refused before asking for a file name
    assert seen and seen[0][0] == "Nothing to export" and seen[0][1] == EMPTY_MODEL_TEXT
    # The first layer ends the empty state: the problems panel no longer says so.
    window.add_layer_at_center("input")
    window.document.reanalyze()
    assert window.problems.note_text != EMPTY_MODEL_TEXT
    assert "empty" not in window.problems_label.text()


def _boxes(window) -> list[tuple[str, tuple[float, float]]]:
    return [(n.id, n.position) for n in window.document.graph]


def _assert_no_overlap(window) -> None:
    boxes = _boxes(window)
    for i, (a, pa) in enumerate(boxes):
        for b, pb in boxes[i + 1 :]:
            assert not overlaps(pa, pb, gap=0), f"{a} at {pa} overlaps {b} at {pb}"


def test_new_nodes_never_land_on_existing_ones(window):
    window.files.load_template(LENET, ask=False)
    for type_id in ("dense", "relu", "dropout", "dense"):
        window.add_layer_at_center(type_id)  # palette double-click, search + Enter
        _assert_no_overlap(window)
    graph = window.document.graph
    conv1 = next(n for n in graph if n.name == "conv1")
    window.scene.add_layer("relu", (conv1.position[0] + 90, conv1.position[1] + 35))  # a drop
    _assert_no_overlap(window)
    edge = graph.edges[1]
    assert window.scene.insert_layer_on_wire(edge, "dropout") is not None
    _assert_no_overlap(window)


def test_a_fix_places_its_new_layer_in_free_space(window):
    window.files.load_template(LENET, ask=False)
    graph = window.document.graph
    flatten = next(n for n in graph if n.type_id == "flatten")
    before_flatten = next(e.src.node for e in graph.edges if e.dst.node == flatten.id)
    after_flatten = next(e.dst.node for e in graph.edges if e.src.node == flatten.id)
    window.scene.select_nodes([flatten.id])
    window.scene.delete_selection()
    assert window.scene.connect_ports((before_flatten, "out"), (after_flatten, "in"))
    window.document.reanalyze()
    fixable = [d for d in window.document.analysis.diagnostics if d.fixes]
    assert fixable, "deleting Flatten should offer to insert it again"
    before = set(graph.nodes)
    diagnostic: Diagnostic = fixable[0]
    assert window.apply_fix(diagnostic)
    assert set(graph.nodes) - before  # the fix added a layer
    _assert_no_overlap(window)


def test_layout_direction_belongs_to_each_document(window, tmp_path: Path):
    window.files.load_template(LENET, ask=False)
    window.do_auto_layout("LR")
    assert window.scene.flow == "LR"
    assert window.document.graph.metadata["layout_direction"] == "LR"
    item = window.scene.node_items()[0]
    outputs = [p for p in item.ports.values() if p.is_output]
    assert outputs and outputs[0].pos().x() == pytest.approx(180.0)  # ports on the sides
    saved = tmp_path / "lr.json"
    window.document.save(saved)
    window.files.new()
    assert window.scene.flow == "TB"  # the next file does not inherit it
    window.files.load_template(LENET, ask=False)
    assert window.scene.flow == "TB"
    item = window.scene.node_items()[0]
    outputs = [p for p in item.ports.values() if p.is_output]
    assert outputs[0].pos().y() == pytest.approx(70.0)  # ports on top and bottom
    assert window.files.open_path(saved, ask=False)
    assert window.scene.flow == "LR"
    window.do_auto_layout("TB")
    assert window.scene.flow == "TB"
    window.document.undo()  # one step: direction and positions together
    assert window.scene.flow == "LR"
    assert window.document.graph.metadata["layout_direction"] == "LR"


def test_switching_direction_re_lays_out_and_fits(window, qtbot):
    window.files.load_template(LENET, ask=False)
    window.view.set_zoom(3.0)
    window.do_auto_layout("LR")
    visible = window.view.mapToScene(window.view.viewport().rect()).boundingRect()
    assert visible.contains(window.scene.nodes_rect())  # re-fitted: the whole graph shows


def test_new_clears_the_training_views(window):
    controller = window.training
    window.files.load_template(LENET, ask=False)
    plot = controller.monitor.plot
    for step in range(1, 6):
        plot.add_step(StepEvent(step=step, epoch=1, loss=2.0 / step, lr=1e-3, samples_per_s=1.0))
    plot.add_epoch(
        EpochEvent(epoch=1, step=5, train={"loss": 0.5}, val={"loss": 0.6, "accuracy": 0.8})
    )
    plot.redraw_now()
    controller.panel.show_banner("The last run trained the model as it was at 12:00:00.")
    controller.panel.set_progress(1.0, "Run 1: done.", "100% · done")
    assert plot.step_points > 0 and plot.epoch_points > 0
    window.files.new()
    assert plot.step_points == 0 and plot.epoch_points == 0
    assert plot.raw_curve.getData()[0] is None or len(plot.raw_curve.getData()[0]) == 0
    assert controller.panel.banner.isHidden()
    assert controller.panel.progress.value() == 0
    assert controller.panel.progress_label.text() == "Ready."

"""From the panel: two runs with the same seed give the same bytes; the transfer recipe through
"Start from weights…"; the trainable box; data paths relative to the project file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from PySide6.QtCore import Qt
from safetensors.torch import load_file

pytest_plugins = ["tests.gui.fixtures_training"]


def _run_from_panel(win, qtbot) -> Path:
    panel = win.training.panel
    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    record = win.wait_finished(qtbot)
    assert record.status == "completed", record.message
    return record.weights_path


def test_two_runs_from_the_panel_write_identical_weights(make_window, qtbot, message_boxes):
    win = make_window("iris-mlp", epochs=2, seed=11)
    win.training.panel.threads_spin.setValue(1)
    first = _run_from_panel(win, qtbot).read_bytes()
    second = _run_from_panel(win, qtbot).read_bytes()
    assert first == second
    assert message_boxes.shown == []
    # Results say which split and which epoch's weights they show.
    title = win.training.monitor.confusion.title.text()
    assert "split · weights of epoch 2 (last)" in title
    status = win.training.panel.progress_label.text()
    rate = [e for e in win.events if type(e).__name__ == "EpochEvent"][-1].samples_per_s
    assert "epoch 2 (last) val loss" in status and f"{rate:,.0f} samples/s" in status


def _digits_cnn_window(make_window, graph):
    win = make_window("iris-mlp")
    win.document.replace_graph(graph)
    return win


def test_transfer_recipe_through_start_from_weights(
    make_window, qtbot, tmp_path, monkeypatch, message_boxes
):
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "train"))
    from train_projects import FROZEN_NODES, digits_cnn, parity_transfer, write_parity_data

    win = _digits_cnn_window(make_window, digits_cnn(epochs=3))
    source = _run_from_panel(win, qtbot)
    trained = load_file(str(source))

    folder = tmp_path / "parity"
    folder.mkdir()
    write_parity_data(folder / "parity.npz")
    project = folder / "parity.json"
    from dlstudio.core import save_project

    save_project(parity_transfer("parity.npz"), project)
    win.document.open(project)  # the relative data path starts at the project's folder
    panel = win.training.panel
    monkeypatch.setattr(
        "dlstudio.gui.training.panel.QFileDialog.getOpenFileName",
        lambda *_a, **_k: (str(source), ""),
    )
    qtbot.mouseClick(panel.init_weights_button, Qt.MouseButton.LeftButton)
    assert panel.init_weights == source and panel.init_weights_label.text() == source.name
    record_weights = _run_from_panel(win, qtbot)
    log = win.training.monitor.log.toPlainText()
    assert "loaded 9 tensors" in log and "head: not in the file" in log
    after = load_file(str(record_weights))
    frozen = [k for k in after if k.split(".")[0] in FROZEN_NODES]
    assert "bn1.running_var" in frozen and len(frozen) == 9
    assert all(torch.equal(after[k], trained[k]) for k in frozen)
    epochs = json.loads((record_weights.parent / "run.json").read_text())["epochs"]
    assert epochs[-1]["val"]["accuracy"] >= 0.90


def test_load_weights_into_model_reports_and_sets_the_start(
    make_window, qtbot, tmp_path, monkeypatch
):
    from dlstudio.gui.training import start_weights

    win = make_window("iris-mlp")
    shown: list[str] = []
    monkeypatch.setattr(
        start_weights.QMessageBox, "information", lambda _p, _t, text: shown.append(text)
    )
    monkeypatch.setattr(
        start_weights.QMessageBox, "warning", lambda _p, _t, text: shown.append("! " + text)
    )
    from dlstudio.compile import compile_graph

    module = compile_graph(win.document.graph).module
    state = {k: v for k, v in module.state_dict().items() if k.startswith("fc1.")}
    torch.save(state, tmp_path / "part.pt")
    report = start_weights.load_weights_into_model(win.training, tmp_path / "part.pt")
    assert report is not None and sorted(report.loaded) == ["fc1.bias", "fc1.weight"]
    assert win.training.panel.init_weights == tmp_path / "part.pt"
    assert "fc2: not in the file" in shown[-1]
    torch.save({"other.weight": torch.zeros(1)}, tmp_path / "none.pt")
    assert start_weights.load_weights_into_model(win.training, tmp_path / "none.pt") is None
    assert shown[-1].startswith("! ") and "none of its 1 tensors" in shown[-1]


def test_trainable_box_only_on_layers_with_weights_or_statistics():
    from dlstudio.gui.panels.properties import has_weights_or_statistics

    assert has_weights_or_statistics("dense", None)
    assert has_weights_or_statistics("batchnorm2d", type("I", (), {"param_count": 0})())
    assert not has_weights_or_statistics("relu", None)
    assert not has_weights_or_statistics("flatten", type("I", (), {"param_count": 0})())
    assert not has_weights_or_statistics("dense", type("I", (), {"param_count": 0})())


def test_saving_writes_data_paths_relative_to_the_project(tmp_path):
    from dlstudio.core import load_project
    from dlstudio.gui.document import Document
    from tests.gui.fixtures_training import iris_mlp

    data = tmp_path / "data" / "table.csv"
    data.parent.mkdir()
    data.write_text("a,b\n1,0\n")
    graph = iris_mlp()
    graph.metadata["training"]["dataset"] = str(data)
    doc = Document(graph)
    (tmp_path / "proj").mkdir()
    doc.save(tmp_path / "proj" / "p.json")
    saved = load_project(tmp_path / "proj" / "p.json").metadata["training"]
    assert saved["dataset"] == "../data/table.csv"
    assert load_project(tmp_path / "proj" / "p.json").metadata["training"]["epochs"] == 1
    # Save As into the data folder: the path follows.
    doc.save(tmp_path / "data" / "q.json")
    assert load_project(tmp_path / "data" / "q.json").metadata["training"]["dataset"] == (
        "table.csv"
    )
    assert doc.graph.metadata["training"]["dataset"] == "table.csv"


@pytest.mark.slow
def test_two_processes_from_the_device_list_run_the_launcher(make_window, qtbot, message_boxes):
    from dlstudio.train import EpochEvent, FinishedEvent

    win = make_window("iris-mlp", epochs=2, seed=11)
    panel = win.training.panel
    index = panel.device_combo.findData("cpu*2")
    assert index >= 0 and panel.device_combo.itemText(index) == "2 processes (CPU)"
    panel.device_combo.setCurrentIndex(index)
    assert panel.device() == "cpu" and panel.processes() == 2
    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    assert not panel.pause_button.isEnabled()
    record = win.wait_finished(qtbot, timeout=300_000)
    assert record.status == "completed", (record.message, message_boxes.shown)
    assert [e.epoch for e in win.events if isinstance(e, EpochEvent)] == [1, 2]
    assert [e.reason for e in win.events if isinstance(e, FinishedEvent)] == ["completed"]
    assert record.weights_path.exists() and win.training.monitor.confusion.total == 30

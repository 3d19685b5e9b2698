"""File > Import Model…: a model file becomes a laid-out document whose Placeholders are listed
in the Problems panel, with the imported weights attached."""

from __future__ import annotations

import textwrap

import torch

from dlstudio.compile import compile_graph
from dlstudio.compile.project_weights import load_attached_weights
from dlstudio.core import Edge, PortRef
from tests.gui.fixtures_window import data_dir, module_window  # noqa: F401
from tests.gui.fixtures_window import shared_window as window  # noqa: F401

SOURCE = textwrap.dedent(
    """
    import torch
    from torch import nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 4, 3)
            self.fc = nn.Linear(4 * 6 * 6, 3)

        def forward(self, x):
            return self.fc(torch.roll(torch.relu(self.conv1(x)), 1, dims=2).flatten(1))
    """
)


def test_import_menu_opens_a_laid_out_document_with_problems(window, qtbot, tmp_path):  # noqa: F811
    action = window.action_registry.import_model
    file_menu = window.menuBar().actions()[0].menu()
    assert action in file_menu.actions()
    path = tmp_path / "net.py"
    path.write_text(SOURCE)
    with qtbot.waitSignal(window.model_importer.imported, timeout=60000) as blocker:
        window.model_importer.start(f"{path}:Net", "1,8,8")
    result = blocker.args[0]
    graph = window.document.graph
    assert graph is result.graph
    names = {n.name for n in graph}
    assert {"conv1", "fc"} <= names
    positions = {n.position for n in graph}
    assert len(positions) == len(graph)  # auto layout: no two nodes on one spot
    qtbot.waitUntil(lambda: window.problems.topLevelItemCount() > 0, timeout=10000)
    rows = [
        window.problems.topLevelItem(i).text(0) for i in range(window.problems.topLevelItemCount())
    ]
    assert any("torch.roll" in row for row in rows), rows
    assert "Placeholder" in window.statusBar().currentMessage()
    # Replace the placeholder by an Identity: the weights named by the project load.
    placeholder = next(n for n in graph if n.type_id == "placeholder")
    (wire,) = graph.edges_into(placeholder.id)
    graph.delete_edge(wire)
    graph.update_node(placeholder.id, params={})
    graph.nodes[placeholder.id].type_id = "identity"
    graph.insert_edge(Edge(wire.src, PortRef(placeholder.id, "in")))
    module = compile_graph(graph).module
    report = load_attached_weights(module, graph, None)
    assert report is not None and report.ok
    assert torch.equal(
        module.state_dict()["conv1.weight"], result.weights[next(iter(result.weights))]["weight"]
    )


def test_import_errors_are_shown_not_raised(window, qtbot, data_dir):  # noqa: F811
    window.files.interactive = False
    with qtbot.waitSignal(window.model_importer.failed, timeout=30000) as blocker:
        window.model_importer.start("no_such_module_xyz:make")
    assert "cannot import 'no_such_module_xyz'" in blocker.args[0]
    # A Hugging Face source that is no save_pretrained folder: the reason, in words.
    folder = data_dir / "not-a-model"
    folder.mkdir(parents=True)
    with qtbot.waitSignal(window.model_importer.failed, timeout=30000) as blocker:
        window.model_importer.start(f"hf:{folder}", "", "sequence-classification", 2)
    assert blocker.args[0] == (
        f"{folder} has no config.json: hf: needs a folder written by save_pretrained "
        "(config.json and the weights), or a hub id"
    )


GOOD = textwrap.dedent(
    """
    import torch
    from torch import nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(6, 3)

        def forward(self, x):
            return torch.tanh(self.fc(x))
    """
)


def test_import_is_checked_against_its_source_and_says_so(window, qtbot, tmp_path):  # noqa: F811
    path = tmp_path / "good.py"
    path.write_text(GOOD)
    with qtbot.waitSignal(window.model_importer.imported, timeout=60000) as blocker:
        window.model_importer.start(f"{path}:Net", "6")
    result = blocker.args[0]
    assert "matches its source" in window.statusBar().currentMessage()
    figures = window.document.graph.metadata["import_check"]
    assert figures["ok"] is True and figures["inputs"] == ["batch 1", "batch 3"]
    assert figures["outputs"]["output"]["largest_difference"] <= 1e-4
    assert result.check.ok


def test_import_dialog_tabs_from_field_to_field(qtbot):
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from dlstudio.gui.dialogs.import_model import ImportModelDialog

    dialog = ImportModelDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog)
    dialog.source_edit.setFocus()
    QTest.keyClicks(dialog.source_edit, "model.py:Net")
    QTest.keyClick(dialog.source_edit, Qt.Key.Key_Tab)
    QTest.keyClicks(QApplication.focusWidget(), "1,28,28")  # the user types on without looking
    assert dialog.source() == "model.py:Net" and dialog.input_shape() == "1,28,28"
    order = []
    for _ in range(4):
        QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        order.append(QApplication.focusWidget().text())
    assert order == ["OK", "Cancel", "Browse…", "model.py:Net"]


def test_hugging_face_import_brings_mask_and_tokenizer_and_exports_to_onnx(
    window,  # noqa: F811
    qtbot,
    tmp_path,
    monkeypatch,
):
    """The course's text model in the window: hf:FOLDER imports with its attention mask, token
    types and tokenizer; Export > ONNX gives a file whose inputs are input_ids and
    attention_mask (and token_type_ids) at any length, and onnxruntime on padded batches of two
    lengths matches transformers' own model."""
    import sys
    from pathlib import Path

    import numpy as np
    import onnxruntime

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "train"))
    from hf_fixtures import make_wordpiece_tokenizer

    from dlstudio.compile.importers.loader import prepare_torchvision

    prepare_torchvision()
    from transformers import AutoTokenizer, BertConfig, BertModel

    folder = make_wordpiece_tokenizer(tmp_path / "hub")
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
    )
    model = BertModel(config).eval()
    model.save_pretrained(str(folder))
    with qtbot.waitSignal(window.model_importer.imported, timeout=120000):
        window.model_importer.start(f"hf:{folder}")
    graph = window.document.graph
    inputs = [n.name for n in graph if n.type_id == "input"]
    assert inputs == ["input_ids", "attention_mask", "token_type_ids"]
    assert "matches its source" in window.statusBar().currentMessage()
    copied = Path(graph.metadata["tokenizer"])
    assert (
        AutoTokenizer.from_pretrained(str(copied))("the film")["input_ids"]
        == (tokenizer("the film")["input_ids"])
    )
    path = tmp_path / "bert.onnx"
    from PySide6.QtWidgets import QMessageBox

    shown = []
    monkeypatch.setattr(QMessageBox, "information", lambda _w, title, text: shown.append(text))
    with qtbot.waitSignal(window.exports.finished, timeout=120000) as done:
        window.exports.export_onnx(path, weights="initial")
    assert "parity OK" in done.args[0], shown
    assert "Weights: the project's weights" in shown[-1]  # the imported ones, not random
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == inputs
    lengths = set()
    for texts in (
        ["the film was great", "our trip was really dull"],
        ["so dull", "the meal was lovely"],
    ):
        feeds = {k: np.array(v, dtype=np.int64) for k, v in tokenizer(texts, padding=True).items()}
        assert (feeds["attention_mask"] == 0).any()
        lengths.add(feeds["input_ids"].shape[1])
        ours = session.run(None, feeds)[0]
        with torch.no_grad():
            theirs = model(**{k: torch.from_numpy(v) for k, v in feeds.items()})
        assert np.allclose(ours, theirs.last_hidden_state.numpy(), atol=1e-4)
    assert len(lengths) == 2


def test_import_dialog_offers_the_head_and_labels_for_hugging_face_sources(
    qtbot,
    tmp_path,
    monkeypatch,
    data_dir,  # noqa: F811 (the folder picked is remembered in these settings)
):
    """The head (--task) shows for hf: sources only, the labels (--num-labels) for a
    classification head only; picking a save_pretrained folder's config.json gives hf:FOLDER."""
    from PySide6.QtWidgets import QFileDialog

    from dlstudio.gui.dialogs.import_model import ImportModelDialog

    dialog = ImportModelDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    shown = lambda: (  # noqa: E731
        dialog.task_combo.isVisibleTo(dialog),
        dialog.labels_spin.isVisibleTo(dialog),
    )
    dialog.source_edit.setText("model.py:Net")
    assert shown() == (False, False)
    assert (dialog.task(), dialog.num_labels()) == ("base", 0)
    folder = tmp_path / "bert"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    monkeypatch.setattr(
        QFileDialog,
        "getOpenFileName",
        staticmethod(lambda *_a, **_k: (str(folder / "config.json"), "")),
    )
    dialog.browse_button.click()
    assert dialog.source() == f"hf:{folder}"
    assert shown() == (True, False)
    assert (dialog.task(), dialog.num_labels()) == ("base", 0)
    dialog.task_combo.setCurrentIndex(dialog.task_combo.findData("sequence-classification"))
    assert shown() == (True, True)
    dialog.labels_spin.setValue(3)
    assert (dialog.task(), dialog.num_labels()) == ("sequence-classification", 3)
    dialog.task_combo.setCurrentIndex(dialog.task_combo.findData("causal-lm"))
    assert shown() == (True, False)
    assert (dialog.task(), dialog.num_labels()) == ("causal-lm", 0)
    dialog.source_edit.setText("net.onnx")  # the choice applies to hf: sources only
    assert shown() == (False, False) and dialog.task() == "base"


def test_the_dialogs_head_and_labels_reach_the_import(window, qtbot, monkeypatch):  # noqa: F811
    """What the dialog says is what the import gets (2 labels is transformers' default, so the
    course story alone would not notice the labels going astray)."""
    from dlstudio.gui.dialogs.import_model import ImportModelDialog

    def fill_and_accept(dialog):
        dialog.source_edit.setText("hf:some-folder")
        dialog.task_combo.setCurrentIndex(dialog.task_combo.findData("sequence-classification"))
        dialog.labels_spin.setValue(5)
        return ImportModelDialog.DialogCode.Accepted

    started = []
    monkeypatch.setattr(ImportModelDialog, "exec", fill_and_accept)
    monkeypatch.setattr(window.model_importer, "start", lambda *args: started.append(args))
    window.action_registry.import_model.trigger()
    assert started == [("hf:some-folder", "", "sequence-classification", 5)]

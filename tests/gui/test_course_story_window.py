"""The course's text story in the window, as a user does it: File > Import Model… on a small
saved BERT folder with a 2-label head, Freeze weights on the encoder from its context menu, a
CSV of labelled sentences picked as the data set (read by the tokenizer the import brought),
Start, typed sentences classified in the training panel, and Export > ONNX checked with
onnxruntime on padded batches of two lengths.

References: the generated labels (what the sentences are), transformers' tokenizer, the
weights the import wrote (the frozen encoder must keep them) and onnxruntime."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import torch
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from tests.gui.fixtures_window import data_dir, window  # noqa: F401

TRAIN_TESTS = Path(__file__).resolve().parents[1] / "train"


def _hf_fixtures():
    if str(TRAIN_TESTS) not in sys.path:
        sys.path.insert(0, str(TRAIN_TESTS))
    import hf_fixtures

    return hf_fixtures


def _fill_import_dialog(source: str, seen: dict) -> None:
    """Type into the modal Import Model dialog as a user does, then press OK (Cancel, with the
    failure in ``seen["error"]``, when the dialog is not as expected: the test must not hang)."""
    from dlstudio.gui.dialogs.import_model import ImportModelDialog

    dialog = QApplication.activeModalWidget()
    try:
        assert isinstance(dialog, ImportModelDialog), dialog
        seen["head shown before hf:"] = dialog.task_combo.isVisibleTo(dialog)
        dialog.source_edit.setFocus()
        QTest.keyClicks(dialog.source_edit, source)
        seen["head shown"] = dialog.task_combo.isVisibleTo(dialog)
        seen["labels shown for base"] = dialog.labels_spin.isVisibleTo(dialog)
        dialog.task_combo.setCurrentIndex(dialog.task_combo.findData("sequence-classification"))
        seen["labels shown"] = dialog.labels_spin.isVisibleTo(dialog)
        dialog.labels_spin.setValue(2)
        QTest.keyClick(dialog, Qt.Key.Key_Return)  # OK is the default button
    except BaseException as exc:  # reported by the test
        seen["error"] = exc
        if dialog is not None:
            dialog.reject()


def test_bert_story_in_the_window(window, qtbot, tmp_path, monkeypatch):  # noqa: F811
    fixtures = _hf_fixtures()
    from dlstudio.compile.importers.loader import prepare_torchvision

    prepare_torchvision()  # transformers imports torchvision
    from transformers import AutoTokenizer

    hub = fixtures.make_small_bert_hub(tmp_path / "hub")
    csv = fixtures.write_sentences_csv(tmp_path / "reviews.csv", 240, seed=1)
    messages: list[str] = []
    for name in ("information", "warning", "critical"):
        monkeypatch.setattr(QMessageBox, name, lambda _w, _t, text, *a, **k: messages.append(text))

    # 1. File > Import Model…: hf:FOLDER with a sequence-classification head of 2 labels.
    seen: dict = {}
    torch.manual_seed(0)
    QTimer.singleShot(0, lambda: _fill_import_dialog(f"hf:{hub}", seen))
    imports: list = []
    window.model_importer.imported.connect(imports.append)
    window.action_registry.import_model.trigger()
    assert "error" not in seen, seen
    qtbot.waitUntil(lambda: bool(imports), timeout=120_000)
    assert seen == {
        "head shown before hf:": False,
        "head shown": True,
        "labels shown for base": False,
        "labels shown": True,
    }
    result = imports[0]
    graph = window.document.graph
    assert [n.name for n in graph if n.type_id == "input"] == [
        "input_ids",
        "attention_mask",
        "token_type_ids",
    ]
    assert "matches its source" in window.statusBar().currentMessage()
    imported = result_state(result)
    assert imported["classifier.weight"].shape[0] == 2  # the new 2-label head
    assert Path(graph.metadata["tokenizer"]).is_dir()

    # 2. Freeze the encoder: its context menu's "Freeze weights".
    from dlstudio.gui.canvas.menus import context_menu

    bert = next(n for n in graph if n.name == "bert")
    window.scene.select_nodes([bert.id])
    menu = context_menu(window.scene, window.scene.node_item(bert.id).sceneBoundingRect().center())
    next(a for a in menu.actions() if a.objectName() == "freeze").trigger()
    assert not graph.node(bert.id).trainable

    # 3. The CSV as the data set (Data File…), a few epochs, Start.
    panel = window.training.panel
    monkeypatch.setattr(
        QFileDialog, "getOpenFileName", staticmethod(lambda *_a, **_k: (str(csv), ""))
    )
    panel.browse_file_action.trigger()
    assert graph.metadata["training"]["dataset"] == str(csv)
    panel.epochs_spin.setValue(5)
    panel.batch_spin.setValue(16)
    panel.optimizer_combo.setCurrentText("adam")
    panel.lr_spin.setValue(0.003)
    training = window.training
    events: list = []
    training.event_received.connect(events.append)
    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    if training.waiting_for_data:
        qtbot.waitUntil(lambda: not training.waiting_for_data, timeout=60_000)
    if training.is_running:
        with qtbot.waitSignal(training.run_finished, timeout=120_000):
            pass
    record = training.record
    assert record is not None and record.status == "completed", (record, messages)
    epochs = [e for e in events if type(e).__name__ == "EpochEvent"]
    assert len(epochs) == 5 and epochs[-1].val["accuracy"] >= 0.9, epochs[-1].val
    # ... and the Training Monitor's log, where the user reads it, says so.
    log = training.monitor.log.toPlainText()
    shown = re.search(r"Epoch 5: .*val accuracy ([\d.]+)", log)
    assert shown is not None and float(shown.group(1)) >= 0.9, log
    trained = training.trained[record.run_id]
    state = trained.state_dict()
    frozen = [k for k in state if k.startswith("bert.")]
    assert frozen and all(torch.equal(state[k], imported[k]) for k in frozen)
    assert not torch.equal(state["classifier.weight"], imported["classifier.weight"])

    # 4. Typed sentences, classified by the training panel's Predict.
    tools = panel.data_tools
    right = 0
    typed = fixtures.labelled_sentences(6, seed=123)
    for text, label in typed:
        tools.text_edit.setText(text)
        with qtbot.waitSignal(tools.prediction_finished, timeout=30_000) as shown:
            qtbot.mouseClick(tools.predict_button, Qt.MouseButton.LeftButton)
        right += shown.args[0].startswith(label)
    assert right >= 5, right

    # 5. Export > ONNX with the trained weights; onnxruntime agrees with the trained model on
    # padded batches of two lengths.
    import onnxruntime

    path = tmp_path / "sentiment.onnx"
    with qtbot.waitSignal(window.exports.finished, timeout=120_000) as exported:
        window.exports.export_onnx(path, weights="trained")
    assert "parity OK" in exported.args[0], messages
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    assert names == ["input_ids", "attention_mask", "token_type_ids"]
    tokenizer = AutoTokenizer.from_pretrained(graph.metadata["tokenizer"])
    trained.eval()
    lengths = set()
    for texts in (
        ["the film was great", "our trip was really dreadful and quite long"],
        ["so dull", "the show was lovely", "this book was dull"],
    ):
        encoded = tokenizer(texts, padding=True, return_tensors="np")
        feeds = {n: encoded[n].astype(np.int64) for n in names}
        assert (feeds["attention_mask"] == 0).any()  # padded rows
        lengths.add(feeds["input_ids"].shape[1])
        with torch.no_grad():
            reference = trained(*(torch.from_numpy(feeds[n]) for n in names)).numpy()
        assert np.allclose(session.run(None, feeds)[0], reference, atol=1e-4)
    assert len(lengths) == 2


def result_state(result) -> dict[str, torch.Tensor]:
    """The imported weights, by the project's state_dict keys."""
    from dlstudio.compile.importers.project import state_dict_of

    return state_dict_of(result)

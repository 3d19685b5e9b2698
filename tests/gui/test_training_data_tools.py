"""The training panel's data tools in the window: a text classifier trained on a CSV read by
the project's tokenizer, with TensorBoard logs, then typed sentences classified; and the
preview of augmented images."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import shiboken6
from PIL import Image
from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QApplication

from dlstudio.core import load_project
from dlstudio.layers.validation import check_node

pytest_plugins = ["tests.gui.fixtures_training"]

TRAIN_TESTS = Path(__file__).resolve().parents[1] / "train"


@pytest.fixture
def window(qtbot, training_data_dir):
    """``window(graph)``: a shown training window on ``graph``; closed at teardown."""
    from tests.gui.fixtures_training import TrainingWindow

    made = []

    def make(graph):
        win = TrainingWindow(graph)
        win.resize(1300, 850)
        win.show()
        qtbot.waitExposed(win)
        made.append(win)
        return win

    yield make
    for win in made:
        if shiboken6.isValid(win):
            win.training.shutdown()
            win.close()
            win.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def _hf_fixtures():
    if str(TRAIN_TESTS) not in sys.path:
        sys.path.insert(0, str(TRAIN_TESTS))
    import hf_fixtures

    return hf_fixtures


def test_text_classifier_with_tokenizer_tensorboard_and_typed_text(
    window, qtbot, tmp_path, message_boxes
) -> None:
    from transformers import AutoTokenizer

    fixtures = _hf_fixtures()
    tokenizer = fixtures.make_wordpiece_tokenizer(tmp_path / "tokenizer")
    vocab = len(AutoTokenizer.from_pretrained(str(tokenizer)))
    csv = fixtures.write_sentences_csv(tmp_path / "sentences.csv", 240, seed=1)
    templates = Path(__file__).resolve().parents[2] / "templates"
    graph = load_project(templates / "transformer-classifier.json", node_checker=check_node)
    for node in graph:
        if node.type_id == "input":
            node.params["vocab_size"] = vocab
        if node.type_id == "embedding":
            node.params["num_embeddings"] = vocab
    graph.metadata["tokenizer"] = str(tokenizer)
    graph.metadata["training"].update(
        dataset=str(csv), dataset_options={}, epochs=5, batch_size=16, lr=0.003
    )
    win = window(graph)
    tools = win.training.panel.data_tools
    assert not tools.predict_button.isEnabled()  # nothing trained yet
    tools.tensorboard_check.setChecked(True)
    qtbot.mouseClick(win.training.panel.start_button, Qt.MouseButton.LeftButton)
    record = win.wait_finished(qtbot)
    assert record.status == "completed", record.message
    assert message_boxes.shown == []

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(record.folder / "tensorboard"))
    events.Reload()
    accuracy = events.Scalars("epoch/val_accuracy")
    assert len(accuracy) == 5 and accuracy[-1].value >= 0.9

    assert tools.predict_button.isEnabled()
    for text, label in fixtures.labelled_sentences(4, seed=31):
        tools.text_edit.setText(text)
        with qtbot.waitSignal(tools.prediction_finished, timeout=30_000) as shown:
            qtbot.mouseClick(tools.predict_button, Qt.MouseButton.LeftButton)
        assert shown.args[0].startswith(label), (text, shown.args[0])


def test_augmentation_preview_shows_originals_and_changed_copies(window, qtbot, tmp_path) -> None:
    from tests.gui.fixtures_training import iris_mlp

    rng = np.random.default_rng(0)
    for label in ("a", "b"):
        (tmp_path / "pics" / label).mkdir(parents=True)
        for i in range(4):
            pixels = rng.integers(0, 256, size=(20, 20, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / "pics" / label / f"{i}.png")
    graph = iris_mlp(
        dataset=str(tmp_path / "pics"),
        dataset_options={"size": 16, "crop_scale": [0.3, 0.6], "flip": 1.0},
    )
    win = window(graph)
    tools = win.training.panel.data_tools
    with qtbot.waitSignal(tools.preview_finished, timeout=30_000) as shown:
        qtbot.mouseClick(tools.preview_button, Qt.MouseButton.LeftButton)
    dialog = shown.args[0]
    assert dialog is not None and len(dialog.images) == 2 * 6
    first, changed = dialog.images[0].pixmap().toImage(), dialog.images[1].pixmap().toImage()
    assert first.size() == changed.size() and first != changed
    dialog.close()

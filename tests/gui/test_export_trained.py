"""Export means the model the user sees: after a run, Export > ONNX, Python and Weights write the
trained weights by default and say which weights they wrote."""

from __future__ import annotations

import graph_builders
import numpy as np
import pytest
import torch
from PySide6.QtWidgets import QMessageBox

from dlstudio.core.commands import SetParam
from tests.gui import fixtures_window
from tests.gui.fixtures_window import answer_message_boxes

window = fixtures_window.window
data_dir = fixtures_window.data_dir


def _train_iris(window, qtbot) -> torch.nn.Module:
    graph = graph_builders.iris_mlp()
    graph.metadata["training"] = {"dataset": "iris", "epochs": 1, "batch_size": 16, "lr": 0.05}
    window.document.replace_graph(graph)
    controller = window.training
    record = controller.start()
    assert record is not None
    with qtbot.waitSignal(controller.run_finished, timeout=60_000):
        pass
    return controller.trained[record.run_id]


def _click_default_button(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The weights question is answered by its default button (Enter); its texts are kept."""
    asked: list[str] = []

    def exec_(box: QMessageBox) -> int:
        asked.append(box.text())
        box.defaultButton().click()
        return 0

    monkeypatch.setattr(QMessageBox, "exec", exec_)
    return asked


def test_export_after_training_writes_the_trained_weights(window, qtbot, tmp_path, monkeypatch):
    ort = pytest.importorskip("onnxruntime")
    trained = _train_iris(window, qtbot)
    asked = _click_default_button(monkeypatch)
    seen = answer_message_boxes(monkeypatch, QMessageBox.StandardButton.Ok)

    handle = window.exports.export_onnx(tmp_path / "iris.onnx")
    with qtbot.waitSignal(handle.finished, timeout=120_000):
        pass
    assert asked and "trained weights of run" in asked[0]
    assert "Weights: trained weights of run" in seen[-1][1]
    # onnxruntime's outputs are the trained model's, not the seed-initialised model's.
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    session = ort.InferenceSession(str(tmp_path / "iris.onnx"))
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    with torch.no_grad():
        want = trained.eval()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, want, atol=1e-4)

    # Weights and Python (code plus .safetensors beside it) hold the trained tensors too.
    from safetensors.torch import load_file

    handle = window.exports.export_weights(tmp_path / "iris.safetensors")
    with qtbot.waitSignal(handle.finished, timeout=60_000):
        pass
    handle = window.exports.export_python(tmp_path / "iris_code.py")
    with qtbot.waitSignal(handle.finished, timeout=60_000):
        pass
    assert len(asked) == 3
    for path in (tmp_path / "iris.safetensors", tmp_path / "iris_code.safetensors"):
        written = load_file(str(path))
        assert all(torch.equal(written[k], v) for k, v in trained.state_dict().items())
    assert "iris_code.safetensors" in seen[-1][1]

    # Choosing Initial writes other weights and says so.
    handle = window.exports.export_weights(tmp_path / "initial.safetensors", weights="initial")
    with qtbot.waitSignal(handle.finished, timeout=60_000):
        pass
    initial = load_file(str(tmp_path / "initial.safetensors"))
    assert not torch.equal(initial["fc1.weight"], trained.state_dict()["fc1.weight"])
    assert "Weights: initial weights" in seen[-1][1]


def test_trained_weights_follow_the_drawing(window, qtbot, tmp_path, monkeypatch):
    _train_iris(window, qtbot)
    source = window.exports.trained_weights
    assert source is not None and source(window.document.graph) is not None
    # Moving a node keeps them; a new layer size does not fit them, so they are not offered.
    graph = window.document.graph
    fc1 = graph.node_by_name("fc1")
    graph.update_node(fc1.id, position=(fc1.position[0] + 300, fc1.position[1]))
    assert source(graph) is not None
    window.document.push(SetParam(fc1.id, "units", 8))
    assert source(window.document.graph) is None
    asked = _click_default_button(monkeypatch)
    seen = answer_message_boxes(monkeypatch, QMessageBox.StandardButton.Ok)
    handle = window.exports.export_weights(tmp_path / "edited.safetensors")
    with qtbot.waitSignal(handle.finished, timeout=60_000):
        pass
    assert asked == []  # nothing trained fits: no question
    assert "Weights: initial weights" in seen[-1][1]

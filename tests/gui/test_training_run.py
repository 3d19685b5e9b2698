"""A user opens the MLP template, presses Start, watches the curves and gets results."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt

from dlstudio.gui.training.evaluation import Predictions
from dlstudio.train import EpochEvent, FinishedEvent, StepEvent
from dlstudio.train.health import HealthEvent

pytest_plugins = ["tests.gui.fixtures_training"]


def test_start_from_panel_trains_plots_and_shows_results(
    make_window, qtbot, tmp_path, message_boxes
):
    win = make_window("mlp-mnist", epochs=1, batch_size=64)
    controller = win.training
    panel = controller.panel
    assert panel.dataset_combo.currentData() == "digits"  # the template's own data set

    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    assert controller.is_running
    assert "as it was at" in panel.banner.text()
    assert not panel.start_button.isEnabled() and panel.stop_button.isEnabled()
    first = win.wait_event(qtbot, StepEvent)
    assert first.loss > 0
    record = win.wait_finished(qtbot)

    finished = [e for e in win.events if isinstance(e, FinishedEvent)]
    assert [f.reason for f in finished] == ["completed"]
    assert any(isinstance(e, EpochEvent) for e in win.events)
    assert any(isinstance(e, HealthEvent) for e in win.events)
    plot = controller.monitor.plot
    assert plot.step_points >= 1 and plot.epoch_points == 1
    controller.monitor.setCurrentWidget(plot)
    plot.redraw_now()
    assert len(plot.smooth_curve.getData()[0]) == plot.step_points
    assert panel.state == "idle" and panel.start_button.isEnabled()
    assert message_boxes.shown == []
    assert "Data: digits: 1797 samples" in controller.monitor.log.toPlainText()

    # The confusion matrix counts every validation sample once (digits: 1797 * 0.2).
    assert controller.monitor.confusion.total == round(1797 * 0.2)
    assert len(controller.monitor.samples.cards) > 0
    # Health badges sit on the canvas nodes that were measured.
    assert win.scene.node_item("n2") is not None
    assert "n2" in controller.overlay.badges

    # The run is kept on disk: snapshot, settings, metrics, weights; the history lists it.
    saved = json.loads((record.folder / "run.json").read_text())
    assert saved["status"] == "completed" and saved["settings"]["dataset"] == "digits"
    assert len(saved["epochs"]) == 1 and saved["steps"]
    assert (record.folder / "model.json").exists() and record.weights_path.exists()
    assert (record.folder / "checkpoint.pt").exists()
    assert controller.monitor.history.records[0].run_id == record.run_id

    # Evaluate on the test split (digits has none: the validation split says so).
    controller.evaluate()
    with qtbot.waitSignal(controller.evaluation_finished, timeout=30_000) as blocker:
        pass
    result = blocker.args[0]
    assert isinstance(result, Predictions) and "validation" in result.split
    assert sum(map(sum, result.confusion)) == result.size

    # Export the trained model as Python + weights: the weights are the trained ones.
    target = tmp_path / "digits_mlp.py"
    handle = controller.export_trained(record, target)
    with qtbot.waitSignal(handle.finished, timeout=30_000):
        pass
    assert target.exists() and target.with_suffix(".safetensors").exists()
    from safetensors.torch import load_file

    exported = load_file(str(target.with_suffix(".safetensors")))
    trained = controller.trained[record.run_id].state_dict()
    assert all((exported[k] == trained[k]).all() for k in trained)
    assert message_boxes.titles() == ["Trained model exported"]

    # ONNX: onnxruntime gives the trained model's outputs (not a freshly initialised one's).
    onnx_path = tmp_path / "digits_mlp.onnx"
    handle = controller.export_trained(record, onnx_path)
    with qtbot.waitSignal(handle.finished, timeout=60_000):
        pass
    assert message_boxes.titles()[-1] == "Trained model exported", message_boxes.shown[-1]
    import onnxruntime
    import torch

    x = torch.randn(4, 784)
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    (onnx_out,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    with torch.no_grad():
        expected = controller.trained[record.run_id](x).numpy()
    assert abs(onnx_out - expected).max() < 1e-4

"""The data set before training: the picker takes files and folders, the preview shows samples
and class counts, a mismatch offers its fixes as buttons, and Train (F5) shows the problem at
once instead of failing in the worker."""

from __future__ import annotations

import threading
import time

import graph_builders
from PIL import Image
from PySide6.QtWidgets import QFileDialog, QMessageBox, QPushButton

from dlstudio.core.commands import SetMetadata
from dlstudio.gui.training import data_check as data_check_module
from dlstudio.gui.training.data_check import check_data
from dlstudio.train import StepEvent

pytest_plugins = ["tests.gui.fixtures_training"]


def _report(win, qtbot):
    check = win.training.data_check
    qtbot.waitUntil(lambda: check.current() is not None, timeout=30_000)
    return check.current()


def test_preview_shows_samples_shapes_and_class_counts(make_window, qtbot):
    win = make_window("lenet5")
    report = _report(win, qtbot)
    box = win.training.panel.data_box
    assert report.errors == [] and report.error == ""
    assert len(box.sample_labels) == 5
    assert all(not label.pixmap().isNull() for label in box.sample_labels)
    assert box.sample_labels[0].pixmap().width() == 36
    assert "1,797 samples" in box.summary_label.text()
    assert "image (N, 1, 28, 28) float32" in box.summary_label.text()
    # scikit-learn's digits hold 178 zeros and 182 ones.
    assert box.classes_label.text().startswith("10 classes: 0: 178 · 1: 182")
    assert not box.problem_label.isVisibleTo(box) and box.fix_buttons == []


def test_a_mismatch_offers_its_fix_as_a_button(make_window, qtbot):
    win = make_window("lenet5", dataset_options={})
    report = _report(win, qtbot)
    box = win.training.panel.data_box
    assert "digits gives (N, 1, 8, 8) but image expects (N, 1, 28, 28)" in report.errors[0].message
    assert box.problem_label.isVisibleTo(box)
    assert [b.text() for b in box.fix_buttons] == [
        "Resize the images to 28x28",
        "Set the Input shape to (1, 8, 8)",
    ]
    box.fix_buttons[0].click()
    assert win.document.graph.metadata["training"]["dataset_options"] == {"resize": 28}
    assert win.training.panel.options_edit.text() == "resize=28"
    report = _report(win, qtbot)
    assert report.errors == [] and "(N, 1, 28, 28)" in report.shapes
    win.document.undo()  # one undoable edit
    assert win.document.graph.metadata["training"]["dataset_options"] == {}


def test_train_with_an_unsuitable_data_set_shows_the_problem_and_fix_at_once(make_window, qtbot):
    win = make_window("lenet5", dataset_options={}, epochs=1, batch_size=64)
    controller = win.training
    controller.monitor.setCurrentWidget(controller.monitor.log)
    began = time.perf_counter()
    win.training_ui.actions["train"].trigger()  # F5
    assert time.perf_counter() - began < 5  # no compiling, no run: the check alone
    assert not controller.is_running and controller.record is None
    assert controller.monitor.currentWidget() is controller.monitor.log  # nothing rearranged
    box = controller.data_problem_box
    assert box is not None and box.isVisible()
    assert box.windowTitle() == "The data set does not fit the model"
    assert "turn on resize to 28x28" in box.text()
    fix = next(b for b in box.findChildren(QPushButton) if b.text() == "Resize the images to 28x28")
    fix.click()  # applies the fix, checks the data again (on a worker) and trains
    qtbot.waitUntil(lambda: controller.is_running, timeout=30_000)
    assert controller.monitor.currentWidget() is controller.monitor.plot  # the curves, in view
    win.wait_event(qtbot, StepEvent)
    win.wait_finished(qtbot)
    assert controller.record.status == "completed"


def test_a_data_set_not_downloaded_yet_offers_download_at_once(make_window, qtbot):
    win = make_window("lenet5", dataset="mnist", dataset_options={})
    controller = win.training
    box = controller.panel.data_box
    assert box.download_button.isVisibleTo(box)
    assert box.download_button.text() == "Download MNIST (11 MB)"
    win.training_ui.actions["train"].trigger()
    prompt = controller.data_problem_box
    assert prompt.windowTitle() == "The data set cannot be loaded"
    assert "download=true" in prompt.text() and "download: true" not in prompt.text()
    assert any(b.text() == "Download" for b in prompt.findChildren(QPushButton))
    prompt.done(QMessageBox.StandardButton.Cancel)


def test_picker_takes_an_image_folder(make_window, qtbot, tmp_path, monkeypatch):
    for name, colour in (("cats", (250, 200, 30)), ("dogs", (20, 60, 240))):
        (tmp_path / "pets" / name).mkdir(parents=True)
        for i in range(4):
            Image.new("RGB", (30 + i, 30), colour).save(tmp_path / "pets" / name / f"{i}.png")
    win = make_window("lenet5")
    panel = win.training.panel
    monkeypatch.setattr(
        QFileDialog, "getExistingDirectory", staticmethod(lambda *_a, **_k: str(tmp_path / "pets"))
    )
    panel.browse_folder_action.trigger()
    assert win.document.graph.metadata["training"]["dataset"] == str(tmp_path / "pets")
    assert panel.dataset_combo.currentData() == str(tmp_path / "pets")
    report = _report(win, qtbot)
    # 3x32x32 colour images for a 1x28x28 Input: the fix makes them grey 28x28.
    assert "image (N, 3, 32, 32)" in report.shapes
    assert report.classes == "2 classes: cats: 4 · dogs: 4"
    box = panel.data_box
    assert box.fix_buttons[0].text() == "Resize the images to 28x28 and grey"
    box.fix_buttons[0].click()
    assert win.document.graph.metadata["training"]["dataset_options"] == {"size": 28, "channels": 1}
    report = _report(win, qtbot)
    assert "image (N, 1, 28, 28)" in report.shapes
    # LeNet's 10 scores for 2 classes: a warning with its fix.
    assert "set the last layer's output size to 2" in report.problems[0].message
    assert box.fix_buttons[0].text() == "Set fc3 to 2 outputs"
    assert panel.browse_file_action.text().startswith("Data File")


def test_another_built_in_data_set_keeps_only_the_options_it_knows(make_window):
    win = make_window("mlp-mnist")  # digits with resize=28, flatten=true
    panel = win.training.panel
    panel.dataset_combo.setCurrentIndex(panel.dataset_combo.findData("shapes"))
    panel.dataset_combo.activated.emit(panel.dataset_combo.currentIndex())
    assert win.document.graph.metadata["training"]["dataset"] == "shapes"
    assert win.document.graph.metadata["training"]["dataset_options"] == {}
    panel.options_edit.setText("size=28, n_samples=50")
    panel.options_edit.editingFinished.emit()
    panel.dataset_combo.setCurrentIndex(panel.dataset_combo.findData("digits"))
    panel.dataset_combo.activated.emit(panel.dataset_combo.currentIndex())
    assert win.document.graph.metadata["training"]["dataset_options"] == {}


def test_f5_checks_the_data_set_on_a_worker_with_a_busy_bar(make_window, qtbot, monkeypatch):
    win = make_window("iris-mlp", epochs=1)
    controller = win.training
    win.training_ui.panel_dock.hide()  # no check in the background: F5 must ask for one
    win.document.push(SetMetadata("training", {**controller.panel.metadata(), "epochs": 2}))
    assert controller.data_check.current() is None
    threads: list[threading.Thread] = []

    def recording_check(*args, **kwargs):
        threads.append(threading.current_thread())
        return check_data(*args, **kwargs)

    monkeypatch.setattr(data_check_module, "check_data", recording_check)
    panel = controller.panel
    win.training_ui.actions["train"].trigger()  # F5
    assert not controller.is_running and controller.waiting_for_data
    assert panel.progress.maximum() == 0  # the busy bar
    assert panel.progress_label.text() == "Checking the data set…"
    assert not panel.start_button.isEnabled()
    with qtbot.waitSignal(controller.run_started, timeout=30_000):
        pass  # the report came, it fits: the run starts by itself
    assert threads and threading.main_thread() not in threads
    assert panel.progress.maximum() == 1000
    win.wait_finished(qtbot)
    assert controller.record.status == "completed"


def test_another_project_while_f5_checks_starts_no_run(make_window, qtbot):
    win = make_window("iris-mlp", epochs=1)
    controller = win.training
    win.training_ui.panel_dock.hide()
    win.document.push(SetMetadata("training", {**controller.panel.metadata(), "epochs": 2}))
    win.training_ui.actions["train"].trigger()
    assert controller.waiting_for_data
    win.document.replace_graph(graph_builders.iris_mlp())  # File > New or Open, say
    assert not controller.waiting_for_data and controller.panel.start_button.isEnabled()
    qtbot.wait(800)  # the check's report arrives: nothing starts
    assert not controller.is_running and controller.record is None


def test_a_hidden_panel_loads_no_data_until_it_is_shown(make_window, qtbot):
    win = make_window("lenet5")
    controller = win.training
    _report(win, qtbot)
    win.training_ui.panel_dock.hide()
    panel = controller.panel
    panel.options_edit.setText("resize=16")
    panel.options_edit.editingFinished.emit()
    qtbot.wait(700)  # longer than the check's quiet time
    assert controller.data_check.current() is None and controller.data_check.task is None
    win.training_ui.panel_dock.show()
    report = _report(win, qtbot)
    assert "(N, 1, 16, 16)" in report.shapes

"""Shortcuts keep working after a dialog closes: the window it came from is active again."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QFileDialog

from dlstudio.gui.dialogs.template_gallery import TemplateGallery
from tests.gui import fixtures_window

window = fixtures_window.window
data_dir = fixtures_window.data_dir


def test_ctrl_shift_n_works_after_a_file_dialog_closes(window, qtbot, monkeypatch):
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    dialog = QFileDialog(window, "Open project")
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog)
    QTimer.singleShot(50, dialog.reject)  # the user presses Esc
    dialog.open()
    dialog.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=1000)

    opened: list[bool] = []
    monkeypatch.setattr(TemplateGallery, "exec", lambda self: opened.append(True) or 0)
    QTest.keyClick(
        QApplication.focusWidget() or window,
        Qt.Key.Key_N,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert opened == [True]

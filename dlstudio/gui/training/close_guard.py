"""Closing the window while a run trains: ask first, then stop the run cleanly or wait for it.

The question offers what a user may mean: stop the run now (its last checkpoint and the weights
so far are kept) and close; keep training and close the window when the run ends; or cancel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QMainWindow, QMessageBox

if TYPE_CHECKING:
    from dlstudio.gui.training.controller import TrainingController

STOP = "stop"
KEEP = "keep"
CANCEL = "cancel"


def ask_about_run(window: QMainWindow, controller: TrainingController) -> str:
    """Ask what to do with the running run: :data:`STOP`, :data:`KEEP` or :data:`CANCEL`."""
    record = controller.record
    what = f"{record.model_name} ({record.run_id})" if record else "A model"
    box = QMessageBox(window)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Training is running")
    box.setText(f"{what} is still training. Quit anyway?")
    box.setInformativeText(
        "Stop and Quit ends the run after the current batch and keeps its last checkpoint and "
        "weights in the run history. Keep Training closes the window when the run ends."
    )
    stop = box.addButton("Stop and Quit", QMessageBox.ButtonRole.DestructiveRole)
    keep = box.addButton("Keep Training", QMessageBox.ButtonRole.AcceptRole)
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(cancel)
    box.setEscapeButton(cancel)
    box.exec()
    clicked = box.clickedButton()
    return STOP if clicked is stop else KEEP if clicked is keep else CANCEL


class WindowCloseGuard(QObject):
    """Asks before a window closes during a run, then stops the run (after the window's own
    unsaved-changes prompt said yes) or closes the window once the run has ended.

    The window's own ``closeEvent`` runs inside this filter, so a cancelled close leaves the run
    going; an accepted one stops it and waits for the thread before the window goes.
    """

    def __init__(self, window: QMainWindow, controller: TrainingController) -> None:
        super().__init__(window)
        self.window = window
        self.controller = controller
        self.close_when_done = False
        """True after Keep Training: the window closes when the run ends."""
        self._inside = False
        controller.run_finished.connect(self._on_run_finished)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is not self.window or event.type() != QEvent.Type.Close or self._inside:
            return False
        if not self.controller.is_running:
            return False
        answer = ask_about_run(self.window, self.controller)
        if answer != STOP:
            self.close_when_done = answer == KEEP
            event.ignore()
            return True
        self._inside = True
        try:
            self.window.event(event)  # the window decides (it may ask to save)
        finally:
            self._inside = False
        if event.isAccepted():
            self.controller.shutdown()
        return True

    def _on_run_finished(self, _record: object) -> None:
        if self.close_when_done:
            self.close_when_done = False
            # After the controller's signal has been delivered everywhere (closing may delete).
            QTimer.singleShot(0, self.window, self.window.close)

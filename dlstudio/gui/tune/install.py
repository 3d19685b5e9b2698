"""Adding Run › Tune… to a main window that has the training UI."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QMainWindow, QMenu

from dlstudio.gui.tune.dialog import TuneDialog

if TYPE_CHECKING:
    from dlstudio.gui.training.controller import TrainingController


class TuneLauncher(QObject):
    """Owns the window's one Tune dialog, created on first use, and stops its study when the
    window really closes (after an unsaved-changes prompt said yes)."""

    def __init__(self, window: QMainWindow, controller: TrainingController) -> None:
        super().__init__(window)
        self._inside = False
        self.window = window
        self.controller = controller
        self.dialog: TuneDialog | None = None
        self.action = QAction("T&une Hyper-parameters…", window)
        self.action.setObjectName("action_tune")
        tip = "Search learning rate, batch size and layer sizes with Optuna"
        self.action.setToolTip(tip)
        self.action.setStatusTip(tip)
        self.action.triggered.connect(self.show)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is not self.window or event.type() != QEvent.Type.Close or self._inside:
            return False
        if self.dialog is None or not self.dialog.is_running:
            return False
        self._inside = True
        try:
            self.window.event(event)  # the window decides (it may ask to save)
        finally:
            self._inside = False
        if event.isAccepted():
            self.dialog.shutdown()
            self.dialog.close()
        return True

    def show(self) -> TuneDialog:
        """Open (or raise) the dialog."""
        if self.dialog is None:
            controller = self.controller
            self.dialog = TuneDialog(
                controller.document, self.window, controller.store, self._refresh_runs
            )
        self.dialog.show()
        self.dialog.raise_()
        self.dialog.activateWindow()
        return self.dialog

    def shutdown(self) -> None:
        """Stop a running study (the application quits)."""
        if self.dialog is not None:
            self.dialog.shutdown()

    def _refresh_runs(self) -> None:
        self.controller.monitor.history.set_records(self.controller.store.load_all())


def install_tune_ui(
    window: QMainWindow, controller: TrainingController, menu: QMenu
) -> TuneLauncher:
    """Put Tune… in ``menu`` (the Run menu, after Train); trials go to the controller's run
    history, which is refreshed when a study ends."""
    launcher = TuneLauncher(window, controller)
    menu.addAction(launcher.action)
    return launcher

"""Give the keyboard back to the window a dialog came from when the dialog closes.

Without a window manager that does it (and with some that do not), closing a file dialog left
no window active: every shortcut of the main window (Ctrl+Shift+N, Ctrl+S...) was ignored until
the user clicked into it.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QWidget


class DialogFocusReturn(QObject):
    """An application-wide event filter: a dialog that hides re-activates its parent window."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Hide and isinstance(watched, QDialog):
            parent = watched.parentWidget()
            if parent is not None:
                target = parent.window()
                # Queued: the dialog is still the active window while it hides.
                QTimer.singleShot(0, target, lambda: _activate(target))
        return False


def _activate(window: QWidget) -> None:
    if window.isVisible() and QApplication.activeModalWidget() in (None, window):
        window.activateWindow()


def install_dialog_focus_return(app: QApplication) -> None:
    """Install the filter on ``app`` once."""
    if app.findChild(DialogFocusReturn) is None:
        app.installEventFilter(DialogFocusReturn(app))

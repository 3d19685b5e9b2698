"""A closed main window leaves nothing behind: no menus, panels or plots of its own."""

from __future__ import annotations

import gc

from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QApplication

from dlstudio.gui.app import create_application
from dlstudio.gui.main_window import MainWindow
from tests.gui import fixtures_window

data_dir = fixtures_window.data_dir


def _top_level_names() -> list[str]:
    return sorted(
        f"{type(w).__name__}:{getattr(w, 'title', lambda: '')()}"
        for w in QApplication.topLevelWidgets()
    )


def test_a_closed_window_leaves_no_top_level_widgets(qtbot, data_dir) -> None:
    create_application()
    # Windows an earlier test closed go first (their deleteLater waits for an event loop).
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()
    before = _top_level_names()
    win = MainWindow(autosave_delay_ms=60_000)
    win.show()
    qtbot.waitExposed(win)
    win.close()
    win.deleteLater()
    del win
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()
    # pyqtgraph's plot menus have no parent of their own: "Plot Options" menus used to stay.
    assert _top_level_names() == before

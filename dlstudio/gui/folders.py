"""The folder file dialogs start in: the last one the user chose (kept across sessions)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QWidget

from dlstudio.gui.recovery import app_settings

_KEY = "files/last_folder"


def last_folder(fallback: Path | None = None) -> Path:
    """The folder of the file last opened, saved or exported; else ``fallback`` (the home
    folder when none is given or it no longer exists)."""
    saved = app_settings().value(_KEY)
    if isinstance(saved, str) and saved and Path(saved).is_dir():
        return Path(saved)
    if fallback is not None and fallback.is_dir():
        return fallback
    return Path.home()


def remember_folder(path: str | Path) -> None:
    """Remember the folder of ``path`` (a file the user chose) for the next dialog."""
    folder = Path(path).parent
    if folder.is_dir():
        app_settings().setValue(_KEY, str(folder))


def ask_open_file(parent: QWidget, title: str, filters: str, fallback: Path | None = None) -> str:
    """A file to open, from a dialog starting in the last folder used; the choice's folder is
    remembered for the next dialog. "" when cancelled."""
    path, _ = QFileDialog.getOpenFileName(parent, title, str(last_folder(fallback)), filters)
    if path:
        remember_folder(path)
    return path

"""The folder file dialogs start in: the last one the user chose (kept across sessions)."""

from __future__ import annotations

from pathlib import Path

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

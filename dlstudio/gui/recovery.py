"""Autosave and crash recovery: a recovery copy of unsaved work, written atomically a few
seconds after a change, removed on a clean save or close, offered again at the next start.

The folder is ``$DLSTUDIO_DATA_DIR/recovery`` when that variable is set (tests), otherwise the
platform's application data folder (``QStandardPaths.AppDataLocation``). When that folder cannot
be written (read-only, full, a file in the way) the copy goes to a per-user folder in the system's
temporary folder instead, and both are searched for leftovers at the next start.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, QSettings, QStandardPaths, QTimer, Signal

from dlstudio.core import DLStudioError, dumps_project
from dlstudio.core.errors import FileWriteError
from dlstudio.core.serialization import write_text_atomic
from dlstudio.gui.document import Document

AUTOSAVE_DELAY_MS = 3000
"""Longest time unsaved work goes without a recovery copy."""
DATA_DIR_ENV = "DLSTUDIO_DATA_DIR"


def data_dir() -> Path:
    """Where DL Studio keeps recovery copies (and, with ``DLSTUDIO_DATA_DIR``, its settings)."""
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override)
    location = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(location or Path.home() / ".dlstudio")


def fallback_dir() -> Path:
    """Where recovery copies go when the data folder cannot be written."""
    override = os.environ.get(DATA_DIR_ENV)
    if override:  # tests: beside their private data folder, never the shared temp folder
        base = Path(override)
        return base.parent / f"{base.name}-fallback" / "recovery"
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no user name (some containers)
        user = str(os.getuid()) if hasattr(os, "getuid") else "user"
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", user)
    return Path(tempfile.gettempdir()) / f"dlstudio-recovery-{safe}"


_SURROGATE = re.compile("[\ud800-\udfff]")


def app_settings() -> QSettings:
    """The settings store (an ini file in the data dir when ``DLSTUDIO_DATA_DIR`` is set, so tests
    never touch the user's real settings)."""
    if os.environ.get(DATA_DIR_ENV):
        return QSettings(str(data_dir() / "settings.ini"), QSettings.Format.IniFormat)
    return QSettings("DLStudio", "DL Studio")


@dataclass(frozen=True)
class RecoveryFile:
    """A recovery copy left behind by an earlier session, and the file it was a copy of."""

    path: Path
    original: Path | None
    mtime: float


class RecoveryStore:
    """This session's recovery file, and those left by sessions that did not end cleanly."""

    def __init__(self, folder: Path | None = None, fallback: Path | None = None) -> None:
        self.folders = [folder or data_dir() / "recovery", fallback or fallback_dir()]
        self.folder = self.folders[0]
        """The folder this session's copy is written to (the fallback once the first failed)."""
        self._name = f"session-{os.getpid()}-{id(self):x}.json"
        self._lock: QLockFile | None = None

    @property
    def path(self) -> Path:
        """This session's recovery copy."""
        return self.folder / self._name

    def write(self, document: Document) -> Path:
        """Write the recovery copy atomically (a crash mid-write leaves the previous copy),
        in the data folder or, if that fails, the fallback folder; raises
        :class:`FileWriteError` naming both problems when neither works."""
        # A lone surrogate (never from a file: the loader refuses them) must not cost the work.
        text = _SURROGATE.sub("\ufffd", dumps_project(document.graph))
        problems = []
        for folder in dict.fromkeys([self.folder, *self.folders]):
            try:
                self._write_in(folder, text, str(document.path or ""))
                return self.path
            except (OSError, DLStudioError) as exc:
                problems.append(str(exc))
        raise FileWriteError(str(self.path), "; ".join(problems))

    def _write_in(self, folder: Path, text: str, origin: str) -> None:
        if folder != self.folder:
            self.remove()  # the old folder's copy and lock go; the new folder gets both
            self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        if self._lock is None:
            # Held while this session lives, so another running window never offers (or
            # deletes) our copy; Qt treats the lock of a dead process as stale.
            self._lock = QLockFile(str(self.path.with_suffix(".lock")))
            self._lock.setStaleLockTime(0)
            self._lock.tryLock(0)
        write_text_atomic(self.path, text)
        write_text_atomic(self._origin_path(self.path), origin)

    def remove(self) -> None:
        """Forget this session's copy (the work was saved or knowingly discarded)."""
        for path in (self.path, self._origin_path(self.path)):
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)
        if self._lock is not None:
            self._lock.unlock()
            self._lock = None

    def leftovers(self) -> list[RecoveryFile]:
        """Copies left by other sessions (in the data and the fallback folder), newest first."""
        found = []
        for folder in dict.fromkeys(self.folders):
            found += self._leftovers_in(folder)
        return sorted(found, key=lambda r: r.mtime, reverse=True)

    def _leftovers_in(self, folder: Path) -> list[RecoveryFile]:
        if not folder.is_dir():
            return []
        found = []
        for path in folder.glob("session-*.json"):
            if path == self.path or _session_alive(path):
                continue
            origin = self._origin_path(path)
            try:
                text = origin.read_text(encoding="utf-8").strip() if origin.exists() else ""
                found.append(RecoveryFile(path, Path(text) if text else None, path.stat().st_mtime))
            except (OSError, UnicodeDecodeError):
                continue
        return found

    def discard(self, recovery: RecoveryFile) -> None:
        """Delete a leftover copy."""
        for path in (recovery.path, self._origin_path(recovery.path)):
            path.unlink(missing_ok=True)
        recovery.path.with_suffix(".lock").unlink(missing_ok=True)

    @staticmethod
    def _origin_path(path: Path) -> Path:
        return path.with_suffix(".origin")


def _session_alive(path: Path) -> bool:
    """True when the session that writes ``path`` still runs (its lock is held and not stale)."""
    lock_path = path.with_suffix(".lock")
    if not lock_path.exists():
        return False
    lock = QLockFile(str(lock_path))
    lock.setStaleLockTime(0)  # only a dead owner makes a lock stale, never its age
    if lock.tryLock(0):
        lock.unlock()
        return False
    return True


class Autosaver(QObject):
    """Writes the document's recovery copy at most ``delay_ms`` after an unsaved change."""

    saved = Signal(object)
    """The recovery file's path, after each write."""
    failed = Signal(str)
    """Why a recovery copy could not be written in any folder (the window shows a dialog)."""

    def __init__(
        self,
        document: Document,
        store: RecoveryStore | None = None,
        delay_ms: int = AUTOSAVE_DELAY_MS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.document = document
        self.store = store or RecoveryStore()
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(delay_ms)
        self.timer.timeout.connect(self.save_now)
        document.state_changed.connect(self._on_document_state_changed)
        document.graph_event.connect(self._on_document_graph_event)

    def _on_document_state_changed(self) -> None:
        if not self.document.is_modified:
            self.timer.stop()
            self.store.remove()
        elif not self.timer.isActive():
            # Not restarted on every change: continuous editing still gets a copy every few s.
            self.timer.start()

    def _on_document_graph_event(self, _event: object) -> None:
        if self.document.is_modified and not self.timer.isActive():
            self.timer.start()

    def save_now(self) -> None:
        """Write the recovery copy now if there is unsaved work."""
        self.timer.stop()
        if not self.document.is_modified:
            self.store.remove()
            return
        try:
            path = self.store.write(self.document)
        except (OSError, DLStudioError) as exc:
            self.failed.emit(f"Autosave failed: {exc}")
            return
        self.saved.emit(path)

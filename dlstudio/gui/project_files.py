"""File commands of the main window: New, New from template, Open, Save, Save As, recent files,
the discard-changes prompt, and recovery of work left by a crash.

Loading errors are shown with the loader's message (file and location) and the current work is
kept, because :meth:`Document.open` only replaces the graph after a successful load.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from dlstudio.core import DLStudioError, LayerGraph, load_project
from dlstudio.gui.dialogs.template_gallery import TEMPLATES_DIR, TemplateGallery
from dlstudio.gui.document import Document
from dlstudio.gui.folders import last_folder, remember_folder
from dlstudio.gui.recovery import Autosaver, RecoveryFile, RecoveryStore, app_settings
from dlstudio.layers.validation import check_node

MAX_RECENT = 10
PROJECT_FILTER = "DL Studio projects (*.json);;All files (*)"
_RECENT_KEY = "files/recent"


class ProjectFiles(QObject):
    """Opens and saves the window's document and keeps the recent-files list."""

    recent_changed = Signal(list)
    """The recent files (strings, newest first)."""
    message = Signal(str)
    """A short confirmation for the status bar."""

    def __init__(self, document: Document, window: QWidget, autosaver: Autosaver) -> None:
        super().__init__(window)
        self.document = document
        self.window = window
        self.autosaver = autosaver
        self.interactive = True
        """False for unattended runs (``--screenshot``): errors go to stderr, not dialogs."""
        self._autosave_warned = False
        autosaver.failed.connect(self._on_autosaver_failed)
        autosaver.saved.connect(self._on_autosaver_saved)

    # ---------------------------------------------------------------- prompts
    def maybe_save(self) -> bool:
        """Ask before unsaved changes are lost; True when it is fine to go on."""
        if not self.document.is_modified:
            return True
        answer = QMessageBox.warning(
            self.window,
            "Unsaved changes",
            f"“{self.document.display_name}” has unsaved changes. Save them?",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        if answer == QMessageBox.StandardButton.Discard:
            self.autosaver.store.remove()  # the user chose to drop the work: no recovery offer
            return True
        return False

    def show_error(self, title: str, text: str) -> None:
        """A modal error (the work stays as it was); on stderr when not ``interactive``."""
        if not self.interactive:
            print(f"{title}: {text}", file=sys.stderr)
            return
        QMessageBox.critical(self.window, title, text)

    # ------------------------------------------------------------------ new
    def new(self) -> bool:
        """An empty, untitled document."""
        if not self.maybe_save():
            return False
        self.document.replace_graph(LayerGraph("untitled"))
        return True

    def new_from_template_dialog(self) -> bool:
        """Pick a template in the gallery and open it as a new untitled document."""
        if not self.maybe_save():
            return False
        gallery = TemplateGallery(self.window)
        if gallery.exec() != TemplateGallery.DialogCode.Accepted or gallery.chosen_path is None:
            return False
        return self.load_template(gallery.chosen_path, ask=False)

    def load_template(self, path: str | Path, ask: bool = True) -> bool:
        """Open a template as a new unsaved document (saving asks where, never overwrites it)."""
        if ask and not self.maybe_save():
            return False
        try:
            graph = load_project(path, node_checker=check_node)
        except (DLStudioError, OSError) as exc:
            self.show_error("Could not open template", str(exc))
            return False
        self.document.replace_graph(graph)
        self.message.emit(f"New model from template {Path(path).stem}")
        return True

    # ----------------------------------------------------------------- open
    def open_dialog(self) -> bool:
        """Ask for a file and open it."""
        if not self.maybe_save():
            return False
        if self.document.path and not _is_template(self.document.path):
            start = str(self.document.path.parent)
        else:
            start = str(last_folder(TEMPLATES_DIR))
        path, _ = QFileDialog.getOpenFileName(self.window, "Open project", start, PROJECT_FILTER)
        if path:
            remember_folder(path)
        return bool(path) and self.open_path(path, ask=False)

    def open_path(self, path: str | Path, ask: bool = True) -> bool:
        """Open ``path``; on failure show the loader's message and keep the current work."""
        if ask and not self.maybe_save():
            return False
        try:
            self.document.open(path)
        except (DLStudioError, OSError) as exc:
            self.show_error("Could not open file", str(exc))
            return False
        self.add_recent(Path(path))
        self.message.emit(f"Opened {Path(path).name}")
        return True

    # ----------------------------------------------------------------- save
    def save(self) -> bool:
        """Save to the current file, or ask for one."""
        if self.document.path is None or _is_template(self.document.path):
            return self.save_as()
        return self._save_to(self.document.path)

    def save_as(self) -> bool:
        """Ask for a file name and save there."""
        suggested = self.document.path or Path(f"{self.document.graph.name or 'model'}.json")
        if self.document.path is None or _is_template(suggested):
            suggested = last_folder() / suggested.name
        path, _ = QFileDialog.getSaveFileName(
            self.window, "Save project as", str(suggested), PROJECT_FILTER
        )
        if not path:
            return False
        if not path.endswith(".json"):
            path += ".json"
        remember_folder(path)
        return self._save_to(Path(path), name_after_file=True)

    def _save_to(self, path: Path, name_after_file: bool = False) -> bool:
        graph = self.document.graph
        if name_after_file and graph.name in ("", "untitled", "model"):
            # An unnamed model takes its file's name (the title, code class and runs show it).
            graph.name = path.stem
            self.document.reanalyze()
        try:
            self.document.save(path)
        except (OSError, DLStudioError) as exc:
            self.show_error("Could not save", f"{exc}\n\nYour work is still open: {_KEPT}")
            return False
        except Exception as exc:  # whatever it was, the user must hear of it: never silent
            self.show_error(
                "Could not save",
                f"{path}: {type(exc).__name__}: {exc}\n\nYour work is still open: {_KEPT}",
            )
            return False
        self.autosaver.store.remove()
        self.add_recent(path)
        self.message.emit(f"Saved {path.name}")
        return True

    # ------------------------------------------------------------- autosave
    def _on_autosaver_failed(self, text: str) -> None:
        """A dialog the first time autosave fails (then quiet until it works again)."""
        self.message.emit(text)
        if self._autosave_warned:
            return
        self._autosave_warned = True
        self.show_error(
            "Autosave failed",
            f"{text}\n\nNo recovery copy of your unsaved changes could be written, so a crash "
            f"now would lose them. {_KEPT}",
        )

    def _on_autosaver_saved(self, _path: object) -> None:
        self._autosave_warned = False

    # --------------------------------------------------------------- recent
    def recent_files(self) -> list[str]:
        """Recently opened or saved files, newest first."""
        value = app_settings().value(_RECENT_KEY, [])
        if isinstance(value, str):  # QSettings returns a bare string for a one-item list
            value = [value]
        return [str(v) for v in value][:MAX_RECENT] if isinstance(value, list) else []

    def add_recent(self, path: Path) -> None:
        """Put ``path`` at the top of the recent files."""
        text = str(path.resolve())
        recent = [text] + [p for p in self.recent_files() if p != text]
        settings = app_settings()
        settings.setValue(_RECENT_KEY, recent[:MAX_RECENT])
        settings.sync()
        self.recent_changed.emit(recent[:MAX_RECENT])

    def clear_recent(self) -> None:
        """Empty the recent-files list."""
        settings = app_settings()
        settings.setValue(_RECENT_KEY, [])
        settings.sync()
        self.recent_changed.emit([])

    # ------------------------------------------------------------- recovery
    def offer_recovery(self) -> bool:
        """If an earlier session left unsaved work, offer to restore it; True if restored."""
        store: RecoveryStore = self.autosaver.store
        leftovers = store.leftovers()
        if not leftovers:
            return False
        newest: RecoveryFile = leftovers[0]
        name = newest.original.name if newest.original else "an untitled model"
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(newest.mtime))
        answer = QMessageBox.question(
            self.window,
            "Recover unsaved work?",
            f"DL Studio was not closed properly. Unsaved changes to {name} from {when} "
            "were kept.\n\nRecover them?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.Yes,
        )
        if answer != QMessageBox.StandardButton.Yes:
            for leftover in leftovers:
                store.discard(leftover)
            return False
        try:
            graph = load_project(newest.path, node_checker=check_node)
        except (DLStudioError, OSError) as exc:
            self.show_error("Could not recover", str(exc))
            return False
        self.document.replace_graph(graph, newest.original)
        self.document.mark_modified()
        self.autosaver.save_now()  # our own copy first, then drop the old session's
        for leftover in leftovers:
            store.discard(leftover)
        self.message.emit(f"Recovered unsaved work on {name}")
        return True


_KEPT = "save it with File > Save As to another folder, or free some space and save again."


def _is_template(path: Path) -> bool:
    try:
        return path.resolve().parent == TEMPLATES_DIR.resolve()
    except OSError:
        return False

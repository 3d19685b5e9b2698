"""Importing a model into the editor: the import runs on a pool thread, then the result opens as
a new, unsaved document laid out by the auto layout. Every operation without a layer is a
Placeholder node, so the Problems panel lists them; the weights go to the data folder and the
project names them by absolute path (``metadata["weights"]``), so they load when it trains; a
Hugging Face model's tokenizer is copied there too (``metadata["tokenizer"]``).
A PyTorch import is run beside its source (docs/import.md): the figures go to the project's
metadata and the status bar, and a project that does not compute what its source does is said
so in a message naming the first module that departs."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from dlstudio.gui.recovery import data_dir
from dlstudio.gui.workers import TaskHandle, run_in_thread


def import_to_data_dir(
    source: str, input_shape: str = "", task: str = "base", num_labels: int = 0
) -> object:
    """Run the import (pool thread): the result, with its weights saved in the data folder.
    ``task`` and ``num_labels`` choose the head of ``hf:`` sources, as ``import --task
    --num-labels`` do."""
    from dlstudio.compile.importers.cli_commands import import_source
    from dlstudio.compile.importers.project import state_dict_of
    from dlstudio.compile.project_weights import WEIGHTS_KEY

    args = argparse.Namespace(
        source=source,
        input_shape=[input_shape] if input_shape else None,
        dtype=None,
        seq_len=16,
        vocab_size=0,
        task=task,
        num_labels=num_labels,
    )
    result, _check = import_source(args, verify=True)
    state = state_dict_of(result)
    folder = data_dir() / "imports"
    stem = f"{result.graph.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    if state:
        from safetensors.torch import save_file

        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{stem}.safetensors"
        save_file({k: v.clone() for k, v in state.items()}, str(path))
        result.graph.metadata[WEIGHTS_KEY] = str(path)
    if result.tokenizer_from:  # a Hugging Face model's tokenizer, for its text data
        from dlstudio.compile.importers.hf_source import TOKENIZER_KEY, copy_tokenizer

        copied = copy_tokenizer(result.tokenizer_from, folder / f"{stem}.json")
        if copied is not None:
            result.graph.metadata[TOKENIZER_KEY] = str(folder / copied)
    return result


def verdict(check) -> str:
    """The verification in a few words, for the status bar."""
    if not check.ok:
        where = f" (first departure: {check.first_departure})" if check.first_departure else ""
        return f"does NOT match its source{where}"
    worst = max(check.outputs, key=lambda o: o.difference / o.scale if o.scale else 0.0)
    return f"matches its source (largest difference {worst.difference:.2g})"


class ModelImporter(QObject):
    """Imports into the window's document; ``imported(result)`` or ``failed(message)``."""

    imported = Signal(object)
    failed = Signal(str)

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.task: TaskHandle | None = None

    def import_dialog(self) -> bool:
        """Ask what to import, then start it."""
        from dlstudio.gui.dialogs.import_model import ImportModelDialog

        if not self.window.files.maybe_save():
            return False
        dialog = ImportModelDialog(self.window)
        if dialog.exec() != ImportModelDialog.DialogCode.Accepted or not dialog.source():
            return False
        self.start(dialog.source(), dialog.input_shape(), dialog.task(), dialog.num_labels())
        return True

    def start(
        self, source: str, input_shape: str = "", task: str = "base", num_labels: int = 0
    ) -> TaskHandle:
        """Import ``source`` off the GUI thread (wait on the handle's ``finished`` in tests);
        ``task`` and ``num_labels`` choose the head of ``hf:`` sources."""
        self.window.statusBar().showMessage(f"Importing {source}…")
        self.task = run_in_thread(
            lambda: import_to_data_dir(source, input_shape, task, num_labels),
            self._on_task_done,
            self._on_task_error,
        )
        return self.task

    def _on_task_done(self, result) -> None:
        self.window.document.replace_graph(result.graph)
        count = len(result.issues)
        tail = (
            f"; {count} operation(s) have no layer yet: see the Placeholder nodes in Problems"
            if count
            else ""
        )
        check = result.check
        if check is not None and result.ok:
            tail = f"; {verdict(check)}"
        self.window.statusBar().showMessage(
            f"Imported {Path(result.source).name or result.source}: {len(result.graph)} nodes{tail}",
            10000,
        )
        if check is not None and result.ok and not check.ok:
            self.window.files.show_error(
                "The imported model does not match its source", "\n".join(check.lines())
            )
        self.imported.emit(result)

    def _on_task_error(self, error: BaseException, trace: str) -> None:
        from dlstudio.core.errors import DLStudioError

        message = (
            str(error)
            if isinstance(error, (DLStudioError, ValueError))
            else (f"{type(error).__name__}: {error}")
        )
        self.window.files.show_error("Could not import the model", message)
        self.failed.emit(message)

"""The open project as seen by the GUI: graph, undo stack, file path and the latest analysis.

Views never mutate the graph directly: they call :meth:`Document.push` with a command. The graph's
own events (forwarded as ``graph_event``) tell views what to redraw; ``analysis_ready`` carries a
fresh :class:`AnalysisResult` after every batch of edits (coalesced on the event loop, so a
macro edit is analysed once).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject, QTimer, Signal, SignalInstance

from dlstudio.analysis import AnalysisResult, analyze
from dlstudio.core import (
    Command,
    DLStudioError,
    GraphEvent,
    LayerGraph,
    UndoStack,
    load_project,
    save_project,
)
from dlstudio.core.blocks import BlockDefinition
from dlstudio.layers.validation import check_node
from dlstudio.train.data_paths import relative_training_paths

EMPTY_MODEL_TEXT = (
    "The model is empty. Drag an Input layer from the Layers palette onto the canvas, add "
    "layers after it and end with an Output (or start from File > New from Template)."
)
"""What the Problems panel, Train and Export say about a model with no layers."""


class GraphDocument(Protocol):
    """What the views that show and edit one graph (the canvas, the properties panel) need of
    a document: a :class:`Document`, or a ``DocumentLevel`` showing one graph of its tree.
    Edits go through :meth:`push`; the signals say what to redraw."""

    @property
    def graph_event(self) -> SignalInstance:
        """Emits a :class:`GraphEvent` for every primitive change of :attr:`graph`."""
        ...

    @property
    def analysis_ready(self) -> SignalInstance:
        """Emits the fresh :class:`AnalysisResult` of :attr:`graph`."""
        ...

    @property
    def reset(self) -> SignalInstance:
        """Emits when :attr:`graph` was replaced: views rebuild from scratch."""
        ...

    @property
    def edit_refused(self) -> SignalInstance:
        """Emits why an edit could not be applied."""
        ...

    @property
    def graph(self) -> LayerGraph:
        """The graph the view shows and edits."""
        ...

    @property
    def root(self) -> LayerGraph:
        """The project's top graph (the same as :attr:`graph` at the top level)."""
        ...

    @property
    def blocks(self) -> dict[str, BlockDefinition]:
        """The project's block definitions."""
        ...

    @property
    def analysis(self) -> AnalysisResult:
        """The latest analysis of :attr:`graph`."""
        ...

    @property
    def undo_stack(self) -> UndoStack:
        """The project's one undo stack."""
        ...

    def push(self, command: Command, *, mergeable: bool = False) -> bool:
        """Apply an edit to :attr:`graph` as one undo step; False when it was refused."""
        ...

    def undo(self) -> None:
        """Undo the project's last edit."""
        ...

    def redo(self) -> None:
        """Redo the project's last undone edit."""
        ...


class Document(QObject):
    """One open project and the signals views listen to."""

    graph_event = Signal(object)
    """A :class:`GraphEvent`, emitted for every primitive change of the graph."""
    analysis_ready = Signal(object)
    """A fresh :class:`AnalysisResult`."""
    reset = Signal()
    """The whole graph was replaced (New, Open): views rebuild from scratch."""
    edit_refused = Signal(str)
    """An edit could not be applied; the text says why (for the status bar)."""
    state_changed = Signal()
    """Path, unsaved state or undo/redo availability changed (title bar, menu entries)."""

    def __init__(
        self,
        graph: LayerGraph | None = None,
        path: str | Path | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._graph = graph or LayerGraph()
        self.path: Path | None = Path(path) if path else None
        self.undo_stack = UndoStack(self._graph)
        self.undo_stack.subscribe(self.state_changed.emit)
        self._graph.subscribe(self._on_graph_event)
        self._analysis: AnalysisResult | None = None
        self._analysis_timer = QTimer(self)
        self._analysis_timer.setSingleShot(True)
        self._analysis_timer.setInterval(0)
        self._analysis_timer.timeout.connect(self.reanalyze)
        self.reanalyze()

    # ---------------------------------------------------------------- access
    @property
    def graph(self) -> LayerGraph:
        """The document's graph (replace it only through :meth:`replace_graph`)."""
        return self._graph

    @property
    def root(self) -> LayerGraph:
        """The top graph: the document's graph (see :class:`GraphDocument`)."""
        return self._graph

    @property
    def blocks(self) -> dict[str, BlockDefinition]:
        """The project's block definitions (held by the top graph)."""
        return self._graph.blocks

    @property
    def analysis(self) -> AnalysisResult:
        """The latest analysis (recomputed immediately if an edit is pending)."""
        if self._analysis is None or self._analysis_timer.isActive():
            self.reanalyze()
        assert self._analysis is not None
        return self._analysis

    @property
    def is_empty(self) -> bool:
        """True when the model has no layers yet (nothing to train or export)."""
        return len(self._graph) == 0

    @property
    def is_modified(self) -> bool:
        """True when there are unsaved changes."""
        return not self.undo_stack.is_clean

    @property
    def display_name(self) -> str:
        """The file name, or the graph's name for an unsaved document."""
        return self.path.name if self.path else f"{self._graph.name or 'untitled'}"

    # ----------------------------------------------------------------- edits
    def push(self, command: Command, *, mergeable: bool = False) -> bool:
        """Apply and record an edit; False (and ``edit_refused``) when it cannot be applied."""
        try:
            self.undo_stack.push(command, mergeable=mergeable)
        except DLStudioError as exc:
            self.edit_refused.emit(str(exc))
            return False
        return True

    def undo(self) -> None:
        """Undo the last edit."""
        self.undo_stack.undo()

    def redo(self) -> None:
        """Redo the last undone edit."""
        self.undo_stack.redo()

    def mark_modified(self) -> None:
        """Treat the document as unsaved (recovered work, a template to be saved elsewhere)."""
        self.undo_stack.mark_dirty()

    def reanalyze(self) -> AnalysisResult:
        """Analyse now and emit ``analysis_ready``."""
        self._analysis_timer.stop()
        self._analysis = analyze(self._graph)
        self.analysis_ready.emit(self._analysis)
        return self._analysis

    def _on_graph_event(self, event: GraphEvent) -> None:
        self.graph_event.emit(event)
        if event.kind != GraphEvent.NODE_CHANGED or event.detail != "position":
            self._analysis_timer.start()

    # ----------------------------------------------------------------- files
    def replace_graph(self, graph: LayerGraph, path: str | Path | None = None) -> None:
        """Show another graph (New, Open, New from template): clears the history."""
        self._graph.unsubscribe(self._on_graph_event)
        self._graph = graph
        self._graph.subscribe(self._on_graph_event)
        self.undo_stack = UndoStack(graph)
        self.undo_stack.subscribe(self.state_changed.emit)
        self.path = Path(path) if path else None
        self.reset.emit()
        self.reanalyze()
        self.state_changed.emit()

    def open(self, path: str | Path) -> None:
        """Load a project file; raises :class:`ProjectFileError` and keeps the current graph."""
        graph = load_project(path, node_checker=check_node)
        self.replace_graph(graph, path)

    def save(self, path: str | Path | None = None) -> Path:
        """Save atomically to ``path`` (or the current path) and mark the document clean."""
        target = Path(path) if path else self.path
        if target is None:
            raise ValueError("the document has no file yet: use Save As")
        training = self._graph.metadata.get("training")
        if isinstance(training, dict):
            # Data paths are stored relative to the project file (see dlstudio.train.data_paths);
            # the same files, so this is no edit of its own on the undo stack.
            old_base = self.path.resolve().parent if self.path else None
            rewritten = relative_training_paths(training, old_base, target.resolve().parent)
            if rewritten != training:
                self._graph.metadata["training"] = rewritten
        save_project(self._graph, target)
        self.path = target
        self.undo_stack.set_clean()
        self.state_changed.emit()
        return target

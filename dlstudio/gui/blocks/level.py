"""``DocumentLevel``: the graph of the tree the canvas shows (the model or a block's inside).

It is a :class:`~dlstudio.gui.document.GraphDocument` to the views that edit one graph (the canvas, the properties
panel): ``graph`` is the current graph, ``push`` wraps edits made inside a definition in
:class:`InDefinition` (so every instance follows and undo stays one stack), ``analysis`` is the
analysis of the opened instance's first copy, and ``reset`` fires when the level changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from dlstudio.analysis import AnalysisResult, analyze
from dlstudio.analysis.blocks import BlockContext
from dlstudio.core import Command, GraphEvent, LayerGraph, UndoStack
from dlstudio.core.block_commands import InDefinition
from dlstudio.core.blocks import BLOCK_TYPE, BlockDefinition
from dlstudio.gui.document import Document


@dataclass(frozen=True)
class Level:
    """One opened instance on the way down: its id, its name and its definition's name."""

    instance_id: str
    instance_name: str
    definition: str


class DocumentLevel(QObject):
    """The document as seen one graph at a time; ``path`` is the opened instances' ids."""

    graph_event = Signal(object)
    """A :class:`GraphEvent` of the current graph."""
    analysis_ready = Signal(object)
    """The analysis of the current graph (the first copy of the opened instance)."""
    reset = Signal()
    """The current graph was replaced (another level, or the document's reset)."""
    edit_refused = Signal(str)
    state_changed = Signal()
    level_changed = Signal()
    """The path or a name on it changed: the breadcrumb redraws."""
    about_to_rebind = Signal()
    """Another graph is about to be shown (before ``reset``): the canvas still shows the
    current one, so its zoom and position can be kept for the way back."""

    def __init__(self, document: Document, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self._levels: list[Level] = []
        self._graph: LayerGraph = document.graph
        self._fallback: AnalysisResult | None = None
        document.graph_event.connect(self._on_document_graph_event)
        document.analysis_ready.connect(self._on_document_analysis_ready)
        document.reset.connect(self._on_document_reset)
        document.edit_refused.connect(self.edit_refused)
        document.state_changed.connect(self.state_changed)

    # ---------------------------------------------------------------- access
    @property
    def graph(self) -> LayerGraph:
        """The graph the canvas shows and edits."""
        return self._graph

    @property
    def root(self) -> LayerGraph:
        """The document's top graph (it holds the definitions)."""
        return self.document.graph

    @property
    def blocks(self) -> dict[str, BlockDefinition]:
        """The project's block definitions."""
        return self.document.graph.blocks

    @property
    def levels(self) -> list[Level]:
        """The opened instances, outermost first (empty at the top graph)."""
        return list(self._levels)

    @property
    def path(self) -> tuple[str, ...]:
        """The opened instances' ids from the top graph down."""
        return tuple(level.instance_id for level in self._levels)

    @property
    def definition(self) -> str | None:
        """The name of the definition shown, or None at the top graph."""
        return self._levels[-1].definition if self._levels else None

    @property
    def undo_stack(self) -> UndoStack:
        """The document's one undo stack."""
        return self.document.undo_stack

    @property
    def analysis(self) -> AnalysisResult:
        """The analysis of the current graph: the opened instance's first copy, or (while that
        instance cannot be analysed) the definition alone with its parameters' defaults."""
        result = self.document.analysis
        for level in self._levels:
            info = result.nodes.get(level.instance_id)
            if info is None or not info.children:
                return self._definition_alone()
            result = info.children[0]
        return result

    def _definition_alone(self) -> AnalysisResult:
        if self._fallback is None:
            definition = self.blocks[self._levels[-1].definition]
            context = BlockContext(self.root, env=definition.defaults(), depth=len(self._levels))
            self._fallback = analyze(definition.graph, context=context)
        return self._fallback

    # ----------------------------------------------------------------- edits
    def push(self, command: Command, *, mergeable: bool = False) -> bool:
        """Apply an edit to the current graph (inside a definition: every instance follows)."""
        if self._levels:
            command = InDefinition(self._levels[-1].definition, command)
        return self.document.push(command, mergeable=mergeable)

    def undo(self) -> None:
        """Undo the document's last edit."""
        self.document.undo()

    def redo(self) -> None:
        """Redo the document's last undone edit."""
        self.document.redo()

    # ------------------------------------------------------------ navigation
    def can_enter(self, node_id: str) -> bool:
        """True when ``node_id`` in the current graph is an instance of a known definition."""
        node = self._graph.nodes.get(node_id)
        return (
            node is not None
            and node.type_id == BLOCK_TYPE
            and node.params.get("block") in self.blocks
        )

    def enter(self, node_id: str) -> bool:
        """Open instance ``node_id`` of the current graph: show its definition."""
        if not self.can_enter(node_id):
            return False
        node = self._graph.node(node_id)
        self._levels.append(Level(node.id, node.name, node.params["block"]))
        self._rebind()
        return True

    def open_path(self, path: tuple[str, ...] | list[str]) -> bool:
        """Show the graph reached by opening these instances from the top graph; False (and
        the top graph) when one of them is not an instance there."""
        self._levels = []
        self._graph = self.root
        ok = True
        for node_id in path:
            if not self.can_enter(node_id):
                ok = False
                break
            node = self._graph.node(node_id)
            self._levels.append(Level(node.id, node.name, node.params["block"]))
            self._graph = self.blocks[node.params["block"]].graph
        self._rebind()
        return ok

    def go_up(self, depth: int | None = None) -> bool:
        """Return to ``depth`` levels from the top (default: one level up)."""
        if not self._levels:
            return False
        depth = len(self._levels) - 1 if depth is None else max(0, depth)
        if depth >= len(self._levels):
            return False
        del self._levels[depth:]
        self._rebind()
        return True

    def go_top(self) -> bool:
        """Return to the top graph."""
        return self.go_up(0)

    # ------------------------------------------------------------- internals
    def _resolve(self) -> tuple[list[Level], LayerGraph]:
        """The longest still-valid prefix of the path (edits and undo may remove instances
        and definitions), with fresh names, and the graph it leads to."""
        graph = self.root
        levels: list[Level] = []
        for level in self._levels:
            node = graph.nodes.get(level.instance_id)
            if node is None or node.type_id != BLOCK_TYPE:
                break
            definition = self.blocks.get(str(node.params.get("block")))
            if definition is None:
                break
            levels.append(Level(node.id, node.name, definition.name))
            graph = definition.graph
        return levels, graph

    def _rebind(self) -> None:
        self.about_to_rebind.emit()
        levels, graph = self._resolve()
        self._levels = levels
        self._fallback = None
        if graph is not self._graph:
            if self._graph is not self.root:
                self._graph.unsubscribe(self._on_inner_graph_event)
            self._graph = graph
            if graph is not self.root:
                graph.subscribe(self._on_inner_graph_event)
        self.reset.emit()
        self.level_changed.emit()

    def _check_path(self) -> None:
        levels, graph = self._resolve()
        if graph is not self._graph or [lv.instance_id for lv in levels] != list(self.path):
            self._rebind()
        elif levels != self._levels:
            self._levels = levels
            self.level_changed.emit()

    # ------------------------------------------------------- model listeners
    def _on_document_graph_event(self, event: GraphEvent) -> None:
        if not self._levels:
            self.graph_event.emit(event)
            return
        if event.kind in (GraphEvent.BLOCKS_CHANGED, GraphEvent.NODE_REMOVED) or (
            event.kind == GraphEvent.NODE_CHANGED and event.detail in ("name", "params")
        ):
            before = self._graph
            self._check_path()
            if event.kind == GraphEvent.BLOCKS_CHANGED and self._graph is before:
                self.graph_event.emit(event)  # nested instances redraw their definition

    def _on_inner_graph_event(self, event: GraphEvent) -> None:
        self.graph_event.emit(event)

    def _on_document_analysis_ready(self, _result: AnalysisResult) -> None:
        self._fallback = None
        self.analysis_ready.emit(self.analysis)

    def _on_document_reset(self) -> None:
        if self._graph is not self.root:
            self._graph.unsubscribe(self._on_inner_graph_event)
        self._levels = []
        self._graph = self.root
        self._fallback = None
        self.reset.emit()
        self.level_changed.emit()

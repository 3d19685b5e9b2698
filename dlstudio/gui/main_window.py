"""The main window: the canvas in the middle, panels around it, menus, toolbar and status bar.

Layout: layer palette on the left; properties and code preview tabbed on the right (the training
panel joins them through :meth:`MainWindow.add_side_dock`); problems and summary at the bottom.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QToolBar, QWidget

from dlstudio.analysis import AnalysisResult, Diagnostic
from dlstudio.gui.blocks import DocumentLevel
from dlstudio.gui.blocks.editor import install_block_editor
from dlstudio.gui.canvas import GraphScene, GraphView
from dlstudio.gui.canvas.minimap import install_minimap
from dlstudio.gui.dock_layout import DockLayout
from dlstudio.gui.document import Document
from dlstudio.gui.experiment import install_experiment_ui
from dlstudio.gui.exports import ExportActions
from dlstudio.gui.find import install_find
from dlstudio.gui.model_import import ModelImporter
from dlstudio.gui.panels import (
    CodePreview,
    LayerPalette,
    ProblemsPanel,
    PropertiesPanel,
    SummaryTable,
    count_text,
)
from dlstudio.gui.project_files import ProjectFiles
from dlstudio.gui.recovery import AUTOSAVE_DELAY_MS, Autosaver, RecoveryStore, app_settings
from dlstudio.gui.theme import icon
from dlstudio.gui.window_actions import WindowActions, build_actions

if TYPE_CHECKING:  # both import torch: installed after the first paint
    from dlstudio.gui.lens import LensController
    from dlstudio.gui.training import TrainingController, TrainingUI

_AREA = Qt.DockWidgetArea


class MainWindow(QMainWindow):
    """One document, its canvas and its panels."""

    def __init__(
        self,
        document: Document | None = None,
        *,
        autosave_delay_ms: int = AUTOSAVE_DELAY_MS,
        recovery: RecoveryStore | None = None,
        training: bool = True,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("main_window")
        self.setWindowIcon(icon("app"))
        self.document = document or Document()
        self.level = DocumentLevel(self.document, self)
        """The graph of the tree the canvas shows (the model, or a block's inside)."""
        self.scene = GraphScene(self.level, self)
        self.view = GraphView(self.scene, self)
        self.setCentralWidget(self.view)
        self.autosaver = Autosaver(self.document, recovery, autosave_delay_ms, self)
        self.files = ProjectFiles(self.document, self, self.autosaver)
        self.model_importer = ModelImporter(self)
        self.exports = ExportActions(self.document, self, lambda: self.scene)
        self.main_toolbar: QToolBar | None = None
        """The main toolbar (built with the actions)."""
        self.dock_layout = DockLayout(self)
        self.setDockOptions(
            QMainWindow.DockOption.AnimatedDocks
            | QMainWindow.DockOption.AllowTabbedDocks
            | QMainWindow.DockOption.AllowNestedDocks
        )
        self._build_panels()
        self.action_registry: WindowActions = build_actions(self)
        self.main_toolbar = self.action_registry.toolbar
        self._build_status_bar()
        self.blocks_ui = install_block_editor(self)
        self.experiment_ui = install_experiment_ui(self)
        self.find_bar = install_find(self)
        self.minimap = install_minimap(self)
        self._connect_signals()
        self.setAcceptDrops(True)
        self.resize(1440, 900)
        self._on_files_recent_changed(self.files.recent_files())
        self._on_document_state_changed()
        self._on_document_analysis_ready(self.document.analysis)
        diagnostics = self.document.analysis.diagnostics
        self._on_problems_counts_changed(
            sum(d.is_error for d in diagnostics), sum(d.severity == "warning" for d in diagnostics)
        )
        self._pending_tabs: list[tuple[QDockWidget, QDockWidget]] | None = []
        """Tabs requested between construction and the first show (None once shown)."""
        self.training: TrainingController | None = None
        """The :class:`TrainingController` once :meth:`install_training` ran."""
        self.training_ui: TrainingUI | None = None
        """The training docks, Run actions and Tune launcher, with the controller."""
        self.lens: LensController | None = None
        """The :class:`LensController` (the Lens dock), installed with the training UI."""
        if training:
            self.install_training()

    def install_training(self) -> TrainingController:
        """Add the training UI: its docks, Run actions and toolbar buttons. It imports torch
        (over a second), so the program calls this after the window's first paint."""
        if self.training is None:
            from dlstudio.gui.lens import install_lens
            from dlstudio.gui.training import install_training_ui

            self.training_ui = install_training_ui(self)
            self.training = self.training_ui.controller
            self.lens = install_lens(self, self.training)
            self.dock_layout.schedule()
        return self.training

    # ------------------------------------------------------------- building
    def _build_panels(self) -> None:
        self.palette_panel = LayerPalette(self)
        self.properties = PropertiesPanel(self.level, self)
        self.code_preview = CodePreview(self.document, self)
        self.problems = ProblemsPanel(self.document, self)
        self.summary = SummaryTable(self.document, self)
        add = self.dock_layout.add
        self.palette_dock = add("Layers", "palette", self.palette_panel, _AREA.LeftDockWidgetArea)
        self.properties_dock = add(
            "Properties", "properties", self.properties, _AREA.RightDockWidgetArea
        )
        self.code_dock = add(
            "Code", "code", self.code_preview, _AREA.RightDockWidgetArea, self.properties_dock
        )
        self.summary_dock = add("Summary", "summary", self.summary, _AREA.BottomDockWidgetArea)
        self.problems_dock = add("Problems", "problems", self.problems, _AREA.BottomDockWidgetArea)
        self.tabifyDockWidget(self.properties_dock, self.code_dock)
        self.properties_dock.raise_()
        self.splitDockWidget(self.summary_dock, self.problems_dock, Qt.Orientation.Horizontal)
        self.dock_layout.split = (self.summary_dock, self.problems_dock)
        self.dock_layout.fronts = [self.properties_dock, self.summary_dock]
        # Side panels run the full height; the bottom panels share the canvas's width.
        self.setCorner(Qt.Corner.BottomLeftCorner, _AREA.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, _AREA.RightDockWidgetArea)

    def reset_layout(self) -> None:
        """View > Reset Layout: every panel back where a fresh start puts it."""
        self.dock_layout.reset()

    def tabifyDockWidget(self, first: QDockWidget, second: QDockWidget) -> None:
        """Tab ``second`` onto ``first``. Requests made after construction but before the first
        show wait until the window is laid out: tabbing into the split bottom area earlier
        leaves stale duplicate tab bars on screen (seen with Qt 6.11)."""
        pending = getattr(self, "_pending_tabs", None)
        if pending is None:  # building, or already shown
            super().tabifyDockWidget(first, second)
            return
        if self.dockWidgetArea(second) == _AREA.NoDockWidgetArea:
            self.addDockWidget(self.dockWidgetArea(first), second)
        pending.append((first, second))

    def _flush_pending_tabs(self) -> None:
        pending, self._pending_tabs = self._pending_tabs or [], None
        for first, second in pending:
            fronts = [d for d in (first, *self.tabifiedDockWidgets(first)) if d is not second]
            super().tabifyDockWidget(first, second)
            if self.properties_dock in fronts:
                self.properties_dock.raise_()
            elif self.summary_dock in fronts:
                self.summary_dock.raise_()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if getattr(self, "_pending_tabs", None) is not None:
            QTimer.singleShot(0, self, self._flush_pending_tabs)  # not after the window is gone
        self.dock_layout.apply()
        # Again once the docks have their first geometry: nested splits ignore sizes given
        # before they were laid out.
        self.dock_layout.schedule()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.dock_layout.schedule()
        if self.main_toolbar is not None:
            self.action_registry.fit_toolbar(self.main_toolbar, self.width())

    def _build_status_bar(self) -> None:
        self.params_label = QLabel(self)
        self.problems_label = QLabel(self)
        for label in (self.problems_label, self.params_label):
            label.setContentsMargins(8, 0, 8, 0)
            self.statusBar().addPermanentWidget(label)
        panels = self.action_registry.menus["panels"]
        for dock in (
            self.palette_dock,
            self.properties_dock,
            self.code_dock,
            self.summary_dock,
            self.problems_dock,
        ):
            panels.addAction(dock.toggleViewAction())

    def _connect_signals(self) -> None:
        doc = self.document
        doc.state_changed.connect(self._on_document_state_changed)
        doc.reset.connect(self._on_document_reset)
        doc.analysis_ready.connect(self._on_document_analysis_ready)
        doc.edit_refused.connect(self._on_status_message)
        self.scene.selection_changed_ids.connect(self._on_scene_selection_changed)
        self.scene.status_message.connect(self._on_status_message)
        self.palette_panel.layer_activated.connect(self._on_palette_layer_activated)
        self.summary.node_activated.connect(self.focus_node)
        self.problems.node_activated.connect(self.focus_node)
        self.problems.fix_requested.connect(self._on_problems_fix_requested)
        self.problems.fix_chosen.connect(self._on_problems_fix_chosen)
        self.problems.counts_changed.connect(self._on_problems_counts_changed)
        self.files.message.connect(self._on_status_message)
        self.files.recent_changed.connect(self._on_files_recent_changed)
        self.exports.started.connect(self._on_status_message)
        self.exports.finished.connect(self._on_status_message)

    # ------------------------------------------------------------ extension
    def add_side_dock(
        self,
        dock: QDockWidget,
        area: _AREA = _AREA.RightDockWidgetArea,
        tabify_with: QDockWidget | None = None,
    ) -> None:
        """Add a tool panel such as the training panel. It joins the tabs of ``tabify_with``:
        by default the Properties/Code tabs on the right, the Summary tab at the bottom. The
        tab the user was looking at stays in front."""
        if tabify_with is None:
            tabify_with = {
                _AREA.RightDockWidgetArea: self.code_dock,
                _AREA.BottomDockWidgetArea: self.summary_dock,
            }.get(area)
        self.dock_layout.place(dock, area, tabify_with)
        if self.dock_layout.restored and self.restoreDockWidget(dock):
            pass  # where the user had it last session
        elif tabify_with is not None:
            shown = [
                d
                for d in (tabify_with, *self.tabifiedDockWidgets(tabify_with))
                if not d.visibleRegion().isEmpty()
            ]
            self.tabifyDockWidget(tabify_with, dock)
            if shown:
                shown[0].raise_()  # the tab the user was looking at stays in front
        self.action_registry.menus["panels"].addAction(dock.toggleViewAction())

    @property
    def run_menu(self):
        """The Run menu, where training actions go (after the separator)."""
        return self.action_registry.menus["run"]

    # -------------------------------------------------------------- commands
    def add_layer_at_center(self, type_id: str) -> str | None:
        """Add a layer in the middle of the visible canvas; its node id."""
        centre = self.view.mapToScene(self.view.viewport().rect().center())
        return self.scene.add_layer(type_id, centre)

    def focus_node(self, node_id: str) -> None:
        """Select a node of the top graph (leaving any open block) and bring it into view."""
        self.level.go_top()
        self.show_node(node_id)

    def show_node(self, node_id: str) -> None:
        """Select a node of the graph the canvas shows and bring it into view."""
        self.scene.select_nodes([node_id])
        self.view.center_on_node(node_id)

    def fit_view(self) -> None:
        """Zoom so the whole graph is visible."""
        self.view.fit_all()

    def frame_start(self) -> None:
        """Show a freshly opened graph whole (zoomed out, nodes keep their names readable)."""
        self.view.fit_all()

    def do_auto_layout(self, direction: str) -> None:
        """Arrange the graph top-to-bottom ("TB") or left-to-right ("LR") and fit it; the
        direction is the document's from then on (saved with it, one undo step)."""
        self.scene.auto_layout(direction)
        self.fit_view()

    def do_check_model(self) -> None:
        """Re-run the analysis and show the problems panel."""
        self.document.reanalyze()
        self.problems_dock.show()
        self.problems_dock.raise_()

    def apply_fix(self, diagnostic: Diagnostic, index: int = 0) -> bool:
        """Apply one of the diagnostic's suggested fixes (the first by default) as one
        undoable edit; a problem inside a block is fixed in its definition."""
        if len(diagnostic.location) > 1:
            return self.blocks_ui.apply_fix(diagnostic, index)
        return bool(self.scene.apply_fix(diagnostic, index))

    # ----------------------------------------------------------------- slots
    def _on_document_state_changed(self) -> None:
        doc = self.document
        self.setWindowTitle(f"{doc.display_name}[*] — DL Studio")
        self.setWindowModified(doc.is_modified)
        stack = doc.undo_stack
        self.action_registry.undo.setEnabled(stack.can_undo)
        self.action_registry.redo.setEnabled(stack.can_redo)
        self.action_registry.undo.setText(f"&Undo {stack.undo_text}" if stack.can_undo else "&Undo")
        self.action_registry.redo.setText(f"&Redo {stack.redo_text}" if stack.can_redo else "&Redo")

    def _on_document_reset(self) -> None:
        # Queued: the scene rebuilds its items on the same signal; and again after the dock
        # layout settles, whose first pass may still change the canvas's size.
        QTimer.singleShot(0, self, self.frame_start)
        QTimer.singleShot(50, self, self.frame_start)

    def _on_document_analysis_ready(self, result: AnalysisResult) -> None:
        self.params_label.setText(f"{result.total_params:,} parameters")

    def _on_problems_counts_changed(self, errors: int, warnings: int) -> None:
        # The title and the status bar say the same counts, in the same words.
        counts = count_text(errors, warnings)
        self.problems_dock.setWindowTitle(f"Problems ({counts})" if counts else "Problems")
        if errors or warnings:
            colour = "#f07b74" if errors else "#e0a526"
            self.problems_label.setText(f"<span style='color:{colour}'>● {counts}</span>")
        elif self.document.is_empty:
            self.problems_label.setText("<span style='color:#9aa0a8'>● empty model</span>")
        else:
            self.problems_label.setText("<span style='color:#63d297'>● ready</span>")

    def _on_scene_selection_changed(self, ids: list[str]) -> None:
        self.properties.set_selection(ids)
        self.summary.select_locations([(*self.level.path, node_id) for node_id in ids])

    def _on_palette_layer_activated(self, type_id: str) -> None:
        if self.add_layer_at_center(type_id) is not None:
            self.view.setFocus()

    def _on_problems_fix_requested(self, diagnostic: Diagnostic) -> None:
        self.apply_fix(diagnostic)

    def _on_problems_fix_chosen(self, diagnostic: Diagnostic, index: int) -> None:
        self.apply_fix(diagnostic, index)

    def _on_status_message(self, text: str) -> None:
        self.statusBar().showMessage(text, 6000)

    def _on_files_recent_changed(self, recent: list[str]) -> None:
        menu = self.action_registry.menus["recent"]
        menu.clear()
        for path in recent:
            action = menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.setStatusTip(path)
            action.triggered.connect(lambda _=False, p=path: self.files.open_path(p))
        if recent:
            menu.addSeparator()
            menu.addAction("Clear Recent Files", self.files.clear_recent)
        menu.setEnabled(bool(recent))

    # ------------------------------------------------------------ Qt events
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if _dropped_project(event) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        path = _dropped_project(event)
        if path is not None:
            event.acceptProposedAction()
            self.files.open_path(path)

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.files.maybe_save():
            event.ignore()
            return
        self.autosaver.timer.stop()
        self.autosaver.store.remove()
        self.dock_layout.save(app_settings())
        event.accept()

    def restore_layout(self) -> None:
        """Restore the window's size and dock arrangement from the last session."""
        self.dock_layout.restore(app_settings())


def _dropped_project(event: QDragEnterEvent | QDropEvent) -> Path | None:
    data = event.mimeData()
    if not data.hasUrls():
        return None
    for url in data.urls():
        if url.isLocalFile() and url.toLocalFile().lower().endswith(".json"):
            return Path(url.toLocalFile())
    return None

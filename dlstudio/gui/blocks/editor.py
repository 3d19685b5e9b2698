"""``BlockEditor``: the main window's block features in one place: the breadcrumb bar above the
canvas, Back (Esc), Group (Ctrl+G), Ungroup (Ctrl+Shift+G), Insert Project as Block, the
palette's Blocks section, and jumps from the Problems and Summary panels into blocks."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QPointF, Qt, QTimer
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox, QVBoxLayout, QWidget

from dlstudio.analysis import Diagnostic
from dlstudio.core import DLStudioError, GraphEvent, load_project
from dlstudio.core.block_insert import insert_project_as_block
from dlstudio.gui.blocks import library as block_library
from dlstudio.gui.blocks.breadcrumb import BreadcrumbBar
from dlstudio.gui.blocks.edits import free_definition_name
from dlstudio.gui.folders import ask_open_file
from dlstudio.layers.validation import check_node

if TYPE_CHECKING:
    from dlstudio.gui.main_window import MainWindow


class BlockEditor(QObject):
    """Installed once per window (:func:`install_block_editor`)."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.level = window.level
        self.scene = window.scene
        self.breadcrumb = BreadcrumbBar(self.level, window)
        self._views: dict[tuple[str, ...], tuple[float | None, QPointF]] = {}
        self._shown_path: tuple[str, ...] = ()
        self._palette_names: list[str] = []
        self.canvas = QWidget(window)
        self.canvas.setObjectName("canvas_area")
        column = QVBoxLayout(self.canvas)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.breadcrumb)
        column.addWidget(window.view)
        window.setCentralWidget(self.canvas)
        self.actions: dict[str, QAction] = {}
        self._make_actions()
        self.breadcrumb.instance_selected.connect(self._on_breadcrumb_instance_selected)
        self.level.about_to_rebind.connect(self._remember_view)
        self.level.level_changed.connect(self._on_level_changed)
        window.document.reset.connect(self.refresh_palette)
        window.document.graph_event.connect(self._on_document_graph_event)
        window.palette_panel.block_activated.connect(self._on_palette_block_activated)
        window.problems.location_activated.connect(self.focus_location)
        window.summary.location_activated.connect(self.focus_location)
        self.refresh_palette()

    # --------------------------------------------------------------- actions
    def _make_actions(self) -> None:
        view = self.window.view
        specs = [
            ("back", "&Back", "Alt+Left", self.go_back, "Back to the graph around this block"),
            ("open_block", "&Open Block", "Ctrl+Return", self.open_selected, "Edit inside"),
            ("group", "&Group into Block", "Ctrl+G", self.group, "Group the selection"),
            ("ungroup", "&Ungroup", "Ctrl+Shift+G", self.ungroup, "Ungroup the selected block"),
        ]
        for name, text, keys, slot, tip in specs:
            action = QAction(text, view)
            action.setObjectName(f"action_{name}")
            action.setShortcut(QKeySequence(keys))
            # Only while the canvas has focus: Esc in a panel's field must not leave the block.
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.setToolTip(f"{tip} ({QKeySequence(keys).toString()})")
            action.triggered.connect(lambda _=False, s=slot: s())
            view.addAction(action)
            self.actions[name] = action
        self.actions["back"].setEnabled(False)
        self.actions["back"].setToolTip("Back to the graph around this block (Esc, Alt+Left)")
        # Esc is not a shortcut: a shortcut would fire before the rename editor on the canvas
        # could cancel with it. Only an Esc nothing else took goes back.
        view.installEventFilter(self)
        insert = QAction("Insert Project as &Block…", self.window)
        insert.setObjectName("action_insert_project")
        insert.setToolTip("Insert a saved model as one block (optionally with its weights)")
        insert.triggered.connect(lambda _=False: self.insert_project_dialog())
        self.actions["insert_project"] = insert
        menus: dict[str, QMenu] = {}
        for a in self.window.menuBar().actions():
            menu = a.menu()
            if isinstance(menu, QMenu):
                menus[menu.title().replace("&", "")] = menu
        edit = menus.get("Edit")
        if edit is not None:
            edit.addSeparator()
            edit.addActions([self.actions[n] for n in ("group", "ungroup", "open_block", "back")])
        file_menu = menus.get("File")
        if file_menu is not None:
            separators = [a for a in file_menu.actions() if a.isSeparator()]
            if separators:
                file_menu.insertAction(separators[0], insert)
            else:
                file_menu.addAction(insert)
        for name, action in self.actions.items():
            self.window.action_registry.by_name[name] = action

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            watched is self.window.view
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Escape
            and self.level.path
        ):
            self.go_back()
            return True
        return super().eventFilter(watched, event)

    # ------------------------------------------------------------ navigation
    def go_back(self) -> bool:
        """One level up (the graph around the open block)."""
        return self.level.go_up()

    def open_selected(self) -> bool:
        """Open the one selected block instance."""
        ids = self.scene.selected_node_ids()
        return len(ids) == 1 and self.scene.open_block(ids[0])

    def focus_location(self, location: tuple[str, ...]) -> bool:
        """Open the blocks on the way to an inner node (node ids from the top graph down) and
        select it; False when the path no longer exists."""
        *path, node_id = location
        if tuple(path) != self.level.path and not self.level.open_path(path):
            return False
        self.window.show_node(node_id)
        return True

    def _on_breadcrumb_instance_selected(self, node_id: str) -> None:
        self.scene.select_nodes([node_id])
        self.window.view.center_on_node(node_id)

    def _remember_view(self) -> None:
        """Keep the zoom and centre of the level being left (None for its zoom: it was fitted),
        taken before the canvas shows the next level (a fitted view refits to it at once)."""
        view = self.window.view
        centre = view.mapToScene(view.viewport().rect().center())
        self._views[self._shown_path] = (None if view.fitted else view.zoom(), centre)

    def _on_level_changed(self) -> None:
        path = self.level.path
        if path == self._shown_path:
            return
        going_up = len(path) < len(self._shown_path)
        self._shown_path = path
        self.actions["back"].setEnabled(bool(path))
        saved = self._views.get(path) if going_up else None
        # Queued: the scene rebuilds its items on the same signal.
        QTimer.singleShot(0, self, lambda: self._frame(saved))

    def _frame(self, saved: tuple[float | None, QPointF] | None) -> None:
        zoom, centre = saved if saved is not None else (None, QPointF())
        if zoom is None:  # a new level, or one left fitted: fit it
            self.window.frame_start()
            return
        self.window.view.set_zoom(zoom)
        self.window.view.centerOn(centre)

    # ------------------------------------------------------------------ edits
    def group(self) -> str | None:
        """Group the selection into a new block (named Block, Block2...)."""
        return self.scene.group_selection()

    def ungroup(self) -> bool:
        """Ungroup the selected block instances."""
        return self.scene.ungroup_selection()

    def apply_fix(self, diagnostic: Diagnostic, index: int = 0) -> bool:
        """Apply a fix (the first by default) of a problem inside a block: open the block, fix
        the inner node (one undo step that every instance follows)."""
        location = diagnostic.location
        if not self.focus_location(tuple(location)):
            return False
        inner = replace(diagnostic, node_id=location[-1], location=(location[-1],))
        return bool(self.scene.apply_fix(inner, index))

    def insert_project(self, path: str | Path, weights: str | Path | None = None) -> str | None:
        """Insert the project at ``path`` as one block in the middle of the view (its trained
        ``weights`` load into the instance when it is compiled): one undo step; the new
        instance's id, or None with the reason in the status bar."""
        try:
            project = load_project(path, node_checker=check_node)
        except DLStudioError as exc:
            self.window.statusBar().showMessage(f"Cannot insert {Path(path).name}: {exc}", 8000)
            return None
        root = self.window.document.graph
        base = "".join(p[:1].upper() + p[1:] for p in _words(project.name or Path(path).stem))
        name = free_definition_name(root.blocks, base or "Model")
        view = self.window.view
        centre = view.mapToScene(view.viewport().rect().center())
        before = set(self.level.graph.nodes)
        try:
            command = insert_project_as_block(
                root,
                project,
                name,
                (centre.x() - 90.0, centre.y() - 35.0),
                weights=str(weights) if weights else None,
                where=self.level.definition,
            )
        except DLStudioError as exc:
            self.window.statusBar().showMessage(f"Cannot insert {Path(path).name}: {exc}", 8000)
            return None
        if not self.window.document.push(command):
            return None
        new = [n for n in self.level.graph.nodes if n not in before]
        self.scene.select_nodes(new)
        self.window.statusBar().showMessage(f"Inserted {Path(path).name} as block {name}", 6000)
        return new[0] if new else None

    def insert_project_dialog(self) -> str | None:
        """Ask for a project file (and, optionally, its weights), then insert it."""
        path = ask_open_file(self.window, "Insert Project as Block", "DL Studio projects (*.json)")
        if not path:
            return None
        weights = None
        answer = QMessageBox.question(
            self.window,
            "Insert Project as Block",
            "Load trained weights into the block too?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer == QMessageBox.StandardButton.Yes:
            weights, _ = QFileDialog.getOpenFileName(
                self.window,
                "Weights of the inserted project",
                str(Path(path).parent),
                "Weights (*.safetensors *.pt)",
            )
        return self.insert_project(path, weights or None)

    # --------------------------------------------------------------- palette
    def refresh_palette(self) -> None:
        """Show the project's definitions and the built-in library in the palette."""
        self._palette_names = list(self.window.document.blocks)
        project = [(n, d.description) for n, d in self.window.document.blocks.items()]
        library = [(n, d.description) for n, d in block_library.library_blocks().items()]
        self.window.palette_panel.set_blocks(project, library)

    def _on_palette_block_activated(self, source: str, name: str) -> None:
        view = self.window.view
        centre = view.mapToScene(view.viewport().rect().center())
        if self.scene.add_block(source, name, centre) is not None:
            view.setFocus()

    def _on_document_graph_event(self, event: GraphEvent) -> None:
        # Inner edits fire this too: redraw the palette only when the set of names changed.
        if event.kind == GraphEvent.BLOCKS_CHANGED and self._palette_names != list(
            self.window.document.blocks
        ):
            self.refresh_palette()


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[^A-Za-z0-9]+", text) if w]


def install_block_editor(window: MainWindow) -> BlockEditor:
    """Add the block features to a main window."""
    return BlockEditor(window)

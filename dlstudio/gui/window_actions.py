"""The main window's actions, menus and toolbar, in one table-like place.

Actions call the window's small ``do_*`` methods, so menus, toolbar, shortcuts and tests share
one path to every command.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import QMenu, QMessageBox, QToolBar, QToolButton, QWidget

from dlstudio.gui.theme import icon

if TYPE_CHECKING:
    from dlstudio.gui.main_window import MainWindow

Key = QKeySequence.StandardKey


@dataclass
class WindowActions:
    """Every QAction of the window by name (``window.action_registry.undo``), plus the menus."""

    by_name: dict[str, QAction] = field(default_factory=dict)
    menus: dict[str, QMenu] = field(default_factory=dict)
    toolbar: QToolBar | None = None
    """The main toolbar, once built."""
    toolbar_groups: list[tuple[int, list[QAction]]] = field(default_factory=list)
    """The toolbar's groups in order, each with a priority: a narrow window drops the lowest
    first (all stay in the menus), so Train/Pause/Stop never fall off the end."""

    def add_toolbar_group(self, bar: QToolBar, priority: int, actions: list[QAction]) -> None:
        """Append a group of actions (a separator before it) to the toolbar."""
        self.toolbar_groups.append((priority, list(actions)))
        self.fit_toolbar(bar, None)

    def fit_toolbar(self, bar: QToolBar, width: int | None) -> None:
        """Show the groups that fit in ``width`` pixels (all when None), highest priority
        first; the toolbar is rebuilt only when the set of shown groups changes."""
        shown = list(range(len(self.toolbar_groups)))
        if width is not None:
            spare = width - 16
            sizes = [_group_width(bar, actions) for _, actions in self.toolbar_groups]
            by_priority = sorted(shown, key=lambda i: self.toolbar_groups[i][0])
            while sum(sizes[i] for i in shown) > spare and len(shown) > 1:
                shown.remove(by_priority.pop(0))
        if getattr(bar, "_shown_groups", None) == shown:
            return
        bar._shown_groups = shown  # type: ignore[attr-defined]
        bar.clear()
        for n, i in enumerate(shown):
            if n:
                bar.addSeparator()
            bar.addActions(self.toolbar_groups[i][1])
        for _, actions in self.toolbar_groups:
            for action in actions:
                label_toolbar_button(bar, action)

    def __getattr__(self, name: str) -> QAction:
        try:
            return self.__dict__["by_name"][name]
        except KeyError:
            raise AttributeError(name) from None


def _action(
    window: MainWindow,
    actions: WindowActions,
    name: str,
    text: str,
    slot,
    shortcut: QKeySequence | Key | str | None = None,
    icon_name: str | None = None,
    tip: str = "",
    checkable: bool = False,
) -> QAction:
    action = QAction(text, window)
    action.setObjectName(f"action_{name}")
    if icon_name:
        action.setIcon(icon(icon_name))
    if shortcut is not None:
        if isinstance(shortcut, Key):
            action.setShortcuts(QKeySequence.keyBindings(shortcut))
        else:
            action.setShortcut(QKeySequence(shortcut))
    tip = tip or text.replace("&", "").rstrip(".…")
    if action.shortcut().toString():
        tip += f" ({action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})"
    action.setToolTip(tip)
    action.setStatusTip(tip)
    action.setCheckable(checkable)
    if checkable:
        action.toggled.connect(slot)
    else:
        action.triggered.connect(lambda _checked=False: slot())
    actions.by_name[name] = action
    return action


def build_actions(window: MainWindow) -> WindowActions:
    """Create the window's actions, menus and main toolbar."""
    a = WindowActions()
    files = window.files
    exports = window.exports
    _action(window, a, "new", "&New", files.new, Key.New, "new", "New empty model")
    _action(
        window,
        a,
        "new_template",
        "New from &Template…",
        files.new_from_template_dialog,
        "Ctrl+Shift+N",
        "template",
        "New model from a template",
    )
    _action(window, a, "open", "&Open…", files.open_dialog, Key.Open, "open", "Open a project")
    _action(
        window,
        a,
        "import_model",
        "&Import Model…",
        window.model_importer.import_dialog,
        tip="Import a PyTorch model (.py or a callable path) or an ONNX file",
    )
    _action(window, a, "save", "&Save", files.save, Key.Save, "save", "Save the project")
    _action(window, a, "save_as", "Save &As…", files.save_as, Key.SaveAs)
    _action(window, a, "quit", "&Quit", window.close, Key.Quit)
    _action(
        window,
        a,
        "export_onnx",
        "&ONNX…",
        exports.export_onnx,
        None,
        "export",
        "Export to ONNX with a parity check",
    )
    _action(window, a, "export_python", "&Python Code…", exports.export_python, None, "code")
    _action(window, a, "export_weights", "&Weights…", exports.export_weights)
    _action(window, a, "export_image", "P&icture (PNG/SVG)…", exports.export_image, None, "image")

    _action(window, a, "undo", "&Undo", window.document.undo, Key.Undo, "undo")
    _action(window, a, "redo", "&Redo", window.document.redo, Key.Redo, "redo")
    # The canvas owns its editing actions (shortcuts active while it has focus, so typing in a
    # panel never deletes nodes); the window lists them in its menus and toolbar.
    view_icons = {
        "cut": "cut",
        "copy": "copy",
        "paste": "paste",
        "duplicate": "duplicate",
        "delete": "delete",
        "fit": "fit",
        "zoom_in": "zoom-in",
        "zoom_out": "zoom-out",
        "snap": "grid",
        "auto_layout": "layout-tb",
    }
    for name, action in window.view.edit_actions.items():
        if name in view_icons:
            action.setIcon(icon(view_icons[name]))
        keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        tip = action.text().replace("&", "").rstrip(".…")
        action.setToolTip(f"{tip} ({keys})" if keys else tip)
        a.by_name[name] = action
    _action(
        window,
        a,
        "layout_tb",
        "Layout Top to &Bottom",
        lambda: window.do_auto_layout("TB"),
        None,
        "layout-tb",
        "Arrange the layers top to bottom",
    )
    _action(
        window,
        a,
        "layout_lr",
        "Layout Left to &Right",
        lambda: window.do_auto_layout("LR"),
        None,
        "layout-lr",
        "Arrange the layers left to right",
    )
    _action(
        window,
        a,
        "check",
        "&Check Model",
        window.do_check_model,
        "F7",
        "check",
        "Analyse the model and show its problems",
    )
    _action(
        window,
        a,
        "reset_layout",
        "&Reset Layout",
        window.reset_layout,
        None,
        None,
        "Put every panel back where it starts, at its default size",
    )
    _action(window, a, "user_guide", "Editor &Guide", lambda: show_user_guide(), Key.HelpContents)
    _action(window, a, "about", "&About DL Studio", lambda: show_about(window))
    _build_menus(window, a)
    _build_toolbar(window, a)
    return a


def _build_menus(window: MainWindow, a: WindowActions) -> None:
    bar = window.menuBar()
    file_menu = a.menus["file"] = bar.addMenu("&File")
    file_menu.addActions([a.new, a.new_template, a.open])
    a.menus["recent"] = file_menu.addMenu("Open &Recent")
    file_menu.addAction(a.import_model)
    file_menu.addSeparator()
    file_menu.addActions([a.save, a.save_as])
    file_menu.addSeparator()
    file_menu.addAction(a.quit)

    edit = bar.addMenu("&Edit")
    edit.addActions([a.undo, a.redo])
    edit.addSeparator()
    edit.addActions([a.cut, a.copy, a.paste, a.duplicate, a.delete])
    edit.addSeparator()
    edit.addActions([a.select_all, a.rename])
    edit.addSeparator()
    edit.addActions([a.auto_layout, a.layout_tb, a.layout_lr, a.snap])

    view = bar.addMenu("&View")
    view.addActions([a.fit, a.zoom_in, a.zoom_out, a.zoom_reset])
    view.addSeparator()
    a.menus["panels"] = view.addMenu("&Panels")
    view.addAction(a.reset_layout)
    a.menus["view"] = view

    a.menus["run"] = run = bar.addMenu("&Run")
    run.addAction(a.check)
    run.addSeparator()
    # The training panel adds its actions (Train, Stop...) below this separator.
    a.menus["export"] = export_menu = bar.addMenu("E&xport")
    export_menu.addActions([a.export_onnx, a.export_python, a.export_weights])
    export_menu.addSeparator()
    export_menu.addAction(a.export_image)
    a.menus["help"] = help_menu = bar.addMenu("&Help")
    help_menu.addActions([a.user_guide, a.about])


TOOLBAR_LABEL = "toolbar_label"
"""Property of an action whose toolbar button shows its name beside the icon (Train)."""


def label_toolbar_button(bar: QToolBar, action: QAction) -> None:
    """Show ``action``'s name beside its icon when it asks for it (TOOLBAR_LABEL)."""
    button = bar.widgetForAction(action)
    if isinstance(button, QToolButton) and action.property(TOOLBAR_LABEL):
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)


def _group_width(bar: QToolBar, actions: list[QAction]) -> int:
    """Pixels a toolbar group takes: its buttons (a labelled one with its text) and the
    separator before it."""
    button = bar.iconSize().width() + 14
    labels = sum(
        bar.fontMetrics().horizontalAdvance(a.iconText()) + 8
        for a in actions
        if a.property(TOOLBAR_LABEL)
    )
    return len(actions) * button + labels + 13


def _build_toolbar(window: MainWindow, a: WindowActions) -> None:
    bar = QToolBar("Main toolbar", window)
    bar.setObjectName("main_toolbar")
    bar.setIconSize(QSize(20, 20))
    bar.setMovable(False)
    bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
    # Priorities: the higher, the longer a group stays when the window narrows.
    for priority, group in (
        (9, [a.new, a.new_template, a.open, a.save]),
        (8, [a.undo, a.redo]),
        (2, [a.cut, a.copy, a.paste, a.duplicate, a.delete]),
        (4, [a.layout_tb, a.layout_lr, a.snap]),
        (6, [a.zoom_in, a.zoom_out, a.fit]),
        (5, [a.check, a.export_onnx, a.export_python, a.export_image]),
    ):
        a.toolbar_groups.append((priority, group))
    a.fit_toolbar(bar, None)
    window.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
    a.toolbar = bar


def show_user_guide() -> None:
    """Open the editor guide (docs/editor.md) with the system's viewer."""
    guide = Path(__file__).resolve().parents[2] / "docs" / "editor.md"
    QDesktopServices.openUrl(QUrl.fromLocalFile(str(guide)))


def show_about(parent: QWidget) -> None:
    """A short About box."""
    QMessageBox.about(
        parent,
        "About DL Studio",
        "<b>DL Studio</b><br>Build neural networks visually: layers are nodes, shapes are "
        "checked while you draw, and the drawing becomes real PyTorch that trains and "
        "exports to ONNX.",
    )

"""Choosing a data set from disk: a data file (CSV, NumPy, MNIST IDX) or a folder (images in
one sub-folder per class, or the MNIST IDX files), from the browse button's menu."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMenu, QToolButton

from dlstudio.gui.folders import last_folder, remember_folder

DATA_FILTER = "Data (*.csv *.npy *.npz *ubyte *.gz *.tar.gz);;All files (*)"


def install_source_menu(
    button: QToolButton, chosen: Callable[[str], None]
) -> tuple[QAction, QAction]:
    """Give ``button`` a menu with *Data File…* and *Folder…*; ``chosen(path)`` gets the pick.
    Returns the two actions."""
    menu = QMenu(button)
    file_action = menu.addAction("Data File (CSV, NumPy, IDX)…")
    file_action.setToolTip("A table (.csv), arrays (.npy, .npz) or an MNIST IDX file")
    folder_action = menu.addAction("Folder (images by class, or MNIST IDX files)…")
    folder_action.setToolTip(
        "A folder with one sub-folder of images per class (cats/, dogs/), or the four MNIST "
        "IDX files"
    )
    button.setMenu(menu)
    button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)

    def pick_file() -> None:
        path, _ = QFileDialog.getOpenFileName(
            button, "Train on a data file", str(last_folder()), DATA_FILTER
        )
        if path:
            remember_folder(path)
            chosen(path)

    def pick_folder() -> None:
        path = QFileDialog.getExistingDirectory(
            button, "Train on a folder of images or IDX files", str(last_folder())
        )
        if path:
            remember_folder(path)  # its parent: the next pick is often a sibling folder
            chosen(path)

    file_action.triggered.connect(pick_file)
    folder_action.triggered.connect(pick_folder)
    return file_action, folder_action

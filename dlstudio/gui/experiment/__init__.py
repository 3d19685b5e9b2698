"""The whole experiment in the window: Export › Training Script… / Training Notebook…,
File › Compare With… (side by side, and marks on the canvas), and two runs of the run history
compared by their architecture."""

from __future__ import annotations

from typing import Any

from dlstudio.gui.experiment.compare_dialog import CompareDialog, RunArchitectureDialog
from dlstudio.gui.experiment.diff_view import ModelDiffView
from dlstudio.gui.experiment.exports import ExperimentExports

__all__ = [
    "CompareDialog",
    "ExperimentExports",
    "ExperimentUI",
    "ModelDiffView",
    "RunArchitectureDialog",
    "install_experiment_ui",
]


class ExperimentUI:
    """What :func:`install_experiment_ui` added to a window (its actions, exports, dialog)."""

    def __init__(self, window: Any) -> None:
        self.window = window
        self.exports = ExperimentExports(window.document, window)
        self.exports.finished.connect(window.statusBar().showMessage)
        self.compare_dialog: CompareDialog | None = None

    def compare(self) -> CompareDialog:
        """Open (or raise) the Compare With window."""
        if self.compare_dialog is None:
            training = getattr(self.window, "training", None)
            self.compare_dialog = CompareDialog(self.window, getattr(training, "store", None))
        else:
            self.compare_dialog.reload_runs()
        self.compare_dialog.show()
        self.compare_dialog.raise_()
        return self.compare_dialog


def install_experiment_ui(window: Any) -> ExperimentUI:
    """Add the Export menu's training script and notebook items and File › Compare With…."""
    from PySide6.QtGui import QAction

    ui = ExperimentUI(window)
    actions = window.action_registry

    def add(name: str, text: str, slot: Any, tip: str, checkable: bool = False) -> QAction:
        action = QAction(text, window)
        action.setStatusTip(tip)
        action.setCheckable(checkable)
        if checkable:
            action.toggled.connect(slot)
        else:
            action.triggered.connect(lambda _checked=False: slot())
        actions.by_name[name] = action
        return action

    script = add(
        "export_train_script",
        "Training &Script…",
        ui.exports.export_script,
        "A train.py with the model, data set, optimizer, schedule, loss, metrics and seed",
    )
    notebook = add(
        "export_notebook",
        "Training &Notebook…",
        ui.exports.export_notebook,
        "The training script as a Jupyter notebook, with the layers explained",
    )

    def set_embed(on: bool) -> None:
        ui.exports.embed_data = on

    embed = add(
        "export_embed_data",
        "Write the Data Loader into the Script",
        set_embed,
        "Off: the script imports DL Studio's loader; on: it carries it (no DL Studio needed)",
        checkable=True,
    )
    export_menu = actions.menus["export"]
    export_menu.addSeparator()
    export_menu.addActions([script, notebook, embed])
    compare = add(
        "compare_with",
        "Compare &With…",
        ui.compare,
        "Compare this model with another project or a past run's model",
    )
    file_menu = actions.menus["file"]
    listed = file_menu.actions()
    after = listed.index(actions.by_name["import_model"]) + 1
    file_menu.insertAction(listed[after] if after < len(listed) else None, compare)
    return ui

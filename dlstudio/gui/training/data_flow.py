"""Train checks the data set first: a mismatch is shown at once with its fixes as buttons.

A mixin of :class:`~dlstudio.gui.training.controller.TrainingController` (kept apart so each
file stays readable); the check itself is :mod:`dlstudio.gui.training.data_check`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QMessageBox

from dlstudio.analysis import Diagnostic
from dlstudio.analysis.fixes import command_for_fix
from dlstudio.core.errors import DLStudioError
from dlstudio.gui.canvas.placement import place_new_nodes
from dlstudio.gui.training.data_box import data_problem_box
from dlstudio.gui.training.data_check import DataCheck

if TYPE_CHECKING:
    from dlstudio.gui.training.controller import TrainingController


class DataFitMixin:
    """Applying data fixes, and the check Train makes before it starts a run."""

    def _install_data_check(self: TrainingController) -> None:
        """Keep the panel's preview and problems up to date with the document."""
        self.data_check = DataCheck(self.document, self)
        self.data_problem_box: QMessageBox | None = None
        data_box = self.panel.data_box
        self.data_check.report_ready.connect(data_box.show_report)
        data_box.fix_requested.connect(self.apply_data_fix)
        data_box.download_finished.connect(lambda *_: self.data_check.refresh())
        self.data_check.schedule()

    def apply_data_fix(self: TrainingController, diagnostic: Diagnostic, index: int) -> bool:
        """Apply a data problem's fix (an option, the Input, the class count) as one edit."""
        try:
            command = command_for_fix(
                self.document.graph, diagnostic.node_id or "", diagnostic.fixes[index]
            )
        except (DLStudioError, IndexError) as exc:
            self.monitor.append_log(f"could not apply the fix: {exc}", "error")
            return False
        ok = self.document.push(place_new_nodes(self.document.graph, command))
        if ok:
            self.monitor.append_log(f"Applied: {diagnostic.fixes[index].label}")
            self.data_check.schedule()
        return ok

    def _data_fits(self: TrainingController) -> bool:
        """Check the data set against the drawing now; show what does not fit, with its fixes."""
        report = self.data_check.check_now()
        if not report.error and not report.errors:
            return True
        data_box = self.panel.data_box

        def fix_and_train(diagnostic: Diagnostic, index: int) -> None:
            if self.apply_data_fix(diagnostic, index):
                # Through Run > Train where there is one, so the curves come forward too.
                train = getattr(self, "actions", {}).get("train")
                if train is not None:
                    train.trigger()
                else:
                    self.start()

        def download() -> None:
            data_box.start_download()

        downloadable = data_box.downloadable() if report.error else None
        self.data_problem_box = data_problem_box(
            self.window, report, fix_and_train, download if downloadable else None
        )
        return False

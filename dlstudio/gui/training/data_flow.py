"""Train checks the data set first: a mismatch is shown at once with its fixes as buttons.

Loading a data set can take seconds, so when no check of the current settings has arrived
yet, Train asks for one on a worker, shows that it is checking, and starts (or shows the
problem) when the report comes: the GUI thread never loads data.

A mixin of :class:`~dlstudio.gui.training.controller.TrainingController` (kept apart so each
file stays readable); the check itself is :mod:`dlstudio.gui.training.data_check`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QMetaMethod, QObject, SignalInstance
from PySide6.QtWidgets import QMessageBox, QWidget

from dlstudio.analysis import Diagnostic
from dlstudio.analysis.fixes import command_for_fix
from dlstudio.core.errors import DLStudioError
from dlstudio.gui.canvas.placement import place_new_nodes
from dlstudio.gui.training.data_box import data_problem_box
from dlstudio.gui.training.data_check import DataCheck, DataReport

if TYPE_CHECKING:
    from dlstudio.gui.document import Document
    from dlstudio.gui.training.history import RunRecord
    from dlstudio.gui.training.monitor import TrainingMonitor
    from dlstudio.gui.training.panel import TrainingPanel


class DataFitMixin:
    """Applying data fixes, and the check Train makes before it starts a run (attributes are
    the TrainingController's, declared here so a type checker holds both sides to them)."""

    document: Document
    panel: TrainingPanel
    monitor: TrainingMonitor
    window: QWidget
    train_requested: SignalInstance
    start: Callable[..., RunRecord | None]
    isSignalConnected: Callable[[QMetaMethod], bool]
    data_check: DataCheck
    data_problem_box: QMessageBox | None
    waiting_for_data: bool

    def _install_data_check(self) -> None:
        """Keep the panel's preview and problems up to date with the document."""
        assert isinstance(self, QObject), "mixed into the TrainingController, a QObject"
        self.data_check = DataCheck(self.document, self)
        self.data_problem_box = None
        data_box = self.panel.data_box
        self.data_check.report_ready.connect(data_box.show_report)
        data_box.fix_requested.connect(self.apply_data_fix)
        data_box.download_finished.connect(lambda *_: self.data_check.refresh())
        self.data_check.wanted = data_box.isVisible
        data_box.shown.connect(self._on_data_box_shown)
        self.waiting_for_data = False
        """Train was pressed and waits for the data set's check (see :meth:`_data_fits`)."""
        self.data_check.report_ready.connect(self._on_data_report)
        self.document.reset.connect(self._stop_waiting_for_data)  # another project: no run
        self.data_check.schedule()

    def _on_data_box_shown(self) -> None:
        if self.data_check.current() is None:
            self.data_check.schedule()

    def apply_data_fix(self, diagnostic: Diagnostic, index: int) -> bool:
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

    def _data_fits(self) -> bool:
        """Whether the data set fits the drawing, by the current check's report; what does not
        fit is shown with its fixes. Without a current report: False, and a check starts on a
        worker; Train goes on when it arrives (:meth:`_on_data_report`)."""
        report = self.data_check.current()
        if report is None:
            if not self.waiting_for_data:
                self.waiting_for_data = True
                self.data_check.forced = True
                self.panel.show_busy("Checking the data set…")
                self.data_check.refresh()
            return False
        return self._report_fits(report)

    def _on_data_report(self, report: object) -> None:
        if not self.waiting_for_data or self.data_check.current() is None:
            return  # not waited for, or a report for settings that have changed since
        self._stop_waiting_for_data()
        self._train_again()

    def _stop_waiting_for_data(self) -> None:
        if self.waiting_for_data:
            self.waiting_for_data = False
            self.data_check.forced = False
            self.panel.show_busy("")

    def _train_again(self) -> None:
        # Through Run > Train where the window has one, so the curves come forward too.
        if self.isSignalConnected(QMetaMethod.fromSignal(self.train_requested)):
            self.train_requested.emit()
        else:
            self.start()

    def _report_fits(self, report: DataReport) -> bool:
        if not report.error and not report.errors:
            return True
        data_box = self.panel.data_box

        def fix_and_train(diagnostic: Diagnostic, index: int) -> None:
            if self.apply_data_fix(diagnostic, index):
                self._train_again()

        def download() -> None:
            data_box.start_download()

        downloadable = data_box.downloadable() if report.error else None
        self.data_problem_box = data_problem_box(
            self.window, report, fix_and_train, download if downloadable else None
        )
        return False

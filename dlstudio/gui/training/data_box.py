"""The Training panel's view of the data set: a preview (samples, shapes, class counts), what
does not fit the drawing with its fixes as buttons, and the Download button with progress."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap, QShowEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from dlstudio.analysis import Diagnostic
from dlstudio.gui.theme import set_role
from dlstudio.gui.training.data_check import DataReport, Sample
from dlstudio.gui.training.downloads import DOWNLOADS, Downloadable, DownloadRunner

THUMB = 36
"""Side of a previewed image, in pixels (its label goes under it); five fit the narrowest
Training panel (1024x700 window)."""
MAX_FIX_BUTTONS = 3


def sample_pixmap(sample: Sample) -> QPixmap:
    """A thumbnail of an image sample with its label underneath."""
    pixmap = QPixmap(THUMB, THUMB + 14)
    pixmap.fill(QColor("#1e2024"))
    painter = QPainter(pixmap)
    image = sample.image
    if image is not None:
        height, width = image.shape[:2]
        fmt = QImage.Format.Format_Grayscale8 if image.ndim == 2 else QImage.Format.Format_RGB888
        line = width if image.ndim == 2 else width * 3
        qimage = QImage(image.data, width, height, line, fmt).copy()
        painter.drawImage(QRect(0, 0, THUMB, THUMB), qimage)
    painter.setPen(QColor("#d8dbe0"))
    font = painter.font()
    font.setPixelSize(10)
    painter.setFont(font)
    painter.drawText(QRect(0, THUMB, THUMB, 14), Qt.AlignmentFlag.AlignCenter, sample.label[:8])
    painter.end()
    return pixmap


def problem_text(diagnostic: Diagnostic) -> str:
    """A data problem's message without the ``training data:`` prefix the Problems list uses."""
    return diagnostic.message.removeprefix("training data: ")


class DataBox(QWidget):
    """Preview, fit problems with fix buttons, and the Download row, below the data-set field."""

    fix_requested = Signal(object, int)
    """(diagnostic, fix index): apply that fix as one undoable edit."""
    download_finished = Signal(str, str)
    """Data-set name and outcome (``""``: done), after a download ended."""
    shown = Signal()
    """The box came on screen (its data set is worth checking now)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.report: DataReport | None = None
        self.downloads = DownloadRunner(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.samples_row = QHBoxLayout()
        self.samples_row.setSpacing(4)
        self.sample_labels: list[QLabel] = []
        layout.addLayout(self.samples_row)
        self.summary_label = self._dim_label()
        self.classes_label = self._dim_label()
        self.problem_label = QLabel(self)
        self.problem_label.setProperty("role", "error")
        self.problem_label.setWordWrap(True)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.classes_label)
        layout.addWidget(self.problem_label)
        self.fix_buttons: list[QPushButton] = []
        self._fix_layout = QVBoxLayout()
        self._fix_layout.setSpacing(2)
        layout.addLayout(self._fix_layout)
        row = QHBoxLayout()
        self.download_button = QPushButton("Download", self)
        self.download_progress = QProgressBar(self)
        self.download_progress.setRange(0, 1000)
        self.download_cancel = QPushButton("Cancel", self)
        row.addWidget(self.download_button)
        row.addWidget(self.download_progress, 1)
        row.addWidget(self.download_cancel)
        layout.addLayout(row)
        self.download_status = self._dim_label()
        layout.addWidget(self.download_status)
        self.download_button.clicked.connect(self.start_download)
        self.download_cancel.clicked.connect(self.downloads.cancel)
        self.downloads.progress.connect(self._on_download_progress)
        self.downloads.finished.connect(self._on_download_finished)
        self.dataset = ""
        self.show_report(None)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.shown.emit()

    def _dim_label(self) -> QLabel:
        label = QLabel(self)
        label.setProperty("role", "dim")
        label.setWordWrap(True)
        return label

    # ------------------------------------------------------------- report
    def set_dataset(self, name: str) -> None:
        """The data set chosen in the panel (decides the Download row)."""
        if name != self.dataset and not self.downloads.busy:
            self.download_status.setText("")
        self.dataset = name
        self._update_download_row()

    def show_report(self, report: DataReport | None) -> None:
        """Show a check's preview and problems (None: nothing checked yet)."""
        self.report = report
        for label in self.sample_labels:
            label.deleteLater()
        self.sample_labels = []
        for sample in report.samples if report else ():
            label = QLabel(self)
            if sample.image is not None:
                label.setPixmap(sample_pixmap(sample))
                label.setToolTip(f"label {sample.label}")
            else:
                label.setText(f"{sample.text} → {sample.label}")
                label.setProperty("role", "dim")
            self.samples_row.addWidget(label)
            self.sample_labels.append(label)
        if self.sample_labels and self.sample_labels[0].pixmap().isNull():
            self._stack_text_samples()
        if report is not None and report.summary:
            self.summary_label.setText(f"{report.summary} · {report.shapes}")
        else:
            self.summary_label.setText("")
        self.classes_label.setText(report.classes if report else "")
        self.summary_label.setVisible(bool(self.summary_label.text()))
        self.classes_label.setVisible(bool(self.classes_label.text()))
        self._show_problems(report)
        self._update_download_row()

    def _stack_text_samples(self) -> None:
        # Text samples (token ids, table rows) are one per line, three at most.
        for index, label in enumerate(self.sample_labels):
            self.samples_row.removeWidget(label)
            if index < 3:
                label.setWordWrap(True)
                layout = self.layout()
                if isinstance(layout, QBoxLayout):
                    layout.insertWidget(index, label)
            else:
                label.hide()

    def _show_problems(self, report: DataReport | None) -> None:
        for button in self.fix_buttons:
            button.deleteLater()
        self.fix_buttons = []
        problems = list(report.problems) if report else []
        text = ""
        if report is not None and report.error:
            text = report.error
        elif problems:
            text = "\n".join(("⚠ " if not p.is_error else "") + problem_text(p) for p in problems)
        self.problem_label.setText(text)
        self.problem_label.setVisible(bool(text))
        # Amber for what only warns (training can go on), red for what stops it.
        stops = bool(report is not None and (report.error or report.errors))
        set_role(self.problem_label, "error" if stops else "warning")
        first = next((p for p in problems if p.fixes), None)
        for index, fix in enumerate(first.fixes[:MAX_FIX_BUTTONS] if first else ()):
            assert first is not None  # no fixes without a problem that has them
            button = QPushButton(fix.label, self)
            # A long label must not widen the side dock: the button takes the width it gets.
            button.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
            button.setToolTip(f"{fix.label}: fixes {problem_text(first)}")
            button.clicked.connect(lambda _=False, d=first, i=index: self.fix_requested.emit(d, i))
            self._fix_layout.addWidget(button)
            self.fix_buttons.append(button)

    # ----------------------------------------------------------- download
    def downloadable(self) -> Downloadable | None:
        """The chosen data set's download, when it is one that is fetched and is not here."""
        item = DOWNLOADS.get(self.dataset)
        if item is None or (item.present() and not self.downloads.busy):
            return None
        return item

    def start_download(self) -> None:
        """Fetch the chosen data set in the background, with progress and Cancel."""
        item = self.downloadable()
        if item is None or self.downloads.start(item) is None:
            return
        self.download_progress.setValue(0)
        self.download_status.setText(f"Downloading {item.title}…")
        self._update_download_row()

    def _update_download_row(self) -> None:
        item = self.downloadable()
        busy = self.downloads.busy
        self.download_button.setVisible(item is not None and not busy)
        if item is not None:
            self.download_button.setText(f"Download {item.title} ({item.size})")
        self.download_progress.setVisible(busy)
        self.download_cancel.setVisible(busy)
        self.download_status.setVisible(
            bool(self.download_status.text())
            and (busy or item is not None or "failed" in self.download_status.text())
        )

    def _on_download_progress(self, name: str, done: int, total: int) -> None:
        if total:
            self.download_progress.setValue(round(1000 * done / total))
        self.download_progress.setFormat(f"{name}: {done / 1e6:.1f} MB")
        self.download_status.setText(f"Downloading {name}…")

    def _on_download_finished(self, name: str, outcome: str) -> None:
        self.download_status.setText(outcome or f"{name} downloaded.")
        self._update_download_row()
        self.download_finished.emit(name, outcome)


def data_problem_box(
    parent: QWidget,
    report: DataReport,
    apply_fix: Callable[[Diagnostic, int], None],
    download: Callable[[], None] | None,
) -> QMessageBox:
    """The box Train shows at once when the data set cannot be used: the problem, and its fixes
    (or Download) as buttons that apply it and train."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    errors = report.errors
    actions: dict[QPushButton, Callable[[], None]] = {}
    if report.error:
        box.setWindowTitle("The data set cannot be loaded")
        box.setText(report.error)
        if download is not None:
            actions[box.addButton("Download", QMessageBox.ButtonRole.AcceptRole)] = download
    else:
        box.setWindowTitle("The data set does not fit the model")
        box.setText(problem_text(errors[0]))
        if len(errors) > 1:
            box.setInformativeText("\n".join(problem_text(p) for p in errors[1:]))
        first = next((p for p in errors if p.fixes), None)
        for index, fix in enumerate(first.fixes[:MAX_FIX_BUTTONS] if first else ()):
            assert first is not None  # no fixes without a problem that has them
            button = box.addButton(fix.label, QMessageBox.ButtonRole.AcceptRole)
            actions[button] = partial(apply_fix, first, index)
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    assert cancel is not None  # a standard button Qt always adds
    box.setDefaultButton(next(iter(actions), cancel))
    box.buttonClicked.connect(lambda button: actions.get(button, lambda: None)())
    box.setModal(False)
    box.open()
    return box

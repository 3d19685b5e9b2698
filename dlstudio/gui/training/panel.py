"""The Training panel: data set, hyper-parameters, device, Start / Pause / Resume / Stop, progress.

The Data group (data set, options, preview, start weights) is :class:`DataArea`.

The fields mirror ``graph.metadata["training"]``; every edit is pushed back as one undoable
:class:`~dlstudio.core.commands.SetMetadata` command, and undo refreshes the fields (a template
therefore opens with its default data set and settings, and Train works at once).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from dlstudio.core import GraphEvent
from dlstudio.core.commands import SetMetadata
from dlstudio.gui.document import Document
from dlstudio.gui.theme import icon
from dlstudio.gui.training.data_area import FILE_ITEM, DataArea
from dlstudio.gui.training.data_tools import DataContext, DataToolsBox
from dlstudio.gui.training.devices import available_devices, split_device
from dlstudio.gui.training.options_text import format_options, parse_options
from dlstudio.gui.training.progress import STEP_PROGRESS_MS, Throttled
from dlstudio.gui.vertical_scroll import VerticalScroll
from dlstudio.train import TrainConfig, TrainError
from dlstudio.train.config import OPTIMIZERS, SCHEDULES
from dlstudio.train.threads import auto_threads


class TrainingPanel(QWidget):
    """Settings and controls of a training run, bound to a :class:`Document`."""

    start_requested = Signal()
    pause_requested = Signal()
    resume_requested = Signal()
    stop_requested = Signal()

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self._loading = False
        self._build()
        document.graph_event.connect(self._on_document_graph_event)
        document.reset.connect(self._on_document_reset)
        self.load_from_document()
        self.set_state("idle")

    # ---------------------------------------------------------------- build
    def _build(self) -> None:
        # Start/Pause/Stop, the progress and the banner come first, at the top of the panel,
        # and the settings scroll below them: nothing that changes size (the status line, the
        # banner, the settings) sits above the buttons, so they never move under the pointer.
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 8)
        outer.setSpacing(8)
        settings = QWidget(self)
        layout = QVBoxLayout(settings)
        layout.setContentsMargins(8, 8, 8, 0)
        layout.setSpacing(8)
        self.banner = QLabel(self)
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet(
            "QLabel { background: #2f3a4d; border: 1px solid #3d7bd9; border-radius: 4px;"
            " padding: 6px; color: #dfe8f5; }"
        )
        self.banner.hide()

        self.data_area = DataArea(self)
        data = self.data_area
        # The data set's and the weights' widgets, by the names the rest of the program knows.
        self.dataset_combo = data.dataset_combo
        self.browse_button = data.browse_button
        self.browse_file_action = data.browse_file_action
        self.browse_folder_action = data.browse_folder_action
        self.dataset_description = data.dataset_description
        self.options_edit = data.options_edit
        self.data_box = data.data_box
        self.init_weights_label = data.init_weights_label
        self.init_weights_button = data.init_weights_button
        self.init_weights_clear = data.init_weights_clear
        data.source_chosen.connect(self._on_source_chosen)
        layout.addWidget(data)

        hyper = QGroupBox("Hyper-parameters", self)
        form = QFormLayout(hyper)
        self.epochs_spin = QSpinBox(hyper)
        self.epochs_spin.setRange(1, 100_000)
        self.batch_spin = QSpinBox(hyper)
        self.batch_spin.setRange(1, 1 << 16)
        self.optimizer_combo = QComboBox(hyper)
        self.optimizer_combo.addItems(list(OPTIMIZERS))
        self.lr_spin = QDoubleSpinBox(hyper)
        self.lr_spin.setDecimals(6)
        self.lr_spin.setRange(1e-6, 10.0)
        self.lr_spin.setStepType(QDoubleSpinBox.StepType.AdaptiveDecimalStepType)
        self.schedule_combo = QComboBox(hyper)
        self.schedule_combo.addItems(list(SCHEDULES))
        form.addRow("Epochs", self.epochs_spin)
        form.addRow("Batch size", self.batch_spin)
        form.addRow("Optimizer", self.optimizer_combo)
        form.addRow("Learning rate", self.lr_spin)
        form.addRow("Schedule", self.schedule_combo)
        self.device_combo = QComboBox(hyper)
        for choice in available_devices():
            self.device_combo.addItem(choice.label, choice.value)
            index = self.device_combo.count() - 1
            self.device_combo.setItemData(index, choice.detail, Qt.ItemDataRole.ToolTipRole)
            model = self.device_combo.model()
            item = model.item(index) if isinstance(model, QStandardItemModel) else None
            if not choice.enabled and item is not None:
                item.setEnabled(False)
        form.addRow("Device", self.device_combo)
        self.threads_spin = QSpinBox(hyper)
        self.threads_spin.setRange(0, max(1, os.cpu_count() or 1))
        self.threads_spin.setSpecialValueText(f"auto ({auto_threads()})")
        self.threads_spin.setToolTip(
            "CPU threads for training. Auto leaves a core free; on a busy machine more threads "
            "can make small models much slower"
        )
        form.addRow("CPU threads", self.threads_spin)
        layout.addWidget(hyper)
        self.data_tools = DataToolsBox(self.data_context, settings)
        layout.addWidget(self.data_tools)
        self.error_label = QLabel(self)
        self.error_label.setProperty("role", "error")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        layout.addWidget(self.error_label)
        layout.addStretch(1)
        self.settings_scroll = VerticalScroll(settings, self)
        self.settings_scroll.setObjectName("training_settings_scroll")
        outer.addWidget(self.settings_scroll, 1)
        layout = QVBoxLayout()
        layout.setContentsMargins(8, 8, 8, 0)
        layout.setSpacing(8)
        outer.insertLayout(0, layout)

        # Long data set and device names must not make the panel (and the side dock) wide.
        for combo in self.findChildren(QComboBox):
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            combo.setMinimumContentsLength(8)
        for box in (data, hyper):
            form_layout = box.layout()
            if isinstance(form_layout, QFormLayout):
                form_layout.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)

        buttons = QHBoxLayout()
        self.start_button = QPushButton(icon("run"), "Start", self)
        self.start_button.setDefault(True)
        self.pause_button = QPushButton("Pause", self)
        self.resume_button = QPushButton("Resume", self)
        self.stop_button = QPushButton("Stop", self)
        run_buttons = (self.start_button, self.pause_button, self.resume_button, self.stop_button)
        # One width for all: Pause and Resume swap places without moving Stop.
        width = max(button.sizeHint().width() for button in run_buttons)
        for button in run_buttons:
            button.setMinimumWidth(width)
            buttons.addWidget(button)
        layout.addLayout(buttons)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(True)
        self.progress.setFormat("")
        layout.addWidget(self.progress)
        self.progress_label = QLabel("Ready.", self)
        self.progress_label.setProperty("role", "dim")
        self.progress_label.setWordWrap(True)
        # Three lines always reserved (the full text in the tooltip): a longer status must not
        # move the settings below it.
        lines = self.progress_label.fontMetrics().lineSpacing() * 3
        self.progress_label.setFixedHeight(lines + 2)
        self.progress_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.progress_label)
        self._step_progress = Throttled(self._show_progress, STEP_PROGRESS_MS, self)
        # At the bottom, under the settings: a banner that comes and goes only shortens the
        # settings' scroll area, and moves neither the buttons nor the fields.
        banner_row = QVBoxLayout()
        banner_row.setContentsMargins(8, 0, 8, 0)
        banner_row.addWidget(self.banner)
        outer.addLayout(banner_row)

        self.start_button.clicked.connect(self.start_requested)
        self.pause_button.clicked.connect(self.pause_requested)
        self.resume_button.clicked.connect(self.resume_requested)
        self.stop_button.clicked.connect(self.stop_requested)
        self.dataset_combo.activated.connect(self._on_dataset_activated)
        self.options_edit.editingFinished.connect(self._on_field_edited)
        for spin in (self.epochs_spin, self.batch_spin, self.lr_spin):
            spin.editingFinished.connect(self._on_field_edited)
        for combo in (self.optimizer_combo, self.schedule_combo):
            combo.activated.connect(self._on_field_edited)

    # -------------------------------------------------------------- binding
    def metadata(self) -> dict[str, Any]:
        """The document's training settings (a copy; empty when it has none)."""
        training = self.document.graph.metadata.get("training")
        # A hand-edited file may hold anything here; the panel then starts from defaults (and
        # Train reports the problem) rather than failing to show the project.
        return dict(training) if isinstance(training, dict) else {}

    def load_from_document(self) -> None:
        """Show the document's settings (after open, template, undo...)."""
        self._loading = True
        try:
            meta = self.metadata()
            try:
                config = TrainConfig.from_metadata(meta)
            except TrainError:
                config = TrainConfig()
            name = meta.get("dataset")
            index = self.dataset_combo.findData(name) if name else -1
            if name and index < 0:
                self.data_area.set_file_item(str(name))
            elif index >= 0:
                self.dataset_combo.setCurrentIndex(index)
            self.data_area.describe_dataset()
            options = meta.get("dataset_options")
            self.options_edit.setText(format_options(options if isinstance(options, dict) else {}))
            self.epochs_spin.setValue(config.epochs)
            self.batch_spin.setValue(config.batch_size)
            self.optimizer_combo.setCurrentText(config.optimizer)
            self.lr_spin.setValue(config.lr)
            self.schedule_combo.setCurrentText(config.schedule)
        finally:
            self._loading = False

    def edited_metadata(self) -> dict[str, Any]:
        """The settings the fields show, on top of the document's other training keys."""
        meta = self.metadata()
        dataset = self.data_area.dataset()
        if dataset:
            meta["dataset"] = dataset
        meta["dataset_options"] = parse_options(self.options_edit.text())
        meta["epochs"] = self.epochs_spin.value()
        meta["batch_size"] = self.batch_spin.value()
        meta["optimizer"] = self.optimizer_combo.currentText()
        meta["lr"] = self.lr_spin.value()
        meta["schedule"] = self.schedule_combo.currentText()
        return meta

    def data_context(self) -> DataContext:
        """The project as the data tools see it: the edited training settings and its file."""
        metadata = {**self.document.graph.metadata, "training": self.edited_metadata()}
        return DataContext(metadata, self.document.path, self.document.graph.copy())

    def threads(self) -> int:
        """CPU threads for the next run (0: chosen for this machine)."""
        return int(self.threads_spin.value())

    @property
    def init_weights(self) -> Path | None:
        """Weights the next run starts from (None: drawn from the seed)."""
        return self.data_area.init_weights

    def set_init_weights(self, path: str | Path | None) -> None:
        """Start the next runs from ``path`` (None: from the seed's random weights)."""
        self.data_area.set_init_weights(path)

    def device(self) -> str:
        """The chosen device (a run-time setting, not stored in the project)."""
        return split_device(str(self.device_combo.currentData() or "auto"))[0]

    def processes(self) -> int:
        """Worker processes: 1, or N for an "N processes" entry of the device list."""
        return split_device(str(self.device_combo.currentData() or "auto"))[1]

    def config(self) -> TrainConfig:
        """The settings as a validated :class:`TrainConfig`; raises TrainError naming problems."""
        return TrainConfig.from_metadata(
            self.edited_metadata(), device=self.device(), threads=self.threads()
        )

    def commit(self) -> bool:
        """Push the fields into the document as one undoable edit (if they changed)."""
        try:
            meta = self.edited_metadata()
            TrainConfig.from_metadata(meta)
        except TrainError as exc:
            self.show_error(str(exc))
            return False
        self.show_error("")
        if meta != self.metadata():
            return self.document.push(SetMetadata("training", meta))
        return True

    def show_error(self, text: str) -> None:
        """Show (or clear) a problem with the settings under the fields."""
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))

    # ---------------------------------------------------------------- state
    def set_state(self, state: str) -> None:
        """Enable the buttons for ``idle``, ``running``, ``paused`` or ``stopping``."""
        self.state = state
        self.start_button.setEnabled(state == "idle")
        # Runs on several processes cannot pause (see processes.py).
        self.pause_button.setEnabled(state == "running" and self.processes() == 1)
        self.resume_button.setEnabled(state == "paused")
        self.stop_button.setEnabled(state in ("running", "paused"))
        # Pause and Resume share one place (never both useful), so the row fits a narrow dock.
        self.pause_button.setVisible(state != "paused")
        self.resume_button.setVisible(state == "paused")

    def show_busy(self, text: str) -> None:
        """Show ``text`` under a busy bar, Start disabled (the data set is being checked); ""
        ends it."""
        if text:
            self.start_button.setEnabled(False)
            self.progress.setRange(0, 0)  # Qt's busy indicator
            self.set_progress(0.0, text, "")
        else:
            self.progress.setRange(0, 1000)
            self.set_progress(0.0, "Ready.", "")
            self.set_state(self.state)

    def show_banner(self, text: str) -> None:
        """Show (or with "" hide) the note under the settings."""
        self.banner.setText(text)
        self.banner.setVisible(bool(text))

    def set_progress(self, fraction: float, text: str, bar_text: str = "") -> None:
        """Overall progress of the run (0..1) and the line under the bar, shown at once (a
        step's progress still waiting to be shown is dropped)."""
        self._step_progress.cancel()
        self._show_progress((fraction, text, bar_text))

    def show_step_progress(self, fraction: float, text: str, bar_text: str = "") -> None:
        """A step report's progress: shown at most every STEP_PROGRESS_MS, the latest one."""
        self._step_progress.offer((fraction, text, bar_text))

    def _show_progress(self, progress: tuple[float, str, str]) -> None:
        fraction, text, bar_text = progress
        self.progress.setValue(round(max(0.0, min(1.0, fraction)) * 1000))
        self.progress.setFormat(bar_text)
        self.progress_label.setText(text)
        self.progress_label.setToolTip(text)

    # ---------------------------------------------------------------- slots
    def _on_dataset_activated(self, _index: int) -> None:
        if self.dataset_combo.currentData() == FILE_ITEM:
            self._on_browse_clicked()
            return
        self.data_area.describe_dataset()
        self.data_area.keep_known_options()
        self._on_field_edited()

    def _on_browse_clicked(self) -> None:
        self.browse_button.showMenu()
        if self.dataset_combo.currentData() == FILE_ITEM:  # the menu closed without a choice
            self.load_from_document()

    def _on_source_chosen(self, path: str) -> None:
        """A data file or folder was chosen: train on it."""
        self.data_area.set_file_item(path)
        self.data_area.describe_dataset()
        meta = self.edited_metadata()
        meta["dataset"] = path
        meta["dataset_options"] = {}  # another source: the last one's options rarely apply
        self.document.push(SetMetadata("training", meta))

    def _on_field_edited(self, *_args: Any) -> None:
        if not self._loading:
            self.commit()

    def _on_document_reset(self) -> None:
        # Another project: weights chosen for the last one would not be what the user meant.
        self.set_init_weights(None)
        self.load_from_document()

    def _on_document_graph_event(self, event: GraphEvent) -> None:
        if event.kind == GraphEvent.METADATA_CHANGED:
            self.load_from_document()

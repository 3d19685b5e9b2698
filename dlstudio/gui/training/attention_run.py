"""What the controller offers for attention after a run: the Attention tab's heatmap.

A mixin of :class:`~dlstudio.gui.training.controller.TrainingController`. Preparing a run's
maps (compiling the probe copy, loading its data set) runs on a pool thread, once per run;
the tab asks for it when it is opened, the node menu's Show Attention Map and Run ▸ Show
Attention Map ask for it directly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dlstudio.gui.training.attention_source import AttentionSource, prepare_attention
from dlstudio.gui.training.history import RunRecord
from dlstudio.gui.workers import TaskHandle, run_in_thread

if TYPE_CHECKING:
    import torch
    from PySide6.QtCore import SignalInstance

    from dlstudio.gui.training.monitor import TrainingMonitor


class AttentionMixin:
    """Show Attention Map: the last run's attention heatmap, optionally at a chosen node."""

    # The TrainingController's state and methods this mixin uses, declared here so a type
    # checker holds both sides to them.
    monitor: TrainingMonitor
    record: RunRecord | None
    monitor_wanted: SignalInstance
    _attention_focus: tuple[str, ...] | None = None
    """Where the maps being prepared should open (node ids from the top graph down)."""
    _attention_pending: tuple[str, TaskHandle] | None = None
    """The run whose maps are being prepared, and the task preparing them."""

    if TYPE_CHECKING:  # the controller's own, not the mixin's

        @property
        def is_running(self) -> bool: ...

        def latest_record(self) -> RunRecord | None: ...

        def module_for(self, record: RunRecord) -> torch.nn.Module | None: ...

    def show_attention(
        self,
        location: tuple[str, ...] | None = None,
        record: RunRecord | None = None,
    ) -> TaskHandle | None:
        """Bring the Attention tab forward with the maps of ``record`` (default: the last run),
        the attention at ``location`` (node ids from the top graph down) selected."""
        view = self.monitor.attention
        self.monitor_wanted.emit()
        self.monitor.setCurrentWidget(view)
        record = record if isinstance(record, RunRecord) else self.latest_record()
        if record is None or (self.is_running and record is self.record):
            view.set_source(None)
            view.show_message(
                "Attention maps appear once a run has ended: train the model first (Run ▸ Train)."
                if record is None
                else "Attention maps appear when this run has ended."
            )
            return None
        source = view.source
        if source is not None and source.run_id == record.run_id:
            view.focus_location(location)
            return None
        pending = self._attention_pending
        if pending is not None and pending[0] == record.run_id and not pending[1].done:
            self._attention_focus = location
            return pending[1]
        self._attention_focus = location
        module = self.module_for(record)
        view.set_source(None)
        view.show_message(f"Computing the attention maps of run {record.run_id}…")
        task = run_in_thread(
            lambda: prepare_attention(record, module),
            self._on_attention_prepared,
            lambda exc, _trace: view.show_message(f"No attention map for this run: {exc}"),
        )
        self._attention_pending = (record.run_id, task)
        return task

    def _on_attention_prepared(self, source: AttentionSource) -> None:
        self.monitor.attention.set_source(source, self._attention_focus)

    def _on_attention_run_finished(self, record: RunRecord) -> None:
        """A run ended while the Attention tab is open: show the new run's maps."""
        if self.monitor.currentWidget() is self.monitor.attention:
            self.show_attention(record=record)

    def _on_monitor_current_changed(self, index: int) -> None:
        """Opening the Attention tab shows the latest run's maps, computed on first view."""
        view = self.monitor.attention
        if self.monitor.widget(index) is not view or self.is_running:
            return
        record = self.latest_record()
        if record is not None and (view.source is None or view.source.run_id != record.run_id):
            self.show_attention(record=record)

"""The lens in the window: refreshed on a worker after each edit (debounced, the newest request
wins), drawn in the Lens dock for the selected node and as thumbnails on the canvas."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QGraphicsItem, QGraphicsPixmapItem

from dlstudio.core.errors import DLStudioError
from dlstudio.gui.lens.explain_dialog import ExplainDialog
from dlstudio.gui.lens.panel import LensPanel
from dlstudio.gui.lens.pixmaps import to_pixmap
from dlstudio.gui.lens.thumbnails import thumbnail_place
from dlstudio.gui.workers import run_in_thread
from dlstudio.lens.capture import LensCancelled
from dlstudio.lens.engine import draw
from dlstudio.lens.session import LensRefresh, LensSession

RAISE = 0.5
"""How far above the other nodes a node goes whose thumbnail must cover one of them."""

if TYPE_CHECKING:
    from dlstudio.gui.main_window import MainWindow

DEBOUNCE_MS = 250
"""Quiet time after the last edit before the lens recomputes (typing stays smooth)."""


class LensController(QObject):
    """Keeps the Lens dock and the canvas thumbnails in step with the document."""

    def __init__(
        self, window: MainWindow, panel: LensPanel, dock: QDockWidget, training: Any = None
    ) -> None:
        super().__init__(window)
        self.window = window
        self.panel = panel
        self.dock = dock
        self.training = training
        self.session = LensSession()
        self.last: LensRefresh | None = None
        self.explain_dialog: ExplainDialog | None = None
        """The explanation opened last (from a sample or a confusion-matrix cell)."""
        self._thumbnails: dict[str, QGraphicsPixmapItem] = {}
        self._raised: dict[str, float] = {}
        """Nodes drawn above the others for their thumbnail's sake, with their own z."""
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self.refresh_now)
        # Selection changes also fire while the scene removes its items (a project opened):
        # read the selection once the event loop is back, when the scene is whole again.
        self._selection_timer = QTimer(self)
        self._selection_timer.setSingleShot(True)
        self._selection_timer.setInterval(0)
        self._selection_timer.timeout.connect(self._show_selected)
        window.document.analysis_ready.connect(self._on_document_analysis_ready)
        window.scene.selectionChanged.connect(self._on_scene_selection_changed)
        window.level.level_changed.connect(self._on_level_changed)
        dock.visibilityChanged.connect(self._on_dock_visibility_changed)
        panel.request_changed.connect(self.schedule)
        panel.thumbnails_toggled.connect(self._on_panel_thumbnails_toggled)
        if training is not None:
            training.run_finished.connect(lambda _record: self.schedule())
            monitor = training.monitor
            monitor.samples.explain_requested.connect(self.explain_sample)
            monitor.confusion.explain_requested.connect(self.explain_sample)

    # --------------------------------------------------------------- requests
    def schedule(self) -> None:
        """Recompute after a short quiet time (each new call restarts the wait); nothing runs
        while the Lens dock is hidden (it catches up when shown)."""
        if self.dock.isVisible():
            self._timer.start()

    def refresh_now(self):
        """Start a refresh on a worker; returns its task handle (None when nothing to run)."""
        document = self.window.document
        if document.analysis.errors:
            self._clear("The lens shows values once the drawing has no errors.")
            return None
        path = self.window.level.path
        copy = self.panel.copy_index() if path else 0
        generation = self.session.next_generation()
        graph = document.graph.copy()
        request = self.panel.request()
        mode = self.panel.weight_mode()
        trained = self._trained_state()
        base = Path(document.path).parent if getattr(document, "path", None) else None
        self.panel.status.setText("Computing…")

        def work() -> LensRefresh:
            return self.session.refresh(
                graph, request, generation, mode, trained, base, path=path, copy=copy
            )

        return run_in_thread(work, self._on_refresh_done, self._on_refresh_failed)

    def _trained_state(self) -> dict | None:
        trained = getattr(self.training, "trained", None) or {}
        if not trained:
            return None
        module = list(trained.values())[-1]
        return {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}

    # ---------------------------------------------------------------- results
    def _on_refresh_done(self, refresh: LensRefresh) -> None:
        if not shiboken6.isValid(self.panel) or self.session.is_stale(refresh.generation):
            return  # the window closed meanwhile, or a newer request is on its way
        if refresh.path != self.window.level.path:
            return  # computed for another level (node ids repeat between levels)
        self.last = refresh
        example = refresh.results[0][1].example if refresh.results else None
        status = f"Example: {example.label}" if example else ""
        if refresh.scope:
            status += f"; inside {refresh.scope}"
        self.panel.status.setText(status)
        self.panel.show_copies(refresh.copies if refresh.path else 1)
        self.panel.show_filters(refresh.filters)
        self.panel.embeddings.set_maps(refresh.embeddings)
        self._show_selected()
        if self.panel.thumbnails.isChecked():
            self._draw_thumbnails()

    def _on_refresh_failed(self, error: BaseException, _trace: str) -> None:
        if isinstance(error, LensCancelled) or not shiboken6.isValid(self.panel):
            return
        if isinstance(error, DLStudioError):
            self._clear(str(error))
        else:
            self._clear(f"The lens could not run this model: {type(error).__name__}: {error}")

    def _clear(self, message: str) -> None:
        self.last = None
        self.panel.clear_views("")
        self.panel.status.setText(message)
        self._remove_thumbnails()

    def _show_selected(self) -> None:
        if self.last is None or not self.last.results:
            return
        selected = self.window.scene.selected_node_ids()
        first = self.last.results[0][1]
        node_id = next((n for n in selected if n in first.views), None)
        if node_id is None:
            self.panel.show_views("Select a layer to see its output on the example", "", [])
            return
        view = first.views[node_id]
        title = f"{view.name}: {view.kind.replace('_', ' ')}, shape {view.shape}"
        pictures, stats = [], []
        for label, result in self.last.results:
            item = result.views.get(node_id)
            if item is None:
                continue
            value = result.values[node_id][0][0]
            names = None
            picture = draw(value, item.kind, result.example.tokens, names, 480)
            pictures.append((label, picture))
            stats.append(f"{label}: {item.stats_text()}")
        self.panel.show_views(title, "\n".join(stats), pictures)

    def explain_sample(self, sample) -> ExplainDialog | None:
        """Open the saliency view of a sample prediction with the last run's model."""
        trained = getattr(self.training, "trained", None) or {}
        if not trained or sample.inputs is None:
            return None
        module = list(trained.values())[-1]
        names = list(getattr(self.training.monitor.confusion, "names", []) or [])
        dataset = self.session._last_dataset
        names = names or list(getattr(dataset, "class_names", None) or [])
        vocab = getattr(dataset, "vocab", None)
        tokens = None
        first = sample.inputs[0]
        if not first.is_floating_point() and vocab:
            tokens = tuple(vocab[i] if 0 <= i < len(vocab) else f"#{i}" for i in first[0].tolist())
        dialog = ExplainDialog(
            self.window.document.graph.copy(), module, sample, names, tokens, self.window
        )
        dialog.show()
        self.explain_dialog = dialog
        return dialog

    # ------------------------------------------------------------- thumbnails
    def _draw_thumbnails(self) -> None:
        if self.last is None or not self.last.results:
            return
        result = self.last.results[-1][1]
        scene = self.window.scene
        crowded: dict[str, tuple[QGraphicsItem, list[QGraphicsItem]]] = {}
        for node_id, view in result.views.items():
            item = scene.node_item(node_id)
            if item is None or view.thumbnail is None:
                continue
            thumb = self._thumbnails.get(node_id)
            if thumb is None or thumb.parentItem() is not item:
                thumb = QGraphicsPixmapItem(item)
                thumb.setToolTip(f"{view.name}: {view.stats_text()}")
                self._thumbnails[node_id] = thumb
            # Beside the node, as tall as the node: below it would cover the next layer.
            box = item.boundingRect()
            pixmap = to_pixmap(view.thumbnail)
            height = max(16, int(box.height()) - 4)
            if pixmap.height() > height:
                pixmap = pixmap.scaledToHeight(height, Qt.TransformationMode.SmoothTransformation)
            thumb.setPixmap(pixmap)
            place, covered = thumbnail_place(item, pixmap.width(), pixmap.height())
            thumb.setPos(place)
            if covered:
                crowded[node_id] = (item, covered)
            elif node_id in self._raised:
                item.setZValue(self._raised.pop(node_id))
        # A child is drawn with its node: where a thumbnail must cover a neighbour (both sides
        # taken), its node goes above the nodes it covers (they may be raised themselves).
        for _ in range(3):
            for node_id, (raised, covered) in crowded.items():
                self._raised.setdefault(node_id, raised.zValue())
                wanted = max(other.zValue() for other in covered) + RAISE
                if raised.zValue() < wanted:
                    raised.setZValue(wanted)
        for node_id in [n for n in self._thumbnails if n not in result.views]:
            self._remove_thumbnail(node_id)

    def _remove_thumbnail(self, node_id: str) -> None:
        z = self._raised.pop(node_id, None)
        item = self.window.scene.node_item(node_id) if z is not None else None
        if item is not None and z is not None:
            item.setZValue(z)
        thumb = self._thumbnails.pop(node_id, None)
        if thumb is not None and thumb.scene() is not None:
            thumb.scene().removeItem(thumb)

    def _remove_thumbnails(self) -> None:
        for node_id in list(self._thumbnails):
            self._remove_thumbnail(node_id)

    def thumbnail_count(self) -> int:
        """How many thumbnails the canvas shows (for tests and the status line)."""
        return sum(1 for t in self._thumbnails.values() if t.scene() is not None)

    # ------------------------------------------------------------------ slots
    def _on_document_analysis_ready(self, _analysis) -> None:
        self.schedule()

    def _on_scene_selection_changed(self) -> None:
        self._selection_timer.start()

    def _on_level_changed(self) -> None:
        self._thumbnails.clear()  # the scene rebuilt its items (and their children)
        self._raised.clear()
        self.session.next_generation()  # a refresh still running is for the other level
        self.last = None
        self.panel.clear_views("")
        if not self.window.level.path:
            self.panel.show_copies(1)
        elif self.panel.copy.value() != 1:
            self.panel.copy.blockSignals(True)  # another block: start at its first copy
            self.panel.copy.setValue(1)
            self.panel.copy.blockSignals(False)
        self.schedule()

    def _on_dock_visibility_changed(self, visible: bool) -> None:
        if visible:
            self.schedule()

    def _on_panel_thumbnails_toggled(self, on: bool) -> None:
        if on:
            self._draw_thumbnails()
        else:
            self._remove_thumbnails()

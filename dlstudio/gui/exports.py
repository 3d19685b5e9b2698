"""The Export menu: ONNX (with parity report), Python source, weights, and a picture of the graph.

Compiling and exporting run in a worker thread (:func:`run_in_thread`) on a snapshot of the
graph, so the editor stays responsive and later edits cannot change what is being exported.
Pictures are rendered on the GUI thread because a QGraphicsScene may only be painted there.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QRectF, QSize, Signal
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QGraphicsScene, QMessageBox, QWidget

from dlstudio.core import LayerGraph
from dlstudio.core.files import atomic_path
from dlstudio.gui.document import EMPTY_MODEL_TEXT, Document
from dlstudio.gui.export_weights import (
    INITIAL_LABEL,
    TrainedWeights,
    TrainedWeightsSource,
    ask_weights,
)
from dlstudio.gui.folders import ask_save_file
from dlstudio.gui.workers import TaskHandle, run_in_thread

IMAGE_MARGIN = 40.0


def render_scene_png(scene: QGraphicsScene, path: str | Path, scale: float = 2.0) -> Path:
    """Paint every item of ``scene`` into a PNG at ``scale`` (2 = sharp on high-DPI screens)."""
    source = _content_rect(scene)
    size = QSize(max(1, int(source.width() * scale)), max(1, int(source.height() * scale)))
    image = QImage(size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(
        scene.backgroundBrush().color() if scene.backgroundBrush().style() else QColor("#1e2024")
    )
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    scene.render(painter, QRectF(0, 0, size.width(), size.height()), source)
    painter.end()
    with atomic_path(path) as tmp:
        # PySide6 takes the format as str (its stubs say bytes, which it refuses).
        if not image.save(str(tmp), "PNG"):  # type: ignore[call-overload]
            raise OSError(f"could not write {path}")
    return Path(path)


def render_scene_svg(scene: QGraphicsScene, path: str | Path, title: str = "") -> Path:
    """Paint every item of ``scene`` into an SVG file (vector, for papers and slides)."""
    from PySide6.QtSvg import QSvgGenerator

    source = _content_rect(scene)
    with atomic_path(path) as tmp:
        generator = QSvgGenerator()
        generator.setFileName(str(tmp))
        generator.setSize(QSize(int(source.width()), int(source.height())))
        generator.setViewBox(QRectF(0, 0, source.width(), source.height()))
        generator.setTitle(title or "DL Studio model")
        generator.setDescription("Exported from DL Studio")
        painter = QPainter(generator)
        painter.fillRect(QRectF(0, 0, source.width(), source.height()), QColor("#1e2024"))
        scene.render(painter, QRectF(0, 0, source.width(), source.height()), source)
        painter.end()
    return Path(path)


def _content_rect(scene: QGraphicsScene) -> QRectF:
    rect = scene.itemsBoundingRect()
    if rect.isEmpty():
        rect = QRectF(0, 0, 200, 100)
    return rect.adjusted(-IMAGE_MARGIN, -IMAGE_MARGIN, IMAGE_MARGIN, IMAGE_MARGIN)


def describe_parity(report: Any) -> str:
    """A readable account of an ONNX export's :class:`ExportReport` (exporter, parity)."""
    if report is None:
        return "No parity check was reported."
    lines = []
    exporter = getattr(report, "exporter", None)
    lines.append(f"Exporter: {exporter or 'none succeeded'}")
    diff = getattr(report, "max_abs_diff", None)
    if diff is not None:
        tolerance = getattr(report, "tolerance", None)
        bound = f" (tolerance {tolerance:g})" if tolerance is not None else ""
        lines.append(f"Max abs difference vs PyTorch: {diff:.3g}{bound}")
    batch = getattr(report, "checked_batch", None)
    if batch is not None:
        lines.append(f"Checked at batch size {batch}")
    seq = getattr(report, "checked_seq_len", None)
    if seq is not None:
        lines.append(f"Checked at sequence length {seq}")
    passed = getattr(report, "passed", None)
    if passed is not None:
        lines.append("Parity: OK" if passed else "Parity: FAILED")
    message = getattr(report, "message", "")
    if message:
        lines.append("")
        lines.append(str(message))
    return "\n".join(lines)


class ExportActions(QObject):
    """Runs exports for the window and reports the outcome."""

    started = Signal(str)
    finished = Signal(str)
    """A one-line outcome for the status bar."""

    def __init__(
        self, document: Document, window: QWidget, scene_getter: Callable[[], Any]
    ) -> None:
        super().__init__(window)
        self.document = document
        self.window = window
        self._scene = scene_getter
        self.busy: TaskHandle | None = None
        self.last_report: Any = None
        """The latest ONNX :class:`ExportReport` (for tests and the status bar)."""
        self.trained_weights: TrainedWeightsSource | None = None
        """The trained weights that fit the drawing, if any (see :meth:`offer_trained_weights`)."""
        self.last_weights_label = ""
        """Which weights the latest export wrote (as its dialog said)."""

    def offer_trained_weights(self, source: TrainedWeightsSource) -> None:
        """Offer the weights ``source`` finds for a drawing (the training UI's latest run
        that fits) in the ONNX, Python and Weights exports."""
        self.trained_weights = source

    def _ask_path(self, title: str, suffix: str, filters: str) -> Path | None:
        name = f"{(self.document.path.stem if self.document.path else '') or self.document.graph.name or 'model'}{suffix}"
        fallback = self.document.path.parent if self.document.path else None
        path = ask_save_file(self.window, title, name, filters, fallback)
        return Path(path) if path else None

    def _check_graph(self) -> bool:
        if self.document.is_empty:
            QMessageBox.information(self.window, "Nothing to export", EMPTY_MODEL_TEXT)
            return False
        analysis = self.document.analysis
        if analysis.has_errors:
            QMessageBox.warning(
                self.window,
                "The model has errors",
                "Fix the problems listed in the Problems panel before exporting:\n\n"
                + "\n".join(f"• {d.message}" for d in analysis.errors[:8]),
            )
            return False
        return True

    def _choose_weights(
        self, what: str, weights: str | None
    ) -> tuple[str, TrainedWeights | None] | None:
        """The weights an export writes: trained ones of a run of this drawing by default
        (``weights`` None asks, offering them first), else the initial ones; None: cancelled."""
        trained = self.trained_weights(self.document.graph) if self.trained_weights else None
        if trained is None or weights == "initial":
            return INITIAL_LABEL, None
        if weights is None:
            weights = ask_weights(self.window, what, trained)
            if weights is None:
                return None
        return (trained.label, trained) if weights == "trained" else (INITIAL_LABEL, None)

    def _attached_label(self, label: str, trained: TrainedWeights | None) -> str:
        """The weights' label: the project's own file (an imported model's) stands in for the
        initial weights when no trained ones are written."""
        from dlstudio.compile.project_weights import WEIGHTS_KEY

        attached = self.document.graph.metadata.get(WEIGHTS_KEY)
        if trained is None and attached:
            return f"the project's weights ({Path(str(attached)).name})"
        return label

    def _run(self, what: str, job: Callable[[], Any], on_done: Callable[[Any], None]) -> TaskHandle:
        self.started.emit(f"Exporting {what}…")

        def on_error(exc: BaseException, _trace: str) -> None:
            self.busy = None
            QMessageBox.critical(self.window, f"{what} export failed", str(exc) or repr(exc))
            self.finished.emit(f"{what} export failed")

        def done(result: Any) -> None:
            self.busy = None
            on_done(result)

        self.busy = run_in_thread(job, done, on_error)
        return self.busy

    # ----------------------------------------------------------------- ONNX
    def export_onnx(
        self, path: Path | None = None, weights: str | None = None
    ) -> TaskHandle | None:
        """Export to ONNX in a worker and show the parity result and the weights written.

        ``weights``: ``"trained"`` or ``"initial"``; None asks when a run trained this drawing.
        """
        if not self._check_graph():
            return None
        chosen = self._choose_weights("ONNX", weights)
        if chosen is None:
            return None
        label, trained = chosen
        label = self._attached_label(label, trained)
        path = path or self._ask_path("Export ONNX", ".onnx", "ONNX models (*.onnx)")
        if path is None:
            return None
        graph = self.document.graph.copy()
        project_path = self.document.path

        def job() -> Any:
            from dlstudio.compile import compile_graph, export_onnx
            from dlstudio.compile.project_weights import load_attached_weights

            compiled = compile_graph(graph)
            if trained is not None:
                compiled.module.load_state_dict(trained.state_dict(), strict=True)
            else:  # the project's own weights (an imported model's), as `export` loads them
                load_attached_weights(compiled.module, graph, project_path)
            return export_onnx(compiled, path)

        def done(report: Any) -> None:
            self.last_report = report
            self.last_weights_label = label
            text = f"{path}\n\nWeights: {label}\n\n{describe_parity(report)}"
            if getattr(report, "passed", True):
                QMessageBox.information(self.window, "ONNX export", text)
                self.finished.emit(f"Exported {path.name}: parity OK")
            else:
                QMessageBox.warning(self.window, "ONNX export: parity check failed", text)
                self.finished.emit(f"Exported {path.name}: parity FAILED")

        return self._run("ONNX", job, done)

    # --------------------------------------------------------------- Python
    def export_python(
        self, path: Path | None = None, weights: str | None = None
    ) -> TaskHandle | None:
        """Write the generated PyTorch source to a .py file; with trained weights (the default
        after a run of this drawing) also ``<name>.safetensors`` beside it."""
        if not self._check_graph():
            return None
        chosen = self._choose_weights("Python", weights)
        if chosen is None:
            return None
        label, trained = chosen
        path = path or self._ask_path("Export Python code", ".py", "Python files (*.py)")
        if path is None:
            return None
        graph = self.document.graph.copy()

        def job() -> Path:
            from dlstudio.compile import compile_graph, export_python, save_weights

            written = export_python(graph, path)
            if trained is not None:
                compiled = compile_graph(graph)
                compiled.module.load_state_dict(trained.state_dict(), strict=True)
                save_weights(compiled.module, Path(written).with_suffix(".safetensors"))
            return written

        def done(written: Path) -> None:
            self.last_weights_label = label
            if trained is not None:
                weights_file = Path(written).with_suffix(".safetensors").name
                note = (
                    f"Weights: {label}, written to {weights_file} beside it; load them with "
                    f"model.load_state_dict(safetensors.torch.load_file('{weights_file}'))."
                )
            else:
                note = "Weights: none written (the code starts from initial weights)."
            QMessageBox.information(
                self.window,
                "Python export",
                f"Wrote the model's PyTorch code to\n{written}\n\nIt defines the model class "
                f"as DL Studio trains it; exported weights load into it.\n\n{note}",
            )
            self.finished.emit(f"Exported {Path(written).name}")

        return self._run("Python", job, done)

    # -------------------------------------------------------------- weights
    def export_weights(
        self,
        path: Path | None = None,
        model_source: Callable[[LayerGraph], Any] | None = None,
        weights: str | None = None,
    ) -> TaskHandle | None:
        """Save the model's weights (safetensors or .pt by the file's suffix).

        ``model_source`` builds the module to save from a graph snapshot; by default the
        trained weights of a run of this drawing (``weights`` None asks, ``"initial"`` skips
        them), else a freshly compiled (untrained) model.
        """
        if not self._check_graph():
            return None
        label, trained = INITIAL_LABEL, None
        if model_source is None:
            chosen = self._choose_weights("Weights", weights)
            if chosen is None:
                return None
            label, trained = self._attached_label(*chosen), chosen[1]
        path = path or self._ask_path(
            "Export weights", ".safetensors", "safetensors (*.safetensors);;PyTorch (*.pt)"
        )
        if path is None:
            return None
        graph = self.document.graph.copy()
        project_path = self.document.path

        def job() -> Path:
            from dlstudio.compile import compile_graph, save_weights
            from dlstudio.compile.project_weights import load_attached_weights

            model = model_source(graph) if model_source else compile_graph(graph)
            module = getattr(model, "module", model)  # CompiledModel or a module
            if trained is not None:
                module.load_state_dict(trained.state_dict(), strict=True)
            elif model_source is None:  # the project's own weights (an imported model's)
                load_attached_weights(module, graph, project_path)
            save_weights(module, path)
            return path

        def done(written: Path) -> None:
            self.last_weights_label = label
            QMessageBox.information(
                self.window, "Weights export", f"Wrote {written}\n\nWeights: {label}"
            )
            self.finished.emit(f"Exported {Path(written).name} ({label})")

        return self._run("Weights", job, done)

    # --------------------------------------------------------------- images
    def export_image(self, path: Path | None = None) -> Path | None:
        """Save a PNG or SVG picture of the graph (by the chosen suffix)."""
        path = path or self._ask_path(
            "Export picture", ".png", "PNG image (*.png);;SVG drawing (*.svg)"
        )
        if path is None:
            return None
        scene = self._scene()
        selected = list(scene.selectedItems())
        for item in selected:  # a clean picture: no selection highlight
            item.setSelected(False)
        try:
            if path.suffix.lower() == ".svg":
                render_scene_svg(scene, path, self.document.display_name)
            else:
                render_scene_png(scene, path)
        except OSError as exc:
            QMessageBox.critical(self.window, "Could not export picture", str(exc))
            return None
        finally:
            for item in selected:
                item.setSelected(True)
        self.finished.emit(f"Exported {path.name}")
        return path

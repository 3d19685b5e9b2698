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
from PySide6.QtWidgets import QFileDialog, QGraphicsScene, QMessageBox, QWidget

from dlstudio.core import LayerGraph
from dlstudio.core.files import atomic_path
from dlstudio.gui.document import EMPTY_MODEL_TEXT, Document
from dlstudio.gui.folders import last_folder, remember_folder
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
        if not image.save(str(tmp), "PNG"):
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

    def _ask_path(self, title: str, suffix: str, filters: str) -> Path | None:
        name = f"{(self.document.path.stem if self.document.path else '') or self.document.graph.name or 'model'}{suffix}"
        folder = self.document.path.parent if self.document.path else last_folder()
        path, _ = QFileDialog.getSaveFileName(self.window, title, str(folder / name), filters)
        if not path:
            return None
        remember_folder(path)
        return Path(path)

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
    def export_onnx(self, path: Path | None = None) -> TaskHandle | None:
        """Export to ONNX in a worker and show the parity result."""
        if not self._check_graph():
            return None
        path = path or self._ask_path("Export ONNX", ".onnx", "ONNX models (*.onnx)")
        if path is None:
            return None
        graph = self.document.graph.copy()

        def job() -> Any:
            from dlstudio.compile import export_onnx

            return export_onnx(graph, path)

        def done(report: Any) -> None:
            self.last_report = report
            text = f"{path}\n\n{describe_parity(report)}"
            if getattr(report, "passed", True):
                QMessageBox.information(self.window, "ONNX export", text)
                self.finished.emit(f"Exported {path.name}: parity OK")
            else:
                QMessageBox.warning(self.window, "ONNX export: parity check failed", text)
                self.finished.emit(f"Exported {path.name}: parity FAILED")

        return self._run("ONNX", job, done)

    # --------------------------------------------------------------- Python
    def export_python(self, path: Path | None = None) -> TaskHandle | None:
        """Write the generated PyTorch source to a .py file."""
        if not self._check_graph():
            return None
        path = path or self._ask_path("Export Python code", ".py", "Python files (*.py)")
        if path is None:
            return None
        graph = self.document.graph.copy()

        def job() -> Path:
            from dlstudio.compile import export_python

            return export_python(graph, path)

        def done(written: Path) -> None:
            QMessageBox.information(
                self.window,
                "Python export",
                f"Wrote the model's PyTorch code to\n{written}\n\nIt defines the model class "
                "as DL Studio trains it; exported weights load into it.",
            )
            self.finished.emit(f"Exported {Path(written).name}")

        return self._run("Python", job, done)

    # -------------------------------------------------------------- weights
    def export_weights(
        self, path: Path | None = None, model_source: Callable[[LayerGraph], Any] | None = None
    ) -> TaskHandle | None:
        """Save the model's weights (safetensors or .pt by the file's suffix).

        ``model_source`` builds the module to save from a graph snapshot; by default a freshly
        compiled (untrained) model. The training panel passes its trained model here.
        """
        if not self._check_graph():
            return None
        path = path or self._ask_path(
            "Export weights", ".safetensors", "safetensors (*.safetensors);;PyTorch (*.pt)"
        )
        if path is None:
            return None
        graph = self.document.graph.copy()

        def job() -> Path:
            from dlstudio.compile import compile_graph, save_weights

            model = model_source(graph) if model_source else compile_graph(graph)
            save_weights(getattr(model, "module", model), path)  # CompiledModel or a module
            return path

        return self._run("Weights", job, lambda p: self.finished.emit(f"Exported {Path(p).name}"))

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

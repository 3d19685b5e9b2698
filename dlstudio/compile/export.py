"""Exports in one place: the Python file, weights and ONNX (the latter two re-exported)."""

from __future__ import annotations

from pathlib import Path

from dlstudio.analysis import AnalysisResult
from dlstudio.compile.codegen import generate_source
from dlstudio.compile.onnx_export import ExportReport, export_onnx
from dlstudio.compile.weights import WeightsReport, load_weights, save_weights
from dlstudio.core.graph import LayerGraph
from dlstudio.core.serialization import write_text_atomic

__all__ = [
    "ExportReport",
    "WeightsReport",
    "export_onnx",
    "export_python",
    "load_weights",
    "save_weights",
]


def export_python(
    graph: LayerGraph, path: str | Path, analysis: AnalysisResult | None = None
) -> Path:
    """Write the standalone model file (needs only torch); atomic, so no half-written file
    (:func:`dlstudio.core.files.atomic_path`: folders made, mode kept, symlinks followed)."""
    path = Path(path)
    write_text_atomic(path, generate_source(graph, analysis))
    return path

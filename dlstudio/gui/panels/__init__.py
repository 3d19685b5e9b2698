"""The editor's side panels: layer palette, properties, summary table, problems, code preview."""

from __future__ import annotations

from dlstudio.gui.panels.code_preview import CodePreview, PythonHighlighter
from dlstudio.gui.panels.palette import LAYER_MIME, LayerPalette
from dlstudio.gui.panels.problems import ProblemsPanel, count_text
from dlstudio.gui.panels.properties import PropertiesPanel
from dlstudio.gui.panels.summary import SummaryTable

__all__ = [
    "LAYER_MIME",
    "CodePreview",
    "LayerPalette",
    "ProblemsPanel",
    "PropertiesPanel",
    "PythonHighlighter",
    "SummaryTable",
    "count_text",
]

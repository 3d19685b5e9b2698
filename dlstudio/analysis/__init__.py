"""Graph passes over networkx: structure checks, shape and dtype inference, statistics, fixes.

Everything returns data (:class:`Diagnostic`, :class:`AnalysisResult`); nothing shows dialogs,
and nothing imports torch or Qt, so a full pass runs on every edit.
"""

from __future__ import annotations

from dlstudio.analysis.analyze import analyze
from dlstudio.analysis.diagnostics import ERROR, INFO, WARNING, Diagnostic
from dlstudio.analysis.result import AnalysisResult, NodeInfo

__all__ = ["ERROR", "INFO", "WARNING", "AnalysisResult", "Diagnostic", "NodeInfo", "analyze"]

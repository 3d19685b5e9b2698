"""Model import: PyTorch modules (captured with torch.export) and ONNX files become DL Studio graphs with
their weights, and an honest report of whatever had no catalogue layer."""

from __future__ import annotations

from dlstudio.compile.importers.errors import ImportFailed
from dlstudio.compile.importers.fx_import import InputSpec, import_module
from dlstudio.compile.importers.project import compile_import, state_dict_of, write_import
from dlstudio.compile.importers.report import ImportIssue, ImportResult

__all__ = [
    "ImportFailed",
    "ImportIssue",
    "ImportResult",
    "InputSpec",
    "compile_import",
    "import_module",
    "state_dict_of",
    "write_import",
]

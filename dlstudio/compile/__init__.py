"""Graph -> PyTorch: code generation, compiled modules, weights and ONNX export.

``generate_source`` is pure string work and does not import torch; the other names load
their (torch-dependent) modules on first use, so importing this package stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

from dlstudio.compile.codegen import GeneratedCode, generate, generate_source
from dlstudio.compile.errors import CompileError, ExportError

_LAZY = {
    "CompiledModel": "dlstudio.compile.build",
    "compile_graph": "dlstudio.compile.build",
    "load_generated": "dlstudio.compile.build",
    "WeightsReport": "dlstudio.compile.weights",
    "WeightsMismatchError": "dlstudio.compile.weights",
    "load_weights": "dlstudio.compile.weights",
    "read_state_dict": "dlstudio.compile.weights",
    "save_weights": "dlstudio.compile.weights",
    "ExportReport": "dlstudio.compile.onnx_export",
    "export_onnx": "dlstudio.compile.onnx_export",
    "export_python": "dlstudio.compile.export",
    "make_inputs": "dlstudio.compile.example",
}

__all__ = [
    "CompileError",
    "CompiledModel",
    "ExportError",
    "ExportReport",
    "GeneratedCode",
    "WeightsMismatchError",
    "WeightsReport",
    "compile_graph",
    "export_onnx",
    "export_python",
    "generate",
    "generate_source",
    "load_generated",
    "load_weights",
    "make_inputs",
    "read_state_dict",
    "save_weights",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'dlstudio.compile' has no attribute {name!r}")

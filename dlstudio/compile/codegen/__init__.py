"""Pure code generation: graph -> PyTorch source text. Never imports torch, so the editor can
show a live preview on every edit."""

from __future__ import annotations

from dlstudio.compile.codegen.inputs import InputDescription, describe_inputs, token_vocab
from dlstudio.compile.codegen.names import NameAllocator, class_name, identifier_base
from dlstudio.compile.codegen.source import (
    GeneratedCode,
    check_compilable,
    generate,
    generate_source,
)

__all__ = [
    "GeneratedCode",
    "InputDescription",
    "NameAllocator",
    "check_compilable",
    "class_name",
    "describe_inputs",
    "generate",
    "generate_source",
    "identifier_base",
    "token_vocab",
]

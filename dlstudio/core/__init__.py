"""The graph document: nodes, edges, tensor specs, errors, JSON files and undoable edits.

Pure Python: nothing here imports torch or Qt, so it is instant and testable everywhere.
"""

from __future__ import annotations

from dlstudio.core.commands import (
    AddNode,
    Command,
    Connect,
    Disconnect,
    MacroCommand,
    MoveNodes,
    RemoveNode,
    RenameNode,
    SetCondition,
    SetMetadata,
    SetParam,
    SetTrainable,
    UndoStack,
)
from dlstudio.core.errors import DLStudioError, GraphEditError, ProjectFileError
from dlstudio.core.graph import Edge, GraphEvent, LayerGraph, LayerNode, PortRef
from dlstudio.core.serialization import (
    FORMAT_VERSION,
    dumps_project,
    graph_from_dict,
    graph_to_dict,
    load_project,
    loads_project,
    save_project,
)
from dlstudio.core.tensor_spec import Dim, TensorSpec, format_shape

__all__ = [
    "FORMAT_VERSION",
    "AddNode",
    "Command",
    "Connect",
    "DLStudioError",
    "Dim",
    "Disconnect",
    "Edge",
    "GraphEditError",
    "GraphEvent",
    "LayerGraph",
    "LayerNode",
    "MacroCommand",
    "MoveNodes",
    "PortRef",
    "ProjectFileError",
    "RemoveNode",
    "RenameNode",
    "SetCondition",
    "SetMetadata",
    "SetParam",
    "SetTrainable",
    "TensorSpec",
    "UndoStack",
    "dumps_project",
    "format_shape",
    "graph_from_dict",
    "graph_to_dict",
    "load_project",
    "loads_project",
    "save_project",
]

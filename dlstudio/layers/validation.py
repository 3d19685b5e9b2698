"""Catalogue-aware checks used when loading a project file."""

from __future__ import annotations

from dlstudio.core.blocks import BLOCK_TYPE
from dlstudio.core.graph import LayerNode
from dlstudio.layers.registry import UnknownLayerError, get_layer_type


def check_node(node: LayerNode) -> str | None:
    """A problem with a loaded node's type or parameters, or None.

    Unknown layer ids and unknown parameter names are load errors (the file is not one this
    version understands). Values out of range are left to the analysis, which shows them on the
    node so the user can correct them instead of losing the file.
    """
    if node.type_id == BLOCK_TYPE:
        return None  # checked against its definition once every definition is read
    try:
        layer = get_layer_type(node.type_id)
    except UnknownLayerError as exc:
        return str(exc)
    known = {p.name for p in layer.params}
    for key in node.params:
        if key not in known:
            names = ", ".join(sorted(known)) or "none"
            return f"{layer.label} has no parameter {key!r} (its parameters: {names})"
    return None


def load_checked(path):  # -> LayerGraph
    """Load a project with catalogue checks (unknown layer ids, unknown parameters)."""
    from dlstudio.core.serialization import load_project

    return load_project(path, node_checker=check_node)

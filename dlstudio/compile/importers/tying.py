"""Weight tying survives import: a Dense whose weight is an Embedding's table in the source
(GPT-2's language-model head, ``head.weight = embed.weight``) names that Embedding in its
``tie_weight``, so the rebuilt model shares the one matrix as the source does."""

from __future__ import annotations

from dlstudio.compile.codegen.names import NameAllocator, class_name, identifier_base
from dlstudio.compile.emitters import HELPERS
from dlstudio.compile.importers.report import ImportResult
from dlstudio.core.blocks import BLOCK_TYPE
from dlstudio.core.graph import LayerGraph, LayerNode
from dlstudio.layers import get_layer_type


def tie_shared_weights(result: ImportResult) -> ImportResult:
    """Set ``tie_weight`` on every top-level Dense whose weight tensor is (shares storage with)
    a top-level Embedding's weight; returns ``result``."""
    from dlstudio.compile.importers.project import state_dict_of

    graph = result.graph
    attrs = _attributes(graph)
    state = state_dict_of(result)
    tables = {}
    for node in graph:
        weight = state.get(f"{attrs[node.id]}.weight")
        if node.type_id == "embedding" and weight is not None:
            tables[(weight.data_ptr(), tuple(weight.shape))] = node.name
    for node in graph:
        weight = state.get(f"{attrs[node.id]}.weight")
        if node.type_id != "dense" or weight is None or node.params.get("tie_weight"):
            continue
        table = tables.get((weight.data_ptr(), tuple(weight.shape)))
        if table is not None:
            graph.update_node(node.id, params={**node.params, "tie_weight": table})
    return result


def _attributes(graph: LayerGraph) -> dict[str, str]:
    """Node id -> its attribute in the generated model (as the code generator names them)."""
    model = class_name(graph.name)
    if model in HELPERS or f"{model}Config" in HELPERS:
        model = f"{model}Model"
    allocator = NameAllocator({model, f"{model}Config", *HELPERS})
    return {node.id: allocator.allocate(node.name, _prefix(node)) for node in graph}


def _prefix(node: LayerNode) -> str:
    if node.type_id == BLOCK_TYPE:
        return identifier_base(str(node.params.get("block", "block")).lower(), "block")
    return get_layer_type(node.type_id).prefix

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
    an Embedding's weight, one beside it or inside a block instance (``transformer.wte``);
    returns ``result``."""
    from dlstudio.compile.importers.project import state_dict_of

    graph = result.graph
    attrs = _attributes(graph)
    state = state_dict_of(result)
    tables: dict[tuple[int, tuple[int, ...]], str] = {}
    for name, key in _tables(graph, graph, {n.id: attrs[n.id] for n in graph}):
        weight = state.get(key)
        if weight is not None:
            tables.setdefault((weight.data_ptr(), tuple(weight.shape)), name)
    for node in graph:
        weight = state.get(f"{attrs[node.id]}.weight")
        if node.type_id != "dense" or weight is None or node.params.get("tie_weight"):
            continue
        table = tables.get((weight.data_ptr(), tuple(weight.shape)))
        if table is not None:
            graph.update_node(node.id, params={**node.params, "tie_weight": table})
    return result


def _tables(
    root: LayerGraph, graph: LayerGraph, keys: dict[str, str], prefix: tuple[str, ...] = ()
) -> list[tuple[str, str]]:
    """(the ``tie_weight`` name, the ``state_dict`` key of the table) of every Embedding in
    ``graph`` and the block instances in it; ``keys``: node id -> its part of the key."""
    found = []
    for node in graph:
        name = (*prefix, node.name)
        if node.type_id == "embedding":
            found.append((".".join(name), f"{keys[node.id]}.weight"))
        definition = root.blocks.get(str(node.params.get("block", "")))
        if node.type_id == BLOCK_TYPE and definition is not None:
            inner = {n.id: f"{keys[node.id]}.{n.name}" for n in definition.graph}
            found += _tables(root, definition.graph, inner, name)
    return found


def _attributes(graph: LayerGraph) -> dict[str, str]:
    """Node id -> its attribute in the generated model (as the code generator names them)."""
    model = class_name(graph.name)
    if model in HELPERS or f"{model}Config" in HELPERS:
        model = f"{model}Model"
    allocator = NameAllocator({model, f"{model}Config", *HELPERS})
    return {
        node.id: allocator.allocate(
            node.name, _prefix(node), node.type_id not in ("input", "output")
        )
        for node in graph
    }


def _prefix(node: LayerNode) -> str:
    if node.type_id == BLOCK_TYPE:
        return identifier_base(str(node.params.get("block", "block")).lower(), "block")
    return get_layer_type(node.type_id).prefix

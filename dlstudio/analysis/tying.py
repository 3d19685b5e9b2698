"""Weight tying: a Dense whose weight is an Embedding's table (GPT-2's language-model head).

The Dense names the Embedding in its ``tie_weight`` parameter: a node beside it, or one inside a
block instance as ``instance.name`` (GPT-2's ``lm_head`` ties to ``transformer.wte``); this pass
checks that such an Embedding exists and that the two matrices have the same shape, Dense weight
(units, in_features) against the table (num_embeddings, embedding_dim).
"""

from __future__ import annotations

from dlstudio.analysis.diagnostics import ERROR, Diagnostic
from dlstudio.analysis.result import NodeInfo
from dlstudio.core.blocks import BLOCK_TYPE
from dlstudio.core.graph import LayerGraph, LayerNode
from dlstudio.layers.spec import Fix


def tied_path(graph: LayerGraph, name: str) -> list[LayerNode] | None:
    """The nodes ``name`` goes through, block instances then the Embedding it ends at
    (``transformer.wte``: the instance ``transformer``, then ``wte`` in its definition), or
    None when it names no Embedding."""
    nodes: list[LayerNode] = []
    current = graph
    parts = name.split(".") if name else []
    for index, part in enumerate(parts):
        node = current.node_by_name(part)
        if node is None:
            return None
        nodes.append(node)
        if index == len(parts) - 1:
            return nodes if node.type_id == "embedding" else None
        definition = graph.blocks.get(str(node.params.get("block", "")))
        if node.type_id != BLOCK_TYPE or definition is None:
            return None
        current = definition.graph
    return None


def tied_embedding(graph: LayerGraph, dense_params: dict) -> str | None:
    """The id of the Embedding beside it that a Dense's ``tie_weight`` names, or None (also
    for one inside a block instance: see :func:`tied_path`)."""
    path = tied_path(graph, dense_params.get("tie_weight") or "")
    return path[0].id if path is not None and len(path) == 1 else None


def check_tied_weights(
    graph: LayerGraph, infos: dict[str, NodeInfo], out: list[Diagnostic]
) -> None:
    """An error on every Dense whose tie names no Embedding or one of another shape."""
    for node in graph:
        info = infos.get(node.id)
        if node.type_id != "dense" or info is None or not info.params.get("tie_weight"):
            continue
        name = info.params["tie_weight"]
        label = f"{node.name} (Dense)"
        clear = Fix.set_param("use a weight of its own", "tie_weight", "")
        path = tied_path(graph, name)
        target = path[-1] if path is not None else graph.node_by_name(name)
        if path is None or target is None:
            embeddings = [n.name for n in graph if n.type_id == "embedding"]
            what = "no node" if target is None else f"{name}, a {target.type_id},"
            hint = f" (Embeddings here: {', '.join(embeddings)})" if embeddings else ""
            out.append(
                Diagnostic(
                    ERROR,
                    node.id,
                    f"{label} ties its weight to {name!r}, but there is {what} not an Embedding"
                    f"{hint}: name an Embedding, or clear tie_weight",
                    (clear,),
                )
            )
            continue
        table = infos.get(target.id) if len(path) == 1 else None
        params = table.params if table is not None else target.params
        if not info.ok or not params:
            continue
        rows, cols = params.get("num_embeddings"), params.get("embedding_dim")
        if not (isinstance(rows, int) and isinstance(cols, int)):
            continue  # set by a block parameter inside a block: checked where it is used
        units, features = info.params["units"], info.inferred.get("in_features")
        if (units, features) != (rows, cols):
            fixes = [clear]
            if features == cols and units != rows:
                fixes.insert(0, Fix.set_param(f"set units to {rows}", "units", rows))
            out.append(
                Diagnostic(
                    ERROR,
                    node.id,
                    f"{label} ties its weight to {name}, whose table is {rows} x {cols} "
                    f"(num_embeddings x embedding_dim), but its own weight would be {units} x "
                    f"{features} (units x input features): the shapes must match",
                    tuple(fixes),
                )
            )

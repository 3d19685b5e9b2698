"""Weight tying: a Dense whose weight is an Embedding's table (GPT-2's language-model head).

The Dense names the Embedding in its ``tie_weight`` parameter; this pass checks that such an
Embedding exists and that the two matrices have the same shape, Dense weight (units,
in_features) against the table (num_embeddings, embedding_dim).
"""

from __future__ import annotations

from dlstudio.analysis.diagnostics import ERROR, Diagnostic
from dlstudio.analysis.result import NodeInfo
from dlstudio.core.graph import LayerGraph
from dlstudio.layers.spec import Fix


def tied_embedding(graph: LayerGraph, dense_params: dict) -> str | None:
    """The id of the Embedding a Dense's ``tie_weight`` names, or None."""
    name = dense_params.get("tie_weight") or ""
    target = graph.node_by_name(name) if name else None
    return target.id if target is not None and target.type_id == "embedding" else None


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
        target = graph.node_by_name(name)
        if target is None or target.type_id != "embedding":
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
        table = infos.get(target.id)
        if table is None or not info.ok or not table.params:
            continue
        rows, cols = table.params["num_embeddings"], table.params["embedding_dim"]
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

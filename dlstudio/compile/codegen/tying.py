"""The ``__init__`` lines that tie a Dense's weight to an Embedding's table."""

from __future__ import annotations

from dlstudio.analysis import AnalysisResult
from dlstudio.analysis.tying import tied_path
from dlstudio.compile.codegen.names import child_ref, module_ref
from dlstudio.core.graph import LayerGraph


def tied_weight_lines(
    graph: LayerGraph, analysis: AnalysisResult, attrs: dict[str, str], indent: str
) -> list[str]:
    """``self.head.weight = self.tok.weight`` (``self.transformer.wte.weight`` for one inside a
    block instance) for each tied Dense, after every declaration (so the order of the two
    layers in the drawing does not matter)."""
    lines = []
    for node in graph:
        info = analysis.nodes.get(node.id)
        if node.type_id != "dense" or info is None:
            continue
        path = tied_path(graph, info.params.get("tie_weight") or "")
        if path is not None:
            # Inside a block instance the submodules keep the node names (numbers and
            # hyphenated names read with get_submodule).
            inner = "".join(child_ref(n.name) for n in path[1:])
            tied, table = module_ref(attrs[node.id]), module_ref(attrs[path[0].id])
            lines.append(
                f"{indent}{tied}.weight = {table}{inner}.weight  # tied: the embedding table"
            )
    return lines

"""The ``__init__`` lines that tie a Dense's weight to an Embedding's table."""

from __future__ import annotations

from dlstudio.analysis import AnalysisResult
from dlstudio.analysis.tying import tied_embedding
from dlstudio.core.graph import LayerGraph


def tied_weight_lines(
    graph: LayerGraph, analysis: AnalysisResult, attrs: dict[str, str], indent: str
) -> list[str]:
    """``self.head.weight = self.tok.weight`` for each tied Dense, after every declaration (so
    the order of the two layers in the drawing does not matter)."""
    lines = []
    for node in graph:
        info = analysis.nodes.get(node.id)
        if node.type_id != "dense" or info is None:
            continue
        target = tied_embedding(graph, info.params)
        if target is not None:
            lines.append(
                f"{indent}self.{attrs[node.id]}.weight = self.{attrs[target]}.weight"
                "  # tied: the embedding table"
            )
    return lines

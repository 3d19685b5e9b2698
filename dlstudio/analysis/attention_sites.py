"""Where a model attends: every attention of the model tree (MultiheadAttention and the
Transformer layers, also inside blocks and in every copy of a repeat), and which Input node
feeds its queries and its keys, so a heatmap can label its axes with tokens.

Pure graph work over the same rows as the summary (``layer2.0.conv1`` paths): no torch.
"""

from __future__ import annotations

from dataclasses import dataclass

from dlstudio.analysis.result import AnalysisResult
from dlstudio.analysis.tree import summary_rows
from dlstudio.core.blocks import BLOCK_TYPE, BlockDefinition
from dlstudio.core.graph import LayerGraph, LayerNode, PortRef
from dlstudio.layers import get_layer_type, has_layer_type

ATTENTION_TYPES = ("multihead_attention", "transformer_encoder_layer", "transformer_decoder_layer")
"""Layer types that attend (and have the ``attention_weights`` option)."""

_FOLLOW = ("query", "in", "x", "in1")
"""Input ports followed upstream, first wired one first: where the sequence comes from."""
_MAX_STEPS = 100_000


@dataclass(frozen=True)
class AttentionSite:
    """One attention of the model: a layer's self- or cross-attention in one copy."""

    path: str
    """Module path by node names (``decoder1.multihead_attn``, ``encoder.0.self_attn``)."""
    location: tuple[str, ...]
    """Node ids from the top graph down to the layer (see :class:`SummaryRow`)."""
    type_id: str
    port: str
    """The weights port that carries it: ``weights`` or (decoder layers) ``cross_weights``."""
    cross: bool
    """True when queries and keys come from different sequences."""
    query_input: int | None
    """Index of the top-level Input node (document order) the queries come from, if known."""
    key_input: int | None
    """Index of the Input node the keys come from, if known."""

    @property
    def label(self) -> str:
        """How the editor names it: ``decoder1.multihead_attn (cross-attention)``."""
        return f"{self.path} ({'cross' if self.cross else 'self'}-attention)"


def contains_attention(root: LayerGraph, node: LayerNode, depth: int = 0) -> bool:
    """True when ``node`` attends, or is a block instance with an attention layer inside
    (``root`` holds the definitions)."""
    if node.type_id in ATTENTION_TYPES:
        return True
    if node.type_id != BLOCK_TYPE or depth > 32:
        return False
    definition = root.blocks.get(str(node.params.get("block")))
    return definition is not None and any(
        contains_attention(root, inner, depth + 1) for inner in definition.graph
    )


def attention_sites(root: LayerGraph, result: AnalysisResult) -> list[AttentionSite]:
    """Every attention of ``root`` in execution order (a decoder layer gives two)."""
    inputs = [n.id for n in root if n.type_id == "input"]
    sites = []
    for row in summary_rows(root, result):
        if row.node is None or row.type_id not in ATTENTION_TYPES:
            continue
        where = (root, row.location)
        if row.type_id == "transformer_decoder_layer":
            query = _trace(*where, "in", inputs)
            sites.append(
                AttentionSite(row.path, row.location, row.type_id, "weights", False, query, query)
            )
            memory = _trace(*where, "memory", inputs)
            sites.append(
                AttentionSite(
                    row.path, row.location, row.type_id, "cross_weights", True, query, memory
                )
            )
            continue
        port = "query" if row.type_id == "multihead_attention" else "in"
        query = _trace(*where, port, inputs)
        node = _node_at(root, row.location)
        cross = row.type_id == "multihead_attention" and _wired(node[0], node[1], "key")
        key = _trace(*where, "key", inputs) if cross else query
        sites.append(
            AttentionSite(row.path, row.location, row.type_id, "weights", cross, query, key)
        )
    return sites


def _wired(graph: LayerGraph, node_id: str, port: str) -> bool:
    return graph.incoming_edge(PortRef(node_id, port)) is not None


def _node_at(root: LayerGraph, location: tuple[str, ...]) -> tuple[LayerGraph, str]:
    """The graph holding the last node of ``location``, and that node's id."""
    graph = root
    for instance in location[:-1]:
        graph = root.blocks[str(graph.node(instance).params.get("block"))].graph
    return graph, location[-1]


def _trace(root: LayerGraph, location: tuple[str, ...], port: str, inputs: list[str]) -> int | None:
    """The top-level Input whose sequence reaches ``port`` of the node at ``location``, walking
    upstream through layers (their sequence input), into block instances (by the output they
    return) and out of them (a block's Input is the instance's input port). None when the
    walk ends elsewhere (a missing wire, a broken block)."""
    try:
        frames: list[tuple[LayerGraph, tuple[str, BlockDefinition] | None]] = [(root, None)]
        graph = root
        for instance in location[:-1]:
            definition = root.blocks[str(graph.node(instance).params.get("block"))]
            frames.append((definition.graph, (instance, definition)))
            graph = definition.graph
        node_id = location[-1]
        for _ in range(_MAX_STEPS):
            graph, outer = frames[-1]
            edge = graph.incoming_edge(PortRef(node_id, port))
            if edge is None:
                return None
            src = graph.node(edge.src.node)
            if src.type_id == "input":
                if outer is None:
                    return inputs.index(src.id)
                instance, definition = outer
                by_node = {nid: name for name, nid in definition.input_ports().items()}
                frames.pop()
                node_id, port = instance, by_node[src.id]
            elif src.type_id == BLOCK_TYPE:
                definition = root.blocks[str(src.params.get("block"))]
                frames.append((definition.graph, (src.id, definition)))
                node_id, port = definition.output_ports()[edge.src.port], "in"
            elif has_layer_type(src.type_id):
                layer = get_layer_type(src.type_id)
                wired = [
                    p.name
                    for p in layer.input_ports({**layer.defaults(), **src.params})
                    if _wired(graph, src.id, p.name)
                ]
                if not wired:
                    return None
                node_id = src.id
                port = next((p for p in _FOLLOW if p in wired), wired[0])
            else:
                return None
    except (KeyError, ValueError, LookupError):
        return None  # an unknown definition or node: no tokens, the map still shows
    return None

"""What the model's inputs look like: dtype, symbolic sizes, and the id range of token inputs.

Shared by the generated ``example_inputs`` function and by the ONNX parity check, so both
feed the model the same kind of data.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from dlstudio.analysis import AnalysisResult
from dlstudio.core.graph import LayerGraph
from dlstudio.core.tensor_spec import TensorSpec

DEFAULT_VOCAB = 10
"""Id range for int64 inputs whose vocabulary is unknown (no vocab_size, no Embedding)."""


@dataclass(frozen=True)
class InputDescription:
    """One forward() argument: its name, its spec ``(N, ...)`` and, for token ids, the id range."""

    node_id: str
    name: str
    spec: TensorSpec
    vocab: int | None
    padding_id: int | None = None
    """For token ids: the id that pads each sequence after its end (None: no padding)."""

    @property
    def symbols(self) -> tuple[str, ...]:
        """The symbolic sizes after the batch, such as ``("T",)``."""
        batched = bool(self.spec.shape) and self.spec.shape[0] == "N"
        rest = self.spec.shape[1:] if batched else self.spec.shape
        return tuple(d for d in rest if isinstance(d, str))


def token_vocab(graph: LayerGraph, analysis: AnalysisResult, input_id: str) -> int:
    """Id range of an int64 Input: its vocab_size and the num_embeddings of the Embeddings it
    reaches, whichever is smallest (so example ids are valid everywhere), else
    :data:`DEFAULT_VOCAB`."""
    declared = analysis.nodes[input_id].params.get("vocab_size") or 0
    found: list[int] = [int(declared)] if declared > 0 else []
    seen = {input_id}
    queue = deque([input_id])
    while queue:
        node_id = queue.popleft()
        for edge in graph.edges_out_of(node_id):
            target = edge.dst.node
            if target in seen:
                continue
            seen.add(target)
            node = graph.node(target)
            if node.type_id == "embedding":
                found.append(int(analysis.nodes[target].params["num_embeddings"]))
                continue  # beyond an Embedding the values are vectors, not ids
            queue.append(target)
    return min(found) if found else DEFAULT_VOCAB


def describe_inputs(
    graph: LayerGraph, analysis: AnalysisResult, names: dict[str, str]
) -> list[InputDescription]:
    """Every Input node in document order, with its forward() name from ``names``."""
    described = []
    for node in graph:
        if node.type_id != "input":
            continue
        spec = analysis.nodes[node.id].outputs["out"]
        vocab = token_vocab(graph, analysis, node.id) if spec.dtype == "int64" else None
        pad = analysis.nodes[node.id].params.get("padding_id") if vocab is not None else None
        described.append(InputDescription(node.id, names[node.id], spec, vocab, pad))
    return described

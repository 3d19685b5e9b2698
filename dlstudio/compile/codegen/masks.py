"""Padding masks in forward(): one line per padded Input whose mask some layer uses.

``tokens_mask = tokens != 0  # (N, T) True at real steps`` comes first in forward(); the
layers that need it (attention, Transformer layers, mean over time, recurrent layers) get it
as an argument (see ``dlstudio.compile.emitters.masks``).
"""

from __future__ import annotations

from dlstudio.analysis import AnalysisResult
from dlstudio.analysis.masks import MASK_USERS
from dlstudio.compile.codegen.names import NameAllocator
from dlstudio.compile.emitters import Emission, lit
from dlstudio.core.graph import LayerGraph
from dlstudio.core.tensor_spec import format_shape


def padding_masks(
    graph: LayerGraph,
    analysis: AnalysisResult,
    lines: list[str],
    attrs: dict[str, str],
    allocator: NameAllocator,
) -> dict[str, str]:
    """Input node id -> the variable of its mask, for the masks read by a line of forward()
    (in document order of the Inputs)."""
    used: set[str] = set()
    for node_id in lines:
        if graph.node(node_id).type_id in MASK_USERS:
            used |= {s.mask for s in analysis.nodes[node_id].inputs.values() if s.mask}
    return {
        node.id: allocator.allocate(f"{attrs[node.id]}_mask", "mask")
        for node in graph
        if node.id in used
    }


def mask_emission(analysis: AnalysisResult, input_id: str, variable: str) -> Emission:
    """``tokens != 0``: True at the real steps of the Input's ids."""
    pad = analysis.nodes[input_id].params["padding_id"]
    return Emission(f"{variable} != {lit(pad)}", outputs=("mask",))


def mask_comment(analysis: AnalysisResult, input_id: str) -> str:
    """The shape comment of the mask line."""
    info = analysis.nodes[input_id]
    shape = format_shape(info.outputs["out"].shape)
    return f"{shape} bool, True at real steps, False at padding id {info.params['padding_id']}"

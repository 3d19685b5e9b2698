"""Hugging Face's attention masks and RoBERTa's position ids in a ``torch.export`` capture,
recognised by their values.

transformers turns the ``attention_mask`` input (N, S), 1 at real tokens and 0 at padding, into
the (N, 1, T, S) boolean or additive mask ``scaled_dot_product_attention`` takes, with indexing
and broadcasting operations that have no layer. Whatever those operations are, when the mask an
attention receives depends on one 2-D integer input alone and, on the example (whose mask has
padding), equals that input spread over the queries (True, or 0 added, exactly where the input is
non-zero), the whole computation is :func:`padding_mask` of the input: the attention becomes a
ScaledDotProductAttention with ``mask_type`` padding wired to the Input, and the operations that
built the mask, used for nothing else, are dropped.

Position ids go the same way: when the ids a position ``nn.Embedding`` reads (one with a
``padding_idx`` p) depend on one 2-D integer input alone and equal RoBERTa's numbering of it
(``cumsum(x != p) * (x != p) + p``: real tokens counted from p + 1, padding at p), they are
:func:`padded_positions` of the input, a PositionIds layer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.fx as fx

aten = torch.ops.aten
_SDPA = aten.scaled_dot_product_attention.default
_EMBEDDING = aten.embedding.default
_ASSERTS = {aten._assert_tensor_metadata.default}


def padded_positions(ids: torch.Tensor, padding_idx: int) -> torch.Tensor:
    """RoBERTa's position ids of token ids (N, T): the real tokens numbered from
    ``padding_idx + 1``, padding tokens at ``padding_idx``."""
    real = ids != padding_idx
    return real.long().cumsum(1) * real + padding_idx


def padding_mask(mask: torch.Tensor) -> torch.Tensor:
    """The attention mask (N, S), non-zero at real tokens, as the boolean (N, 1, 1, S) mask
    ``scaled_dot_product_attention`` broadcasts over heads and queries."""
    return mask[:, None, None, :] != 0


@dataclass
class PaddingMasks:
    """What was found in one capture: node -> (the function that stands for it, the input it
    is made from, further constant arguments), and the nodes that only served to build those
    (not rewritten)."""

    replaced: dict[fx.Node, tuple[Callable, fx.Node, tuple]] = field(default_factory=dict)
    skipped: set[fx.Node] = field(default_factory=set)


def find_padding_masks(
    graph: fx.Graph, inputs: set[fx.Node], values: Callable[[], dict[fx.Node, Any]]
) -> PaddingMasks:
    """The padding masks among the attention masks of ``graph`` (see the module doc).
    ``inputs`` are the model's own input placeholders; ``values`` gives every node's value on
    the example (called only when some attention has a mask computed from an input)."""
    found = PaddingMasks()
    candidates: dict[fx.Node, tuple[Callable, tuple]] = {}
    for node in graph.nodes:
        if node.op == "call_function" and node.target is _SDPA:
            mask = node.args[3] if len(node.args) > 3 else node.kwargs.get("attn_mask")
            if isinstance(mask, fx.Node):
                candidates.setdefault(mask, (padding_mask, ()))
        if node.op == "call_function" and node.target is _EMBEDDING and len(node.args) > 2:
            ids, pad = node.args[1], node.args[2]
            if isinstance(ids, fx.Node) and isinstance(pad, int) and pad >= 0:
                candidates.setdefault(ids, (padded_positions, (pad,)))
    for node, (function, extra) in candidates.items():
        if node in inputs:
            continue
        ancestors = _ancestors(node)
        sources = ancestors & inputs
        if len(sources) != 1:
            continue
        (source,) = sources
        value, given = values().get(node), values().get(source)
        if function is padding_mask and not _is_padding_of(value, given):
            continue
        if function is padded_positions and not _is_positions_of(value, given, extra[0]):
            continue
        found.replaced[node] = (function, source, extra)
    for node in found.replaced:
        found.skipped |= _only_for(_ancestors(node) - inputs, found.replaced)
    return found


def _ancestors(node: fx.Node) -> set[fx.Node]:
    seen: set[fx.Node] = set()
    todo = list(node.all_input_nodes)
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo.extend(current.all_input_nodes)
    return seen


def _only_for(nodes: set[fx.Node], masks: dict[fx.Node, Any]) -> set[fx.Node]:
    """Those of ``nodes`` every use of which goes to a replaced mask (through each other), and
    the metadata asserts on them, which check nothing once they are gone."""
    only: set[fx.Node] = set()
    changed = True
    while changed:
        changed = False
        for node in nodes - only:
            users = [u for u in node.users if u.target not in _ASSERTS]
            if all(u in masks or u in only for u in users):
                only.add(node)
                changed = True
    asserts = {u for n in only for u in n.users if u.target in _ASSERTS}
    return only | asserts


def _is_padding_of(mask: Any, source: Any) -> bool:
    """True when ``mask`` (N, heads or 1, T or 1, S), boolean or additive, lets a query see
    exactly the keys where ``source`` (N, S) is non-zero."""
    if not (isinstance(mask, torch.Tensor) and isinstance(source, torch.Tensor)):
        return False
    if source.dim() != 2 or source.is_floating_point() or mask.dim() != 4:
        return False
    if mask.shape[0] != source.shape[0] or mask.shape[-1] != source.shape[-1]:
        return False
    if mask.dtype == torch.bool:
        allowed = mask
    elif mask.is_floating_point():
        allowed = mask == 0
        if not bool((mask[~allowed] <= -1e4).all()):
            return False  # a bias added to the scores, not a mask
    else:
        return False
    return torch.equal(allowed, padding_mask(source).expand(allowed.shape))


def _is_positions_of(ids: Any, source: Any, padding_idx: int) -> bool:
    """True when ``ids`` are RoBERTa's position ids of the token ids ``source`` (N, T)."""
    if not (isinstance(ids, torch.Tensor) and isinstance(source, torch.Tensor)):
        return False
    if source.dim() != 2 or source.is_floating_point() or ids.shape != source.shape:
        return False
    if ids.is_floating_point() or not bool((source == padding_idx).any()):
        return False  # without padding in the example, plain counting would match as well
    return torch.equal(ids.long(), padded_positions(source, padding_idx))

"""Attention maps of a trained model: the weights every attention gives, for one sample.

The maps come from a copy of the model's graph with every attention's ``attention_weights``
option switched on (``per_head`` where it was off), compiled, with the trained weights loaded
strictly (the option never changes the ``state_dict`` keys) and forward hooks reading the
weights the layers return. So the weights shown are computed by the same generated code as a
weights output drawn by hand (checked against PyTorch's ``need_weights=True``), whether or not
the model wires one, also for attentions inside blocks and in every copy of a repeat; and the
model being trained or exported is never touched.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from dlstudio.analysis.attention_sites import ATTENTION_TYPES, AttentionSite, attention_sites
from dlstudio.compile.build import CompiledModel, compile_graph
from dlstudio.core.graph import LayerGraph

_PORTS = {"weights": 1, "cross_weights": 2}
"""Position of each weights port in the tuple a ``...WithWeights`` layer returns."""


@dataclass(frozen=True)
class AttentionMap:
    """The weights of one attention for one sample: ``weights[h, i, j]`` is how much query
    step i of head h looks at key step j (each row sums to 1). With the model's own option at
    ``mean`` there is one "head", the mean."""

    site: AttentionSite
    weights: np.ndarray
    """(heads, L_query, L_key), float32."""
    per_head: bool
    query_tokens: tuple[str, ...] | None = None
    key_tokens: tuple[str, ...] | None = None

    @property
    def label(self) -> str:
        """The attention's name, as the editor lists it."""
        return self.site.label

    def mean(self) -> np.ndarray:
        """The weights averaged over the heads, (L_query, L_key)."""
        return self.weights.mean(axis=0)


def with_attention_weights(graph: LayerGraph) -> LayerGraph:
    """A copy of ``graph`` (block definitions included) whose attention layers all return
    their weights: ``per_head`` where the option was off, as set where it was on (so wires
    from the weights ports keep their shapes)."""
    copy = graph.copy()
    for g in [copy, *(d.graph for d in copy.blocks.values())]:
        for node in list(g):
            if (
                node.type_id in ATTENTION_TYPES
                and node.params.get("attention_weights", "off") == "off"
            ):
                g.update_node(node.id, params={**node.params, "attention_weights": "per_head"})
    return copy


class AttentionProbe:
    """A trained model, ready to show its attention for any sample of a data split."""

    def __init__(self, graph: LayerGraph, trained: torch.nn.Module) -> None:
        """Probe ``graph`` with the weights of ``trained`` (its compiled module, or any module
        with the same ``state_dict``), which is only read."""
        probed = with_attention_weights(graph)
        self.compiled: CompiledModel = compile_graph(probed)
        # Strict (the option keeps the keys); assign: the probe shares the trained tensors
        # instead of holding a second copy of a large model.
        self.compiled.module.load_state_dict(trained.state_dict(), assign=True)
        self.compiled.module.eval()
        assert self.compiled.analysis is not None  # compile_graph always analyses
        self.sites = attention_sites(probed, self.compiled.analysis)
        self._modules = self._site_modules()

    def _site_modules(self) -> dict[AttentionSite, str]:
        """Each site's submodule path in the compiled module (top-level names are the nodes'
        identifiers; names inside blocks are the inner nodes' names)."""
        attrs = self.compiled.node_attrs
        names = dict(self.compiled.module.named_modules())
        found = {}
        for site in self.sites:
            parts = site.path.split(".")
            parts[0] = attrs.get(site.location[0], parts[0])
            path = ".".join(parts)
            if path in names:
                found[site] = path
        return found

    @torch.no_grad()
    def maps(
        self, inputs: tuple[torch.Tensor, ...], vocab: list[str] | None = None
    ) -> list[AttentionMap]:
        """The attention maps for one sample: ``inputs`` holds one tensor per model input,
        without the batch dimension; token ids are shown as ``vocab`` entries when given."""
        module = self.compiled.module
        device = next((p.device for p in module.parameters()), torch.device("cpu"))
        captured: dict[str, tuple] = {}
        handles = []
        for path in set(self._modules.values()):
            sub = module.get_submodule(path)
            handles.append(sub.register_forward_hook(_keep(captured, path)))
        try:
            module(*(x.unsqueeze(0).to(device) for x in inputs))
        finally:
            for handle in handles:
                handle.remove()
        out = []
        for site in self.sites:
            module_path = self._modules.get(site)
            if module_path is None or module_path not in captured:
                continue
            weights = captured[module_path][_PORTS[site.port]][0].float().cpu().numpy()
            per_head = weights.ndim == 3
            if not per_head:
                weights = weights[None]
            out.append(
                AttentionMap(
                    site,
                    weights,
                    per_head,
                    _tokens(inputs, site.query_input, vocab, weights.shape[1]),
                    _tokens(inputs, site.key_input, vocab, weights.shape[2]),
                )
            )
        return out


def _keep(captured: dict, path: str):
    def hook(_module, _args, output) -> None:
        captured[path] = output

    return hook


def _tokens(
    inputs: tuple[torch.Tensor, ...], index: int | None, vocab: list[str] | None, length: int
) -> tuple[str, ...] | None:
    """The tokens of input ``index`` when it holds one token id per step of the axis."""
    if index is None or index >= len(inputs):
        return None
    ids = inputs[index]
    if ids.is_floating_point() or ids.dim() != 1 or ids.shape[0] != length:
        return None
    return tuple(vocab[i] if vocab and 0 <= i < len(vocab) else str(i) for i in ids.tolist())

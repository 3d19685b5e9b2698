"""The data behind the Attention tab (no Qt): a trained run's attention probe and the samples
it can be shown for. Prepared on a pool thread; each sample's maps are computed on one too."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import torch

from dlstudio.analysis.attention_sites import ATTENTION_TYPES
from dlstudio.compile.attention_maps import AttentionMap, AttentionProbe
from dlstudio.core.graph import LayerGraph
from dlstudio.gui.training.evaluation import choose_split
from dlstudio.gui.training.history import RunRecord
from dlstudio.gui.training.jobs import trained_model
from dlstudio.train import DataSplit, TrainConfig, TrainError, load_dataset

MAX_CHOICES = 200
"""Samples offered in the selector (the first ones of the split)."""


def has_attention(graph: LayerGraph) -> bool:
    """True when the model (or a block definition it holds) has an attention layer."""
    graphs = [graph, *(d.graph for d in graph.blocks.values())]
    return any(node.type_id in ATTENTION_TYPES for g in graphs for node in g)


@dataclass
class AttentionSource:
    """A run's attention maps on demand: ``maps(i)`` for sample ``i`` of ``split``."""

    run_id: str
    probe: AttentionProbe
    split: DataSplit
    split_name: str
    vocab: list[str] | None
    labels: list[str]
    """What the selector shows for each offered sample (its input tokens, shortened)."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def maps(self, index: int) -> list[AttentionMap]:
        """The attention maps of sample ``index`` (one at a time: the probe hooks its module)."""
        with self._lock:
            return self.probe.maps(tuple(x[index] for x in self.split.inputs), self.vocab)


def prepare_attention(record: RunRecord, module: torch.nn.Module | None = None) -> AttentionSource:
    """The run's trained model, probed, with the samples of its test split (else validation)."""
    if not has_attention(record.load_graph()):  # before the compile, which costs more
        raise TrainError(
            f"the model of run {record.run_id} has no attention layer (MultiheadAttention or "
            "a Transformer layer), so it has no attention map"
        )
    graph, compiled = trained_model(record, module)
    probe = AttentionProbe(graph, compiled.module)
    config = TrainConfig.from_metadata(record.settings)
    assert config.dataset is not None, "a run's record names the data set it trained on"
    dataset = load_dataset(config.dataset, config.dataset_options)
    split_name, split = choose_split(dataset, config, test=True)
    count = min(MAX_CHOICES, len(split))
    labels = [f"#{i + 1}  {_describe(split, i, dataset.vocab)}" for i in range(count)]
    return AttentionSource(record.run_id, probe, split, split_name, dataset.vocab, labels)


def _describe(split: DataSplit, index: int, vocab: list[str] | None, limit: int = 12) -> str:
    first = split.inputs[0][index]
    if first.is_floating_point() or first.dim() != 1:
        return f"input {tuple(first.shape)}"
    ids = first.tolist()
    tokens = [vocab[i] if vocab and 0 <= i < len(vocab) else str(i) for i in ids[:limit]]
    return " ".join(tokens) + (" …" if len(ids) > limit else "")

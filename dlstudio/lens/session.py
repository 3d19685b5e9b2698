"""The lens beside an editor: one refresh per edit, the newest request wins.

The window calls :meth:`LensSession.refresh` on a worker thread with a copy of the graph; an
older refresh still running sees that a newer one was asked for and stops (``LensCancelled``).
Data sets are loaded once per (name, options) and kept.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dlstudio.compile.build import compile_graph
from dlstudio.core.graph import LayerGraph
from dlstudio.lens.embeddings import EmbeddingTable, embedding_layers, embedding_table, project
from dlstudio.lens.engine import LensEngine, LensResult
from dlstudio.lens.examples import (
    Example,
    ExampleError,
    dataset_example,
    image_example,
    text_example,
)
from dlstudio.lens.filters import filters_picture
from dlstudio.lens.pinning import PinRequest
from dlstudio.train.data.hf_tokenizer import load_project_tokenizer
from dlstudio.train.reproducible import seeded_build
from dlstudio.train.session import resolve_project_run

MAP_WORDS = 2000
"""At most this many rows of an embedding table are mapped (the most frequent ids come first in
the built-in vocabularies)."""

WEIGHT_MODES = ("current", "random", "both")
"""``current``: the last run's weights where they fit the drawing (random before training);
``random``: the seeded weights a run starts from; ``both``: side by side."""


@dataclass(frozen=True)
class LensRefresh:
    """What one refresh produced: a result per weights variant, labelled."""

    generation: int
    results: tuple[tuple[str, LensResult], ...]
    """(``random (seed 0)`` or ``trained``, result) in display order."""
    problem: str = ""
    """Why nothing could be shown (no data set, the drawing has errors...), else empty."""
    filters: tuple[str, np.ndarray] | None = None
    """The first convolution's module path and a picture of its kernels (the last variant's
    weights), when the model has one."""
    embedding: EmbeddingMap | None = None
    """The first Embedding's table and its 2-D map (the last variant's weights)."""
    scope: str = ""
    """Inside a block: which instance the views read (``layer1 (copy 1 of 2)``), else empty."""
    path: tuple[str, ...] = ()
    """The instance path the views belong to (empty: the model itself)."""
    copies: int = 1
    """How many copies the opened instance has (a repeated block)."""
    embeddings: tuple[EmbeddingMap, ...] = ()
    """Every Embedding layer's table and map, in definition order (the first is
    :attr:`embedding`)."""


@dataclass(frozen=True)
class EmbeddingMap:
    """An Embedding table projected for drawing."""

    table: EmbeddingTable
    coords: np.ndarray
    """(V, 2), PCA."""


def _embedding_maps(module: Any, vocab: list[str] | None) -> tuple[EmbeddingMap, ...]:
    """Every Embedding layer's table on its PCA map. Rows are labelled with the vocabulary's
    words for the first layer and for any other with exactly one row per word; another table
    (positions, segments) keeps its row numbers, which words would mislabel."""
    maps = []
    for index, layer in enumerate(embedding_layers(module)):
        rows = module.get_submodule(layer).num_embeddings
        words = vocab if index == 0 or (vocab is not None and rows == len(vocab)) else None
        table = embedding_table(module, layer, words, {})
        maps.append(EmbeddingMap(table, project(table.vectors[:MAP_WORDS], "pca")))
    return tuple(maps)


class LensSession:
    """Refreshes on request; thread-safe for one GUI thread asking and workers answering."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest = 0
        self._datasets: dict[str, Any] = {}
        self._last_dataset: Any = None

    def next_generation(self) -> int:
        """Number a new request; every older refresh still running will stop."""
        with self._lock:
            self._latest += 1
            return self._latest

    def is_stale(self, generation: int) -> bool:
        """True once a newer request was numbered."""
        with self._lock:
            return generation != self._latest

    def dataset(self, metadata: dict[str, Any], base_dir: Path | None) -> Any:
        """The project's data set, loaded once per name, options and tokenizer."""
        training = metadata.get("training")
        if not isinstance(training, dict) or not training.get("dataset"):
            raise ExampleError("no data set chosen: pick one in the Training panel")
        key = json.dumps(
            [
                training.get("dataset"),
                training.get("dataset_options"),
                metadata.get("tokenizer"),
                str(base_dir),
            ],
            sort_keys=True,
            default=str,
        )
        with self._lock:
            cached = self._datasets.get(key)
        if cached is None:
            _config, cached = resolve_project_run(metadata, base_dir)
            with self._lock:
                self._datasets[key] = cached
        return cached

    def refresh(
        self,
        graph: LayerGraph,
        request: PinRequest,
        generation: int,
        mode: str = "current",
        trained: dict[str, torch.Tensor] | None = None,
        base_dir: Path | None = None,
        example: Example | None = None,
        path: tuple[str, ...] = (),
        copy: int = 0,
    ) -> LensRefresh:
        """Compile ``graph`` and run the lens on the pinned example for the weight variants of
        ``mode``. ``trained`` is the last run's state_dict (tensors that do not fit the drawing
        any more keep their random values). ``path`` (instance ids from the model down) shows
        the inner layers of that instance, ``copy`` the copy of a repeated one."""
        training = graph.metadata.get("training")
        seed = training.get("seed", 0) if isinstance(training, dict) else 0
        seed = seed if isinstance(seed, int) else 0
        variants: list[tuple[str, dict[str, torch.Tensor] | None]] = []
        if mode in ("random", "both") or trained is None:
            variants.append((f"random (seed {seed})", None))
        if mode in ("current", "both") and trained is not None:
            variants.append(("trained", trained))
        results = []
        names: list[str] | None = None
        scope, copies = "", 1
        for label, state in variants:
            compiled = seeded_build(lambda: compile_graph(graph, base_dir=base_dir), seed)
            if state is not None:
                load_fitting(compiled.module, state)
            if example is None:
                example, names = self._pin(request, compiled, graph.metadata, base_dir)
            engine = LensEngine(graph, compiled, names, path, copy)
            if engine.scope is not None:
                scope, copies = engine.scope.label, engine.scope.copies
            results.append(
                (label, engine.run(example, cancelled=lambda: self.is_stale(generation)))
            )
        module = compiled.module
        filters = filters_picture(module)
        embeddings = _embedding_maps(module, getattr(self._last_dataset, "vocab", None))
        first = embeddings[0] if embeddings else None
        return LensRefresh(
            generation,
            tuple(results),
            "",
            filters,
            first,
            scope,
            tuple(path),
            copies,
            embeddings,
        )

    def _pin(
        self,
        request: PinRequest,
        compiled: Any,
        metadata: dict[str, Any],
        base_dir: Path | None,
    ) -> tuple[Example, list[str] | None]:
        if request.image is not None:
            return image_example(request.image, compiled.input_specs[0]), None
        dataset = self.dataset(metadata, base_dir)
        self._last_dataset = dataset
        names = getattr(dataset, "class_names", None)
        if request.text is not None:
            project_file = base_dir / "project.json" if base_dir is not None else None
            tokenizer = load_project_tokenizer(metadata, project_file)
            return text_example(request.text, compiled, dataset, tokenizer), names
        return dataset_example(dataset, request.sample, request.class_index), names


def load_fitting(module: torch.nn.Module, state: dict[str, torch.Tensor]) -> int:
    """Copy the tensors of ``state`` whose key and shape fit ``module``; the count copied."""
    own = module.state_dict()
    fitting = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    module.load_state_dict(fitting, strict=False)
    return len(fitting)

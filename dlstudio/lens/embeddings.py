"""An Embedding layer's table as a map: 2-D projections, nearest neighbours and analogies."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from dlstudio.core.errors import DLStudioError

PROJECTIONS = ("pca", "tsne", "umap")
"""Every projection :func:`project` knows; UMAP needs the ``umap-learn`` package."""

PROJECTION_NAMES = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}
"""How people write them."""


def available_projections() -> tuple[str, ...]:
    """The projections this installation can compute: PCA and t-SNE (scikit-learn is a
    dependency), and UMAP only where ``umap`` can be imported."""
    return tuple(m for m in PROJECTIONS if m != "umap" or importlib.util.find_spec("umap"))


class EmbeddingError(DLStudioError):
    """No such embedding layer, or a word the vocabulary lacks."""


@dataclass(frozen=True)
class EmbeddingTable:
    """The vectors of one Embedding layer, with the words they stand for."""

    layer: str
    """The module path (``embed``, ``encoder.token_embed``)."""
    vectors: np.ndarray
    """(V, E) float64."""
    words: tuple[str, ...]

    def index(self, word: str) -> int:
        """The row of ``word``; :class:`EmbeddingError` naming close words when it is absent."""
        try:
            return self.words.index(word)
        except ValueError:
            close = [w for w in self.words if w.startswith(word[:2])][:6]
            hint = f" (words that start alike: {', '.join(close)})" if close else ""
            raise EmbeddingError(f"{word!r} is not in the vocabulary{hint}") from None


def embedding_layers(module: nn.Module) -> list[str]:
    """Module paths of every Embedding, in definition order."""
    return [path for path, sub in module.named_modules() if isinstance(sub, nn.Embedding)]


def embedding_table(
    module: nn.Module, layer: str | None, vocab: list[str] | None, names: dict[str, str]
) -> EmbeddingTable:
    """The table of ``layer`` (a node name or a module path; the first Embedding when None).
    ``names`` maps node names to their module paths (the compiled model's identifiers)."""
    layers = embedding_layers(module)
    if not layers:
        raise EmbeddingError("the model has no Embedding layer")
    path = layers[0] if layer is None else names.get(layer, layer)
    if path not in layers:
        raise EmbeddingError(f"no Embedding layer {layer!r}; the model has: {', '.join(layers)}")
    table = module.get_submodule(path).weight
    assert isinstance(table, torch.Tensor), f"{path} is an Embedding, with a weight tensor"
    weight = table.detach().double().cpu().numpy()
    count = weight.shape[0]
    words = list(vocab or [])[:count]
    words += [f"#{i}" for i in range(len(words), count)]
    return EmbeddingTable(path, weight, tuple(words))


def project(vectors: np.ndarray, method: str = "pca", seed: int = 0) -> np.ndarray:
    """(V, 2) coordinates: PCA by SVD, t-SNE (scikit-learn) or UMAP (umap-learn), the last two
    seeded for repeatable maps."""
    centred = vectors - vectors.mean(axis=0, keepdims=True)
    if method == "pca":
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        components = vt[:2]
        coords = centred @ components.T
        if coords.shape[1] < 2:
            coords = np.pad(coords, ((0, 0), (0, 2 - coords.shape[1])))
        return coords
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = float(min(30, max(2, (len(vectors) - 1) // 3)))
        tsne = TSNE(2, perplexity=perplexity, init="pca", random_state=seed)
        return tsne.fit_transform(centred)
    if method == "umap" and method in available_projections():
        import umap

        neighbours_ = int(min(15, max(2, len(vectors) - 1)))
        reducer = umap.UMAP(n_components=2, n_neighbors=neighbours_, random_state=seed)
        return np.asarray(reducer.fit_transform(centred), dtype=np.float64)
    if method == "umap":
        raise EmbeddingError("UMAP needs the umap-learn package; PCA and t-SNE are here")
    raise EmbeddingError(f"unknown projection {method!r}; choose one of {', '.join(PROJECTIONS)}")


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1, norms)


def nearest(
    table: EmbeddingTable, query: np.ndarray, k: int = 5, exclude: tuple[int, ...] = ()
) -> list[tuple[str, float]]:
    """The ``k`` words closest to ``query`` by cosine similarity, with the similarity."""
    units = _unit_rows(table.vectors)
    q = query / (np.linalg.norm(query) or 1.0)
    scores = units @ q
    for i in exclude:
        scores[i] = -np.inf
    order = np.argsort(-scores, kind="stable")[:k]
    return [(table.words[i], float(scores[i])) for i in order]


def neighbours(table: EmbeddingTable, word: str, k: int = 5) -> list[tuple[str, float]]:
    """The nearest words to ``word`` (itself left out)."""
    i = table.index(word)
    return nearest(table, table.vectors[i], k, exclude=(i,))


def analogy(table: EmbeddingTable, a: str, b: str, c: str, k: int = 5) -> list[tuple[str, float]]:
    """Words closest to a - b + c (king - man + woman), the three words left out."""
    ia, ib, ic = table.index(a), table.index(b), table.index(c)
    units = _unit_rows(table.vectors)
    return nearest(table, units[ia] - units[ib] + units[ic], k, exclude=(ia, ib, ic))

"""Small project files for training tests: a digits CNN with BatchNorm, its transfer variant,
an iris MLP without BatchNorm, and the even/odd digits data set as a .npz file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from graph_builders import ChainBuilder

from dlstudio.core import LayerGraph, save_project

FEATURES: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("input", "image", {"shape": (1, 8, 8)}),
    ("conv2d", "conv1", {"out_channels": 8, "kernel_size": 3, "padding": 1}),
    ("batchnorm2d", "bn1", {}),
    ("relu", "relu1", {}),
    ("maxpool2d", "pool1", {"kernel_size": 2}),
    ("flatten", "flatten", {}),
    ("dense", "fc1", {"units": 32}),
    ("relu", "relu2", {}),
)
FROZEN_NODES = ("conv1", "bn1", "fc1")


def digits_cnn(epochs: int = 3, seed: int = 0) -> LayerGraph:
    """The features above, dropout and a 10-class head, set to train on ``digits``."""
    b = ChainBuilder("digits-cnn")
    b.chain(
        *FEATURES,
        ("dropout", "drop1", {"p": 0.2}),
        ("dense", "fc2", {"units": 10}),
        ("output", "logits", {}),
    )
    b.graph.metadata["training"] = {
        "dataset": "digits",
        "epochs": epochs,
        "batch_size": 64,
        "lr": 0.01,
        "seed": seed,
    }
    return b.graph


def parity_transfer(dataset: str, epochs: int = 6) -> LayerGraph:
    """The same features, frozen, with a new 2-class head ``head`` (even / odd digits)."""
    b = ChainBuilder("digits-parity")
    ids = b.chain(*FEATURES, ("dense", "head", {"units": 2}), ("output", "logits", {}))
    for node_id in ids:
        if b.graph.node(node_id).name in FROZEN_NODES:
            b.graph.update_node(node_id, trainable=False)
    b.graph.metadata["training"] = {
        "dataset": dataset,
        "epochs": epochs,
        "batch_size": 64,
        "lr": 0.01,
        "seed": 1,
    }
    return b.graph


def write_parity_data(path: Path) -> Path:
    """digits with targets 0 (even) / 1 (odd), as ``x``/``y`` arrays in a .npz file."""
    from dlstudio.train import load_dataset

    digits = load_dataset("digits")
    x = digits.data.inputs[0].numpy()
    y = (digits.data.target.numpy() % 2).astype(np.int64)
    np.savez(path, x=x, y=y)
    return path


def iris_mlp_project(epochs: int = 3, batch_size: int = 16) -> LayerGraph:
    """Iris, 4 -> 16 -> 3, no BatchNorm, no dropout (for exact comparisons)."""
    b = ChainBuilder("iris")
    b.chain(
        ("input", "features", {"shape": (4,)}),
        ("dense", "fc1", {"units": 16}),
        ("relu", "relu1", {}),
        ("dense", "fc2", {"units": 3}),
        ("output", "logits", {}),
    )
    b.graph.metadata["training"] = {
        "dataset": "iris",
        "epochs": epochs,
        "batch_size": batch_size,
        "optimizer": "sgd",
        "lr": 0.05,
        "seed": 3,
    }
    return b.graph


def save(graph: LayerGraph, path: Path) -> Path:
    """Write ``graph`` as a project file and return its path."""
    save_project(graph, path)
    return path

"""Pooling windows are legal exactly where torch says so (MaxPool2d(2, padding=1) is: the padding
may be half the kernel), and then give torch's output shape."""

from __future__ import annotations

import itertools

import pytest
import torch
from graph_builders import ChainBuilder

from dlstudio.analysis import analyze

TORCH_POOLS = {
    ("max", 1): torch.nn.MaxPool1d,
    ("max", 2): torch.nn.MaxPool2d,
    ("avg", 1): torch.nn.AvgPool1d,
    ("avg", 2): torch.nn.AvgPool2d,
}


def _ours(kind: str, spatial: int, kernel: int, stride: int, padding: int, size: int):
    b = ChainBuilder("pool")
    shape = (2, *([size] * spatial))
    params = {"kernel_size": kernel, "stride": stride, "padding": padding}
    b.chain(
        ("input", "x", {"shape": shape}),
        (f"{kind}pool{spatial}d", "pool", params),
        ("output", "out", {}),
    )
    result = analyze(b.graph)
    if result.has_errors:
        return None
    return result.nodes[b.graph.node_by_name("pool").id].output.shape[1:]


def _torch(kind: str, spatial: int, kernel: int, stride: int, padding: int, size: int):
    pool = TORCH_POOLS[kind, spatial](kernel, stride=stride, padding=padding)
    try:
        return tuple(pool(torch.zeros(1, 2, *([size] * spatial))).shape[1:])
    except RuntimeError:
        return None


@pytest.mark.parametrize(("kind", "spatial"), list(TORCH_POOLS))
def test_pool_bounds_and_shapes_are_torchs(kind: str, spatial: int) -> None:
    legal = 0
    for kernel, stride, padding, size in itertools.product(
        range(1, 6), (1, 2, 3), range(4), (3, 7, 8)
    ):
        case = (kind, spatial, kernel, stride, padding, size)
        assert _ours(*case) == _torch(*case), case
        legal += _torch(*case) is not None
    assert legal > 50  # enough legal windows to compare shapes, not only refusals
    assert _ours(kind, spatial, 2, 2, 1, 8) == (2, *([5] * spatial))  # the planted bug's case

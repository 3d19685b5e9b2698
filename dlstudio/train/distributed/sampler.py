"""The order of the training samples, the same with one worker or many.

Every epoch is a permutation drawn from a generator seeded by ``(seed, epoch)`` (so a resumed run
needs no sampler state). A global batch is ``batch_size`` consecutive entries of it; worker
``rank`` of ``world`` takes every ``world``-th of them, as ``DistributedSampler`` splits, so the
workers together see exactly the single-process batches.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import torch
from torch.utils.data.distributed import DistributedSampler


def epoch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The permutation of ``n`` samples for ``epoch`` (from 0)."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=generator)


class GlobalOrderSampler(DistributedSampler):
    """A ``DistributedSampler`` over the single-process order, without padding."""

    def __init__(self, n: int, seed: int, rank: int = 0, world_size: int = 1) -> None:
        super().__init__(
            cast(Any, range(n)),  # the sampler only needs a length
            num_replicas=world_size,
            rank=rank,
            shuffle=True,
            seed=seed,
            drop_last=False,
        )
        self.n = n
        self.num_samples = len(range(rank, n, world_size))
        self.total_size = n

    def order(self) -> torch.Tensor:
        """The global order of the current epoch (see ``set_epoch``)."""
        return epoch_order(self.n, self.seed, self.epoch)

    def __iter__(self) -> Iterator[int]:
        return iter(self.order()[self.rank :: self.num_replicas].tolist())

    def __len__(self) -> int:
        return self.num_samples

    def local(self, batch: torch.Tensor) -> torch.Tensor:
        """This worker's part of a global batch of indices."""
        if self.num_replicas == 1:
            return batch
        return batch[self.rank :: self.num_replicas]

"""Lens tests run torch on one thread."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread() -> Iterator[None]:
    """The test models are small: on a busy machine a second thread mostly waits for the first
    (recurrent layers run many tiny operations), which made these tests up to 25x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)

"""The lens's statistics of many values at once equal numpy's, value by value."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlstudio.lens.summary import SMALL, many_statistics, statistics


def _reference(value: torch.Tensor) -> tuple[float, float, float, float]:
    """numpy on the value's finite entries, one value at a time, in float64."""
    array = value.detach().to(torch.float64).numpy().reshape(-1)
    array = array[np.isfinite(array)]
    if array.size == 0:
        return (float("nan"),) * 4
    return float(array.min()), float(array.max()), float(array.mean()), float(array.std())


def _values() -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    with_nan = torch.randn(7, 5, generator=generator)
    with_nan[2, 3] = float("nan")
    with_inf = torch.randn(40, generator=generator)
    with_inf[0], with_inf[9] = float("inf"), float("-inf")
    return [
        torch.randn(6, 28, 28, generator=generator),
        torch.relu(torch.randn(16, 5, 5, generator=generator)),
        torch.full((3, 4), 2.5),  # constant: std exactly 0
        torch.randn(10, generator=generator) * 1e-3 + 1e4,  # a large mean, a small spread
        with_nan,
        with_inf,
        torch.full((4,), float("nan")),  # nothing finite
        torch.empty(0, 3),
        torch.tensor(3.0),  # a scalar
        torch.arange(12, dtype=torch.int64).reshape(3, 4),
        torch.tensor([True, False, True]),
        torch.randn(8, 8, generator=generator, dtype=torch.float64),
        torch.randn(5, generator=generator).to(torch.bfloat16),  # numpy cannot read it
        torch.randn(SMALL + 7, generator=generator),  # large: reduced by torch on its own
        torch.randn(6, generator=generator, requires_grad=True) * 2,
        torch.randn(3, 9, generator=generator).t(),  # not contiguous
    ]


def test_many_values_at_once_equal_numpy_on_each_value() -> None:
    values = _values()
    found = many_statistics(values)
    assert len(found) == len(values)
    for index, (value, got) in enumerate(zip(values, found, strict=True)):
        expected = _reference(value)
        assert got == pytest.approx(expected, rel=1e-6, abs=1e-9, nan_ok=True), (index, value)
    assert found[2][3] == 0.0  # a constant value's spread is exactly nothing
    assert found[3][3] == pytest.approx(_reference(values[3])[3], rel=1e-4)


def test_numpy_arrays_are_read_like_tensors_and_one_value_alone_like_many() -> None:
    values = _values()
    arrays = [v.detach().numpy() for v in values[:4]]
    assert many_statistics(arrays) == many_statistics(values[:4])
    for value in values:
        assert statistics(value) == pytest.approx(_reference(value), rel=1e-6, nan_ok=True)

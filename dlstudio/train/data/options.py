"""Checked data-set options: every number is range-checked before any data is made, so a typo
such as ``resize: 100000`` is refused with the allowed range instead of allocating terabytes."""

from __future__ import annotations

import math
from typing import Any

from dlstudio.train.errors import DatasetError

MAX_SEED = 2**32 - 1


def int_option(options: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    """``options[key]`` (or ``default``) as a whole number from ``low`` to ``high``.

    Text holding a whole number (``"28"``, as typed in a form) is accepted.
    """
    value = options.get(key, default)
    number = value
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit() and len(value) < 20:
        number = int(value)
    if isinstance(number, bool) or not isinstance(number, int) or not low <= number <= high:
        raise DatasetError(
            f"option {key} must be a whole number from {low} to {high}, got {value!r}"
        )
    return number


def float_option(
    options: dict[str, Any], key: str, default: float, low: float, high: float
) -> float:
    """``options[key]`` (or ``default``) as a finite number from ``low`` to ``high``."""
    value = options.get(key, default)
    number = value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            number = None
    ok = isinstance(number, int | float) and not isinstance(number, bool)
    if not ok or not math.isfinite(number) or not low <= number <= high:  # type: ignore[arg-type]
        raise DatasetError(f"option {key} must be a number from {low:g} to {high:g}, got {value!r}")
    return float(number)  # type: ignore[arg-type]


def seed_option(options: dict[str, Any]) -> int:
    """The ``seed`` option: a whole number from 0 to 2**32 - 1 (default 0)."""
    return int_option(options, "seed", 0, 0, MAX_SEED)

"""Data-set options as the Training panel's Options field shows them: ``resize=28, flatten=true``
(values in JSON, lists and mappings kept whole)."""

from __future__ import annotations

import json
from typing import Any

from dlstudio.train import TrainError


def format_options(options: dict[str, Any]) -> str:
    """``{"resize": 28, "flatten": True}`` -> ``resize=28, flatten=true``."""
    return ", ".join(f"{k}={json.dumps(v)}" for k, v in options.items() if v is not None)


def parse_options(text: str) -> dict[str, Any]:
    """The inverse of :func:`format_options`; a value that is not JSON stays a string."""
    options: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in _top_level_parts(text))):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise TrainError(f"data set option {part!r} is not written as name=value")
        try:
            options[key.strip()] = json.loads(value.strip())
        except ValueError:
            options[key.strip()] = value.strip()
    return options


def _top_level_parts(text: str) -> list[str]:
    """``text`` cut at the commas outside brackets, braces and quotes, so list and mapping
    values (``crop_scale=[0.08, 1.0]``) stay whole."""
    parts, depth, quote, start = [], 0, "", 0
    for index, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth = max(0, depth - 1)
        elif char == "," and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return parts

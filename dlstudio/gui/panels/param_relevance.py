"""Which parameters a layer's current setting leaves unused, so the properties panel can leave
them out: an image Input shows no token fields (vocabulary size, padding id), an Input without
a symbolic size such as T no example length."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_TOKEN_PARAMS = {"vocab_size": 0, "padding_id": None}
"""The Input's token-id parameters and their "not used" values."""


def unused_params(type_id: str, values: Mapping[str, Any]) -> frozenset[str]:
    """Names of the parameters ``values`` (a node's resolved parameters) make irrelevant.

    A parameter holding a value other than its "not used" one is always shown, so a setting
    that an analysis problem names can still be seen and changed.
    """
    if type_id != "input":
        return frozenset()
    unused: set[str] = set()
    if values.get("dtype") != "int64":
        unused.update(k for k, idle in _TOKEN_PARAMS.items() if values.get(k) == idle)
    shape = values.get("shape")
    if isinstance(shape, (list, tuple)) and all(isinstance(size, int) for size in shape):
        unused.add("seq_len")  # the example length stands in for symbolic sizes only
    return frozenset(unused)

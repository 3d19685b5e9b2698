"""The torch side of each layer type, keyed by the catalogue's ids.

``EMITTERS[type_id](ctx) -> Emission`` gives the ``__init__`` constructor and the ``forward``
expression; ``HELPERS`` holds the small classes some layers need, emitted into the generated
file only when used. Everything here builds strings; nothing imports torch.
"""

from __future__ import annotations

from dlstudio.compile.emitters import (
    activations,
    activations_extra,
    attention,
    compare,
    constant,
    conv,
    dense,
    feature_norms,
    indexing,
    math,
    merge,
    normalization,
    pooling,
    recurrent,
    reshaping,
    sdpa,
    sequence,
    slicing,
)
from dlstudio.compile.emitters.base import Emission, EmitContext, EmitError, Emitter, lit
from dlstudio.compile.emitters.helpers import HELPERS, Helper, helper_closure

EMITTERS: dict[str, Emitter] = {}
_FAMILIES = (
    activations,
    activations_extra,
    attention,
    compare,
    constant,
    conv,
    dense,
    feature_norms,
    indexing,
    math,
    merge,
    normalization,
    pooling,
    recurrent,
    reshaping,
    sdpa,
    sequence,
    slicing,
)
for _family in _FAMILIES:
    for _id, _emitter in _family.EMITTERS.items():
        if _id in EMITTERS:
            raise RuntimeError(f"layer type {_id!r} has two emitters")
        EMITTERS[_id] = _emitter


def has_emitter(type_id: str) -> bool:
    """True when the compiler knows the torch side of ``type_id``."""
    return type_id in EMITTERS


__all__ = [
    "EMITTERS",
    "HELPERS",
    "Emission",
    "EmitContext",
    "EmitError",
    "Emitter",
    "Helper",
    "has_emitter",
    "helper_closure",
    "lit",
]

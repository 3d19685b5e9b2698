"""The catalogue of layer types, by stable id."""

from __future__ import annotations

import difflib

from dlstudio.core.errors import DLStudioError
from dlstudio.layers.spec import LayerType

_REGISTRY: dict[str, LayerType] = {}

CATEGORY_ORDER = (
    "Input / Output",
    "Dense",
    "Convolution",
    "Pooling",
    "Normalization",
    "Activation",
    "Reshape",
    "Embedding",
    "Recurrent",
    "Attention",
    "Sequence",
    "Merge",
    "Imported",
)


class UnknownLayerError(DLStudioError):
    """A layer id that is not in the catalogue; suggests the closest known id."""


def register(layer_type: LayerType) -> LayerType:
    """Add a layer type to the catalogue (ids are unique)."""
    if layer_type.id in _REGISTRY:
        raise ValueError(f"layer type {layer_type.id!r} is registered twice")
    _REGISTRY[layer_type.id] = layer_type
    return layer_type


def get_layer_type(type_id: str) -> LayerType:
    """The layer type with this id, or :class:`UnknownLayerError` with a suggestion."""
    try:
        return _REGISTRY[type_id]
    except KeyError:
        close = difflib.get_close_matches(str(type_id), list(_REGISTRY), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UnknownLayerError(f"unknown layer type {type_id!r}{hint}") from None


def has_layer_type(type_id: str) -> bool:
    """True when ``type_id`` is in the catalogue."""
    return type_id in _REGISTRY


def all_layer_types() -> list[LayerType]:
    """Every layer type, ordered by category then label."""
    order = {c: i for i, c in enumerate(CATEGORY_ORDER)}
    return sorted(_REGISTRY.values(), key=lambda t: (order.get(t.category, 99), t.label))

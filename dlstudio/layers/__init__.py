"""The layer catalogue: one declarative :class:`LayerType` per layer, keyed by a stable id.

Importing this package registers every layer type. Nothing here imports torch or Qt.
"""

from __future__ import annotations

from dlstudio.layers import (  # noqa: F401  (imported for their registrations)
    activations,
    activations_extra,
    arithmetic,
    attention,
    compare,
    constant,
    conv,
    dense,
    embedding,
    feature_norms,
    indexing,
    io,
    math,
    merge,
    normalization,
    padding,
    placeholder,
    pooling,
    recurrent,
    reduce,
    reshaping,
    resize,
    sdpa,
    sequence,
    slicing,
    transformer,
)
from dlstudio.layers.registry import (
    CATEGORY_ORDER,
    UnknownLayerError,
    all_layer_types,
    get_layer_type,
    has_layer_type,
)
from dlstudio.layers.spec import (
    Fix,
    LayerType,
    ParamError,
    ParamSpec,
    PortSpec,
    ShapeContext,
    ShapeError,
    ShapeResult,
    StatContext,
)

__all__ = [
    "CATEGORY_ORDER",
    "Fix",
    "LayerType",
    "ParamError",
    "ParamSpec",
    "PortSpec",
    "ShapeContext",
    "ShapeError",
    "ShapeResult",
    "StatContext",
    "UnknownLayerError",
    "all_layer_types",
    "get_layer_type",
    "has_layer_type",
]

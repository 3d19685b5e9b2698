"""A layer parameter's declaration: its kind, default, range or choices, help text, and how a
value given for it is checked and normalised (:class:`ParamSpec`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from dlstudio.core.tensor_spec import Dim


class ParamError(ValueError):
    """A parameter value that the layer cannot take; the message says what it accepts."""


PARAM_KINDS = ("int", "float", "bool", "choice", "str", "size", "padding", "dims", "shape")


@dataclass(frozen=True)
class ParamSpec:
    """One parameter: its kind, default, range or choices, and help text.

    Kinds: ``int``, ``float``, ``bool``, ``choice`` (one of ``choices``), ``str``; ``size`` (an int
    or a tuple of ``length`` ints, normalised to a tuple); ``padding`` (like size, or ``"same"`` /
    ``"valid"``); ``dims`` (a tuple of ints such as a permutation); ``shape`` (a tuple of ints and
    symbol names like ``"T"``).
    """

    name: str
    kind: str
    default: Any
    help: str
    label: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Any, ...] = ()
    length: int = 2
    optional: bool = False
    """With ``optional``, ``None`` is allowed and means "not set" (e.g. no ``dim_feedforward``)."""

    def __post_init__(self) -> None:
        assert self.kind in PARAM_KINDS, self.kind

    @property
    def title(self) -> str:
        """The label shown in the properties panel."""
        return self.label or self.name.replace("_", " ")

    def validate(self, value: Any) -> Any:
        """The normalised value, or :class:`ParamError` saying what is accepted."""
        if value is None and self.optional:
            return None
        kind = self.kind
        if kind == "int":
            return self._check_range(_as_int(value, self.name))
        if kind == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ParamError(f"{self.name} must be a number, got {value!r}")
            if not math.isfinite(value):
                raise ParamError(f"{self.name} must be a finite number, got {value!r}")
            return self._check_range(float(value))
        if kind == "bool":
            if not isinstance(value, bool):
                raise ParamError(f"{self.name} must be true or false, got {value!r}")
            return value
        if kind == "choice":
            if value not in self.choices:
                options = ", ".join(repr(c) for c in self.choices)
                raise ParamError(f"{self.name} must be one of {options}; got {value!r}")
            return value
        if kind == "str":
            if not isinstance(value, str):
                raise ParamError(f"{self.name} must be text, got {value!r}")
            return value
        if kind == "size":
            return self._size(value)
        if kind == "padding":
            if value in ("same", "valid"):
                return value
            return self._size(value, minimum=0)
        if kind == "dims":
            if not isinstance(value, (list, tuple)) or not value:
                raise ParamError(f"{self.name} must be a list of whole numbers, got {value!r}")
            return tuple(_as_int(v, self.name) for v in value)
        if kind == "shape":
            return _as_shape(value, self.name)
        raise AssertionError(kind)

    def _check_range(self, value: float) -> Any:
        if self.minimum is not None and value < self.minimum:
            raise ParamError(
                f"{self.name} must be at least {_num(self.minimum)}, got {_num(value)}"
            )
        if self.maximum is not None and value > self.maximum:
            raise ParamError(f"{self.name} must be at most {_num(self.maximum)}, got {_num(value)}")
        return value

    def _size(self, value: Any, minimum: int | None = None) -> tuple[int, ...]:
        if minimum is None:
            minimum = int(self.minimum) if self.minimum is not None else 1
        values = (value,) * self.length if not isinstance(value, (list, tuple)) else tuple(value)
        if len(values) != self.length:
            raise ParamError(
                f"{self.name} must be one number or {self.length} numbers, got {value!r}"
            )
        result = tuple(_as_int(v, self.name) for v in values)
        if any(v < minimum for v in result):
            raise ParamError(f"{self.name} must be at least {minimum}, got {value!r}")
        if self.maximum is not None and any(v > self.maximum for v in result):
            raise ParamError(f"{self.name} must be at most {_num(self.maximum)}, got {value!r}")
        return result


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _as_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParamError(f"{name} must be a whole number, got {value!r}")
    if isinstance(value, float) and not value.is_integer():
        raise ParamError(f"{name} must be a whole number, got {value!r}")
    return int(value)


def _as_shape(value: Any, name: str) -> tuple[Dim, ...]:
    if not isinstance(value, (list, tuple)):
        raise ParamError(f"{name} must be a list such as [1, 28, 28] or ['T'], got {value!r}")
    dims: list[Dim] = []
    for v in value:
        if isinstance(v, str):
            if not (v.isidentifier() and v.isascii() and len(v) <= 8) or v == "N":
                raise ParamError(
                    f"{name}: {v!r} is not a valid symbolic size (use a short name "
                    "such as T; N is the batch and is added for you)"
                )
            dims.append(v)
        else:
            size = _as_int(v, name)
            if size < 1:
                raise ParamError(f"{name}: sizes must be at least 1, got {size}")
            dims.append(size)
    if len(dims) > 6:
        raise ParamError(f"{name} must have at most 6 sizes, got {len(dims)}")
    return tuple(dims)

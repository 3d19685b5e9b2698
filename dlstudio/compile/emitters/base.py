"""What an emitter sees and returns, and the helpers that turn values into source safely.

An emitter is the torch side of one layer type: a pure function from an :class:`EmitContext`
(the node's resolved parameters and tensor specs, and the variables holding its inputs) to an
:class:`Emission` (the submodule constructor for ``__init__`` and the expression for
``forward``). Emitters build strings only; nothing here imports torch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dlstudio.compile.codegen.names import module_ref
from dlstudio.core.tensor_spec import TensorSpec


class EmitError(ValueError):
    """A value an emitter cannot write into source (a bug or a hostile value)."""


@dataclass(slots=True)  # one per node per generation: slotted, not frozen (see ShapeContext)
class EmitContext:
    """One node, as an emitter sees it."""

    attr: str
    """The sanitised identifier: the submodule is ``self.<attr>``."""
    params: Mapping[str, Any]
    """Parameters with defaults applied and validated by the catalogue."""
    inferred: Mapping[str, Any]
    """Values read from the inputs (``in_features``, ``in_channels``)."""
    inputs: Mapping[str, TensorSpec]
    outputs: Mapping[str, TensorSpec]
    args: Mapping[str, str]
    """Connected input port -> the variable (or expression) that holds its tensor."""
    masks: Mapping[str, str] = field(default_factory=dict)
    """Input node id -> the forward() variable holding its padding mask (N, T), True at real
    steps; only the masks some layer uses (see :meth:`mask_of`)."""

    @property
    def module(self) -> str:
        """``self.<attr>``: how forward refers to the node's submodule."""
        return module_ref(self.attr)

    def arg(self, port: str = "in") -> str:
        """The variable holding the tensor on ``port``."""
        return self.args[port]

    def mask_of(self, port: str) -> str | None:
        """The variable holding the padding mask that travels with the tensor on ``port``
        (True at real steps), or None when that tensor has no padding."""
        spec = self.inputs.get(port)
        if spec is None or spec.mask is None:
            return None
        return self.masks.get(spec.mask)

    def __getitem__(self, key: str) -> Any:
        if key in self.inferred:
            return self.inferred[key]
        return self.params[key]


@dataclass(frozen=True)
class Emission:
    """The source of one node: ``self.<attr> = <module>`` and ``<outputs> = <forward>``."""

    forward: str
    """The expression computing the node's output(s) in ``forward``."""
    module: str | None = None
    """The constructor expression declared in ``__init__``, if the node has a submodule."""
    outputs: tuple[str, ...] = ("out",)
    """Output ports the expression yields, in unpacking order (several: it returns a tuple)."""
    helpers: tuple[str, ...] = ()
    """Helper classes (by name) the constructor or expression needs in the generated file."""


Emitter = Callable[[EmitContext], Emission]


class SymInt(int):
    """A whole number that inside a block class is written as the expression it came from
    (``channels * 4``). It never equals a plain number, so emitters that leave out options at
    torch's default keep it in: the class must be right for every instance."""

    source: str

    def __new__(cls, value: int, source: str) -> SymInt:
        """``value`` for this instance, written as ``source``."""
        obj = super().__new__(cls, value)
        obj.source = source
        return obj

    def __eq__(self, other: object) -> bool:
        return isinstance(other, (SymInt, SymFloat)) and other.source == self.source

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash(self.source)


class SymFloat(float):
    """A number written as the block parameter it came from (see :class:`SymInt`)."""

    source: str

    def __new__(cls, value: float, source: str) -> SymFloat:
        """``value`` for this instance, written as ``source``."""
        obj = super().__new__(cls, value)
        obj.source = source
        return obj

    __eq__ = SymInt.__eq__
    __ne__ = SymInt.__ne__
    __hash__ = SymInt.__hash__


class SymBool:
    """True or false written as the block parameter it came from (see :class:`SymInt`; bool
    cannot be subclassed). It tests as its value, so emitters that branch on it still work."""

    def __init__(self, value: bool, source: str) -> None:
        self.value = bool(value)
        self.source = source

    def __bool__(self) -> bool:
        return self.value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SymBool) and other.source == self.source

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash(self.source)

    def __repr__(self) -> str:
        return self.source


def lit(value: Any) -> str:
    """``repr`` of a validated value of a plain type; anything else is refused."""
    if isinstance(value, (SymInt, SymFloat, SymBool)):
        return value.source
    kind = type(value)
    if value is None or kind is bool or kind is int:
        return repr(value)
    if kind is str:
        text = repr(value)
        if text.startswith("'") and '"' not in value:
            text = f'"{text[1:-1]}"'  # the quotes ruff format would choose
        return text
    if kind is float:
        if not math.isfinite(value):
            raise EmitError(f"cannot write the non-finite number {value!r} into source")
        return repr(value)
    if kind is tuple or kind is list:
        items = [lit(v) for v in value]
        return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
    raise EmitError(f"cannot write a value of type {kind.__name__} into source: {value!r}")


def size(value: Any) -> str:
    """A kernel size or stride: ``5`` when all entries agree, else ``(3, 5)``."""
    if type(value) in (tuple, list) and value and all(v == value[0] for v in value):
        return lit(value[0])
    return lit(value)


def call(func: str, *args: str, **kwargs: str) -> str:
    """``func(a, b, k=v)`` from already-rendered argument strings."""
    parts = list(args) + [f"{k}={v}" for k, v in kwargs.items()]
    return f"{func}({', '.join(parts)})"


def options(params: Mapping[str, Any], defaults: Mapping[str, Any], render=lit) -> dict[str, str]:
    """Keyword arguments for the parameters that differ from torch's defaults, rendered."""
    return {k: render(params[k]) for k, default in defaults.items() if params[k] != default}

"""The declarative description of a layer type: ports, parameters, and pure rules.

A :class:`LayerType` says everything the editor, the analysis and the compiler need to know about
one kind of layer, keyed by a stable string id (``"conv2d"``), never by a class name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from dlstudio.core.tensor_spec import TensorSpec, format_shape
from dlstudio.layers.params import ParamError, ParamSpec


class ShapeError(Exception):
    """The layer cannot accept its inputs. ``message`` reads after the node's name and label:
    ``fc1 (Dense)`` + ``needs a 2-D input ... but gets ...``. ``fixes`` are one-click repairs."""

    def __init__(self, message: str, fixes: tuple[Fix, ...] = (), port: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fixes = tuple(fixes)
        self.port = port


@dataclass(frozen=True)
class Fix:
    """A machine-applicable repair proposed by a shape rule or an analysis pass.

    ``insert``: put a new layer of ``layer_type`` (with ``params``) on the wire into ``port`` of
    the node (and, when ``param`` is given, set that parameter of the node to ``value``).
    ``set_param``: set ``param`` of the node to ``value``. ``set_upstream_param``: set ``param``
    of the node whose output feeds ``port`` (an Input's dtype). ``remove``: take the node out
    and wire what fed it to what it fed. ``replace``: swap the node for a ``layer_type`` with
    ``params``, keeping its name and wires. ``set_training``: set the training setting
    ``param`` (such as the loss) to ``value``.
    """

    label: str
    kind: str
    port: str | None = None
    layer_type: str | None = None
    params: tuple[tuple[str, Any], ...] = ()
    param: str | None = None
    value: Any = None

    @staticmethod
    def insert(label: str, layer_type: str, port: str = "in", **params: Any) -> Fix:
        """Insert a layer before the node, on the wire into ``port``."""
        return Fix(
            label, "insert", port=port, layer_type=layer_type, params=tuple(sorted(params.items()))
        )

    @staticmethod
    def set_param(label: str, param: str, value: Any) -> Fix:
        """Set one of the node's own parameters."""
        return Fix(label, "set_param", param=param, value=value)

    @staticmethod
    def set_upstream_param(label: str, port: str, param: str, value: Any) -> Fix:
        """Set a parameter of the node that feeds ``port`` (e.g. the Input's dtype)."""
        return Fix(label, "set_upstream_param", port=port, param=param, value=value)

    @staticmethod
    def remove(label: str) -> Fix:
        """Remove the node, wiring its input straight to its consumers."""
        return Fix(label, "remove")

    @staticmethod
    def replace(label: str, layer_type: str, **params: Any) -> Fix:
        """Replace the node by a layer of another type, keeping its name and wires."""
        return Fix(label, "replace", layer_type=layer_type, params=tuple(sorted(params.items())))

    @staticmethod
    def set_training(label: str, setting: str, value: Any) -> Fix:
        """Set one training setting of the document (``loss``)."""
        return Fix(label, "set_training", param=setting, value=value)


# ------------------------------------------------------------------------ ports
MAX_PORTS = 256
"""The most ports a variadic layer grows (Concat of a DenseNet block, Split of a tensor)."""


@dataclass(frozen=True)
class PortSpec:
    """An input or output port."""

    name: str
    help: str = ""
    optional: bool = False


# ------------------------------------------------------------------ rule inputs
# The three objects below are made for every node on every analysis (one keystroke, and
# 10,000 of each for a 10,000-node graph): plain slotted dataclasses, built in a third of the
# time a frozen one takes. Rules read them and never change them.
@dataclass(slots=True)
class ShapeContext:
    """What a shape rule sees: the node's name, its validated parameters, and its input specs
    (connected ports only)."""

    name: str
    label: str
    params: Mapping[str, Any]
    inputs: Mapping[str, TensorSpec]
    bindings: Mapping[str, int] = field(default_factory=dict)
    """Example sizes of the symbols (``{"T": 32}``: the Input's example length), for rules
    that must check a symbolic size against a fixed one (a positional table's max_len)."""

    def __getitem__(self, key: str) -> Any:
        return self.params[key]

    def input(self, port: str = "in") -> TensorSpec:
        """The spec arriving on ``port`` (the analysis guarantees required ports are present)."""
        return self.inputs[port]

    def fail(self, message: str, *fixes: Fix, port: str | None = None) -> ShapeError:
        """A :class:`ShapeError` to ``raise``; the first fix's label ends the message."""
        if fixes and fixes[0].label not in message:
            message = f"{message}: {fixes[0].label}"
        return ShapeError(message, fixes, port)


@dataclass(slots=True)
class ShapeResult:
    """Output specs by port, plus values inferred from the inputs (``in_features``)."""

    outputs: Mapping[str, TensorSpec]
    inferred: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class StatContext:
    """What the parameter and MAC rules see: concrete per-sample shapes (batch 1, symbols bound
    to the Input's example length), parameters, and inferred values."""

    params: Mapping[str, Any]
    inputs: Mapping[str, tuple[int, ...]]
    outputs: Mapping[str, tuple[int, ...]]
    inferred: Mapping[str, Any]

    def __getitem__(self, key: str) -> Any:
        if key in self.inferred:
            return self.inferred[key]
        return self.params[key]

    def in_shape(self, port: str = "in") -> tuple[int, ...]:
        """The concrete shape arriving on ``port``."""
        return self.inputs[port]

    def out_shape(self, port: str = "out") -> tuple[int, ...]:
        """The concrete shape leaving ``port``."""
        return self.outputs[port]


ShapeRule = Callable[[ShapeContext], ShapeResult]
CountRule = Callable[[StatContext], int]


def no_params(ctx: StatContext) -> int:
    """Parameter rule of layers without weights."""
    return 0


def no_macs(ctx: StatContext) -> int:
    """MAC rule of layers that do no multiply-accumulates worth counting."""
    return 0


# -------------------------------------------------------------------- the type
@dataclass(frozen=True)
class LayerType:
    """A layer kind: identity, ports, parameters, pure rules and the explanation students read."""

    id: str
    label: str
    category: str
    summary: str
    """One line for the palette tooltip."""
    explanation: str
    """A paragraph on what the layer computes and when to use it."""
    formula: str
    """The formula, in plain text (``y = x W^T + b``)."""
    infer: ShapeRule
    count_params: CountRule = no_params
    count_macs: CountRule = no_macs
    inputs: tuple[PortSpec, ...] = (PortSpec("in"),)
    outputs: tuple[PortSpec, ...] = (PortSpec("out"),)
    params: tuple[ParamSpec, ...] = ()
    name_prefix: str = ""
    """Prefix for generated names: ``conv`` -> ``conv1``, ``conv2``."""
    key_params: tuple[str, ...] = ()
    """Parameters shown on the node in the canvas."""
    variadic_inputs: str | None = None
    """Name of an int parameter giving the number of inputs ``in1..inK`` (Add, Concat)."""
    variadic_outputs: str | None = None
    """Name of an int parameter giving the number of outputs ``out1..outK`` (Split)."""
    inferred: tuple[str, ...] = ()
    """Names of values inferred from inputs (shown read-only in the properties panel)."""
    optional_outputs: tuple[tuple[str, str], ...] = ()
    """Output ports that exist only while a parameter is on, as ``(port, parameter)``: the
    parameter at ``False`` or ``"off"`` removes the port (attention weights)."""

    @property
    def prefix(self) -> str:
        """The name prefix, defaulting to the id."""
        return self.name_prefix or self.id

    def param_spec(self, name: str) -> ParamSpec | None:
        """The spec of parameter ``name``, or None."""
        return self._specs_by_name.get(name)

    @cached_property
    def _specs_by_name(self) -> dict[str, ParamSpec]:
        # The analysis looks parameters up for every node on every edit; reversed, so that
        # the first of two specs with one name wins, as a scan would find it.
        return {p.name: p for p in reversed(self.params)}

    @cached_property
    def output_names(self) -> frozenset[str]:
        """The names of all declared output ports (optional ones included)."""
        return frozenset(p.name for p in self.outputs)

    def defaults(self) -> dict[str, Any]:
        """Every parameter at its default."""
        return {p.name: p.default for p in self.params}

    @cached_property
    def _normalised_defaults(self) -> dict[str, Any] | None:
        """Every default validated (sizes as tuples), worked out once; None when a default
        does not validate, so that the error comes where it always did."""
        values = self.defaults()
        try:
            for spec in self.params:
                if values[spec.name] is not None:
                    values[spec.name] = spec.validate(values[spec.name])
        except ParamError:
            return None
        return values

    def resolve_params(self, given: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """Defaults overlaid with validated given values; also the list of problems found."""
        normalised = self._normalised_defaults
        values = self.defaults() if normalised is None else dict(normalised)
        problems: list[str] = []
        for key, value in given.items():
            spec = self.param_spec(key)
            if spec is None:
                known = ", ".join(p.name for p in self.params) or "none"
                problems.append(f"has no parameter {key!r} (its parameters: {known})")
                continue
            try:
                values[key] = spec.validate(value)
            except ParamError as exc:
                values[key] = spec.default  # as given: a refused value leaves the default
                problems.append(str(exc))
        if normalised is None:
            for spec in self.params:  # defaults are trusted, but normalise them (sizes: tuples)
                if spec.name not in given and values[spec.name] is not None:
                    values[spec.name] = spec.validate(values[spec.name])
        return values, problems

    def input_ports(self, params: Mapping[str, Any]) -> tuple[PortSpec, ...]:
        """Input ports for these parameters (variadic layers grow ``in1..inK``)."""
        if self.variadic_inputs is None:
            return self.inputs
        count = _port_count(params, self, self.variadic_inputs)
        return tuple(PortSpec(f"in{i}") for i in range(1, count + 1))

    def output_ports(self, params: Mapping[str, Any]) -> tuple[PortSpec, ...]:
        """Output ports for these parameters (optional outputs only while their parameter is
        on; a parameter missing from ``params`` counts at its default)."""
        if self.variadic_outputs is not None:
            return tuple(PortSpec(f"out{i}") for i in range(1, _port_count(params, self) + 1))
        if not self.optional_outputs:
            return self.outputs
        off = set()
        for port, param in self.optional_outputs:
            spec = self.param_spec(param)
            value = params.get(param, spec.default if spec else False)
            if value is False or value == "off" or value is None:
                off.add(port)
        return tuple(p for p in self.outputs if p.name not in off)

    def help_text(self) -> str:
        """Summary, explanation and formula, for tooltips and the help panel."""
        return f"{self.label}: {self.summary}\n\n{self.explanation}\n\nFormula: {self.formula}"


def _port_count(params: Mapping[str, Any], layer: LayerType, name: str | None = None) -> int:
    """The number of variadic ports that parameter ``name`` (the outputs' by default) asks
    for, within 1..MAX_PORTS; its default where the value is missing or not a number."""
    name = name or layer.variadic_outputs
    spec = layer.param_spec(name) if name else None
    count = params.get(name, spec.default if spec else 2) if name else 2
    if not isinstance(count, int) or isinstance(count, bool):
        count = spec.default if spec else 2
    return max(1, min(count, MAX_PORTS))


def shape_text(spec: TensorSpec) -> str:
    """A spec's shape, as written in messages."""
    return format_shape(spec.shape)

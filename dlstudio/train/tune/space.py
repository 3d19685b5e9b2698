"""The search space of a tuning study: ``--space`` texts parsed, checked against the project and
turned into Optuna suggestions, and the chosen values written back as undoable commands.

A space entry is ``TARGET=DOMAIN``:

- ``TARGET`` is a training setting (``lr``, ``batch_size``, ``optimizer``) or a node parameter
  ``NODE.PARAM`` where ``NODE`` is a node name (``fc1.units``). The node part is a path resolved by
  :func:`resolve_node` alone, so block paths (``layer1.conv1.out_channels``) need only that
  function to learn them.
- ``DOMAIN`` is a range ``LOW:HIGH`` (add ``:log`` to sample on a log scale), whole numbers for
  whole-number settings, or a choice ``A|B|C``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dlstudio.core import Command, LayerGraph, LayerNode, MacroCommand, SetMetadata, SetParam
from dlstudio.layers import get_layer_type
from dlstudio.layers.spec import ParamError, ParamSpec
from dlstudio.train.config import OPTIMIZERS, SCHEDULES, TrainConfig
from dlstudio.train.errors import TrainError

Choice = bool | int | float | str

TRAINING_KINDS: dict[str, str] = {
    "lr": "float",
    "momentum": "float",
    "weight_decay": "float",
    "grad_clip": "float",
    "gamma": "float",
    "epochs": "int",
    "batch_size": "int",
    "warmup_steps": "int",
    "step_size": "int",
    "early_stopping_patience": "int",
    "optimizer": "choice",
    "schedule": "choice",
}
"""Training settings a study may search, with the kind of value each takes."""

_TRAINING_CHOICES = {"optimizer": OPTIMIZERS, "schedule": SCHEDULES}
_NODE_KINDS = ("int", "float", "bool", "choice")


class SpaceError(TrainError):
    """A ``--space`` entry that cannot be searched; the message quotes the entry."""

    def __init__(self, argument: str, problem: str) -> None:
        super().__init__(f"--space {argument!r}: {problem}")
        self.argument = argument
        self.problem = problem


@dataclass(frozen=True)
class Dimension:
    """One searched value: where it goes and the values it may take."""

    argument: str
    """The entry as written (``"fc1.units=8:128"``), for messages."""
    target: str
    """The Optuna parameter name: ``lr`` or ``fc1.units``."""
    node_path: str | None
    """The node's name (or block path) for a node parameter; None for a training setting."""
    param: str
    kind: str
    """``int`` or ``float`` (a range) or ``categorical``."""
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    choices: tuple[Choice, ...] = ()

    def suggest(self, trial: Any) -> Choice:
        """Ask an Optuna trial for this dimension's value."""
        if self.kind == "int":
            return trial.suggest_int(self.target, int(self.low), int(self.high), log=self.log)
        if self.kind == "float":
            return trial.suggest_float(self.target, self.low, self.high, log=self.log)
        return trial.suggest_categorical(self.target, list(self.choices))

    def distribution(self) -> Any:
        """The Optuna distribution :meth:`suggest` draws from."""
        import optuna.distributions as dist

        if self.kind == "int":
            return dist.IntDistribution(int(self.low), int(self.high), log=self.log)
        if self.kind == "float":
            return dist.FloatDistribution(self.low, self.high, log=self.log)
        return dist.CategoricalDistribution(list(self.choices))

    def describe(self) -> str:
        """The domain in the ``--space`` syntax (normalised)."""
        if self.kind == "categorical":
            return "|".join(_text(c) for c in self.choices)
        return f"{_text(self.low)}:{_text(self.high)}" + (":log" if self.log else "")


@dataclass(frozen=True)
class NodeTarget:
    """A node reached by a path: the graph that holds it (the one a command edits) and the node."""

    path: str
    graph: LayerGraph
    node: LayerNode


def resolve_node(graph: LayerGraph, path: str) -> NodeTarget:
    """The node that ``path`` names: a node name in the model (``fc1``).

    The one place a path is resolved. Paths through block instances (``layer1.conv1``) are
    refused with a message until the project has blocks; only this function needs to change.
    """
    node = graph.node_by_name(path)
    if node is not None:
        return NodeTarget(path, graph, node)
    head = path.split(".", 1)[0]
    if "." in path and graph.node_by_name(head) is not None:
        raise KeyError(f"{head} has no inner layers, so {path} names nothing")
    names = ", ".join(sorted(n.name for n in graph)) or "none"
    raise KeyError(f"the model has no layer named {path!r} (its layers: {names})")


def parse_space(
    texts: Sequence[str], graph: LayerGraph, training: Mapping[str, Any] | None = None
) -> list[Dimension]:
    """Every ``--space`` entry checked against ``graph`` and its training settings.

    Raises :class:`SpaceError` for a malformed entry, an unknown node or parameter, a value the
    layer or setting does not allow, or the same target given twice.
    """
    base = dict(training if training is not None else graph.metadata.get("training") or {})
    dims: list[Dimension] = []
    seen: set[str] = set()
    for text in texts:
        dim = parse_dimension(text, graph, base)
        if dim.target in seen:
            raise SpaceError(text, f"{dim.target} is searched twice; give it once")
        seen.add(dim.target)
        dims.append(dim)
    return dims


def parse_dimension(text: str, graph: LayerGraph, training: Mapping[str, Any]) -> Dimension:
    """One ``TARGET=DOMAIN`` entry (see the module docstring)."""
    target, sep, domain = (part.strip() for part in str(text).partition("="))
    if not sep or not target or not domain:
        raise SpaceError(
            text, "write TARGET=DOMAIN, e.g. lr=1e-4:1e-1:log, batch_size=16|32|64, fc1.units=8:128"
        )
    if "." in target:
        node_path, param = target.rsplit(".", 1)
        try:
            found = resolve_node(graph, node_path)
        except KeyError as exc:
            raise SpaceError(text, str(exc.args[0])) from None
        spec = _node_param(text, found.node, param)
        kind = spec.kind if spec.kind in _NODE_KINDS else "other"

        def check(value: Any) -> Any:
            try:
                return spec.validate(value)
            except ParamError as exc:
                raise SpaceError(text, f"{node_path}: {exc}") from None

        choices = spec.choices if spec.kind == "choice" else ()
    else:
        node_path, param = None, target
        if param not in TRAINING_KINDS:
            raise SpaceError(
                text,
                f"{param!r} is not a training setting that can be searched (searchable: "
                f"{', '.join(TRAINING_KINDS)}; a layer parameter is written NODE.PARAM)",
            )
        kind = TRAINING_KINDS[param]
        choices = _TRAINING_CHOICES.get(param, ())

        def check(value: Any) -> Any:
            try:
                TrainConfig.from_metadata(dict(training), **{param: value})
            except TrainError as exc:
                raise SpaceError(text, str(exc).removeprefix("training settings: ")) from None
            return value

    if "|" in domain:
        values = tuple(_scalar(v.strip()) for v in domain.split("|"))
        if any(v == "" for v in values):
            raise SpaceError(text, "a choice is empty; write A|B|C")
        if len(set(values)) != len(values):
            raise SpaceError(text, "a choice is listed twice")
        values = tuple(_coerce(text, kind, v) for v in values)
        for value in values:
            check(value)
        return Dimension(text, target, node_path, param, "categorical", choices=values)
    if kind not in ("int", "float"):
        hint = "|".join(_text(c) for c in choices) if choices else "true|false"
        raise SpaceError(text, f"{param} is not a number; search it as a choice, e.g. {hint}")
    return _range(text, target, node_path, param, kind, domain, check)


def _range(
    text: str, target: str, node_path: str | None, param: str, kind: str, domain: str, check: Any
) -> Dimension:
    parts = [p.strip() for p in domain.split(":")]
    log = len(parts) == 3 and parts[2].lower() == "log"
    if len(parts) != 2 and not log:
        raise SpaceError(text, "a range is LOW:HIGH or LOW:HIGH:log")
    try:
        low, high = (float(p) for p in parts[:2])
    except ValueError:
        raise SpaceError(text, f"{parts[0]!r} and {parts[1]!r} must be numbers") from None
    if not (math.isfinite(low) and math.isfinite(high)):
        raise SpaceError(text, "range ends must be finite numbers")
    if kind == "int":
        if low != int(low) or high != int(high):
            raise SpaceError(text, f"{param} takes whole numbers; got {parts[0]}:{parts[1]}")
        low, high = int(low), int(high)
    if low >= high:
        raise SpaceError(text, f"the range is empty: LOW ({_text(low)}) must be below HIGH")
    if log and low <= 0:
        raise SpaceError(text, f"a log range needs LOW above 0, got {_text(low)}")
    check(low)
    check(high)
    return Dimension(text, target, node_path, param, kind, low, high, log)


def _node_param(text: str, node: LayerNode, param: str) -> ParamSpec:
    layer = get_layer_type(node.type_id)
    spec = layer.param_spec(param)
    if spec is None:
        names = ", ".join(p.name for p in layer.params) or "none"
        raise SpaceError(
            text,
            f"{node.name} ({layer.label}) has no parameter {param!r} (its parameters: {names})",
        )
    return spec


def _scalar(text: str) -> Choice:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for parse in (int, float):
        try:
            return parse(text)
        except ValueError:
            pass
    return text


def _coerce(text: str, kind: str, value: Choice) -> Choice:
    if kind == "float" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind == "int" and isinstance(value, float):
        raise SpaceError(text, f"{value!r} is not a whole number")
    return value


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def apply_command(
    graph: LayerGraph, dims: Sequence[Dimension], values: Mapping[str, Any]
) -> Command:
    """One undoable command setting ``values`` (by target) in ``graph``: a :class:`SetParam` per
    node parameter and one :class:`SetMetadata` for the training settings."""
    children: list[Command] = []
    training: dict[str, Any] = dict(graph.metadata.get("training") or {})
    changed = False
    for dim in dims:
        if dim.target not in values:
            continue
        value = values[dim.target]
        if dim.node_path is None:
            training[dim.param] = value
            changed = True
        else:
            found = resolve_node(graph, dim.node_path)
            children.append(SetParam(found.node.id, dim.param, value))
    if changed:
        children.append(SetMetadata("training", training))
    shown = ", ".join(f"{k}={_text(v)}" for k, v in values.items())
    return MacroCommand(f"apply tuned values ({shown})", children)


def applied(graph: LayerGraph, dims: Sequence[Dimension], values: Mapping[str, Any]) -> LayerGraph:
    """A copy of ``graph`` with ``values`` set (the model a trial trains)."""
    copy = graph.copy()
    apply_command(copy, dims, values).do(copy)
    return copy

"""What loading a weights file did, key by key, told by the module that owns each key.

A key of a ``state_dict`` is a module path plus a tensor name (``layer1.0.conv1.weight``), so the
report groups keys by module path and a user reads
``fc1: weight has shape (120, 400) in the file but (120, 256) in the model (kept as initialised)``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from dlstudio.compile.errors import WeightsFileError

RESUME_HINT = (
    "to continue a run of this same model (optimizer, epoch, position), use --resume "
    "(editor: Resume from checkpoint) instead"
)


class WeightsMismatchError(WeightsFileError):
    """A readable weights file whose tensors do not fit the model as required (nothing loaded)."""

    def __init__(self, message: str, report: WeightsReport) -> None:
        self.report = report
        super().__init__(message)


def owner(key: str) -> str:
    """The module path that owns ``key`` (``(model)`` for a tensor of the model itself)."""
    return key.rsplit(".", 1)[0] if "." in key else "(model)"


def tensor_name(key: str) -> str:
    """The tensor's own name inside its module (``weight``, ``running_mean``)."""
    return key.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class WeightsReport:
    """What loading a weights file did: keys loaded, and the ones that did not fit."""

    path: str
    loaded: list[str] = field(default_factory=list)
    """Keys copied into the model (after dropping ``module.`` / ``_orig_mod.`` prefixes)."""
    missing: list[str] = field(default_factory=list)
    """Keys the model has and the file lacks: they keep their current values."""
    unexpected: list[str] = field(default_factory=list)
    """Keys in the file the model does not have: ignored."""
    mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = field(default_factory=list)
    """``(key, shape in the file, shape in the model)``: the model's value is kept."""

    @property
    def ok(self) -> bool:
        """True when every key of the file and of the model matched."""
        return not (self.missing or self.unexpected or self.mismatched)

    def by_node(self) -> dict[str, dict[str, list[str]]]:
        """Module path -> {"loaded"|"missing"|"unexpected"|"mismatched": tensor names}."""
        groups: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for kind in ("loaded", "missing", "unexpected"):
            for key in getattr(self, kind):
                groups[owner(key)][kind].append(tensor_name(key))
        for key, _, _ in self.mismatched:
            groups[owner(key)]["mismatched"].append(tensor_name(key))
        return {node: dict(kinds) for node, kinds in groups.items()}

    def messages(self) -> list[str]:
        """One line per tensor of another shape, then one per module with tensors missing or
        unexpected, each naming the module path."""
        lines = [
            f"{owner(key)}: {tensor_name(key)} has shape {in_file} in the file but {in_model} "
            "in the model (kept as initialised)"
            for key, in_file, in_model in self.mismatched
        ]
        for node, kinds in self.by_node().items():
            if "missing" in kinds:
                names = ", ".join(kinds["missing"])
                lines.append(f"{node}: not in the file (kept as initialised): {names}")
            if "unexpected" in kinds:
                names = ", ".join(kinds["unexpected"])
                lines.append(f"{node}: not in the model (ignored): {names}")
        return lines

    def summary(self) -> str:
        """A head line with the counts, then one line per module that did not load fully."""
        head = (
            f"{self.path}: loaded {len(self.loaded)} tensors; {len(self.missing)} missing, "
            f"{len(self.unexpected)} unexpected, {len(self.mismatched)} of another shape"
        )
        return "\n".join([head] + [f"  {line}" for line in self.messages()])

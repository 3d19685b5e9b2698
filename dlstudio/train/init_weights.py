"""Starting a run from saved weights (transfer learning): match by module path and shape.

A key of a ``state_dict`` is a module path plus a tensor name (``features.conv1.weight``), so
"by node path" means by key. The report groups the keys by the module that owns them, so a
user reads ``fc2: weight has shape (10, 84) in the file but (2, 84) in the model``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from dlstudio.train.errors import TrainError
from dlstudio.train.weights import read_state_dict

# Added in front of every key by DataParallel / DistributedDataParallel and by torch.compile.
_WRAPPER_PREFIXES = ("module.", "_orig_mod.")
RESUME_HINT = (
    "to continue a run of this same model (optimizer, epoch, position), use --resume "
    "(editor: Resume from checkpoint) instead"
)


def _owner(key: str) -> str:
    return key.rsplit(".", 1)[0] if "." in key else "(model)"


def _tensor(key: str) -> str:
    return key.rsplit(".", 1)[-1]


def _strip(key: str) -> str:
    changed = True
    while changed:
        changed = False
        for prefix in _WRAPPER_PREFIXES:
            if key.startswith(prefix):
                key, changed = key[len(prefix) :], True
    return key


@dataclass(frozen=True)
class InitWeightsReport:
    """What starting from a weights file did, key by key."""

    path: str
    matched: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    """In the model, not in the file: they keep their seeded initial values."""
    unexpected: list[str] = field(default_factory=list)
    """In the file, not in the model: ignored."""
    mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = field(default_factory=list)
    """``(key, shape in the file, shape in the model)``: the model's value is kept."""

    def by_node(self) -> dict[str, dict[str, list[str]]]:
        """Module path -> {"matched"|"missing"|"unexpected"|"mismatched": tensor names}."""
        groups: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for kind in ("matched", "missing", "unexpected"):
            for key in getattr(self, kind):
                groups[_owner(key)][kind].append(_tensor(key))
        for key, in_file, in_model in self.mismatched:
            groups[_owner(key)]["mismatched"].append(
                f"{_tensor(key)} {tuple(in_file)} in the file, {tuple(in_model)} in the model"
            )
        return {node: dict(kinds) for node, kinds in groups.items()}

    def summary(self) -> str:
        """A head line with the counts, then one line per module that did not load fully."""
        lines = [
            f"{self.path}: loaded {len(self.matched)} tensors; {len(self.missing)} missing, "
            f"{len(self.unexpected)} unexpected, {len(self.mismatched)} of another shape"
        ]
        for node, kinds in self.by_node().items():
            if set(kinds) == {"matched"}:
                lines.append(f"  {node}: loaded ({', '.join(kinds['matched'])})")
                continue
            parts = []
            if "matched" in kinds:
                parts.append("loaded " + ", ".join(kinds["matched"]))
            if "mismatched" in kinds:
                parts.append("other shape (kept the model's): " + "; ".join(kinds["mismatched"]))
            if "missing" in kinds:
                parts.append(
                    "not in the file (kept as initialised): " + ", ".join(kinds["missing"])
                )
            if "unexpected" in kinds:
                parts.append("not in the model (ignored): " + ", ".join(kinds["unexpected"]))
            lines.append(f"  {node}: " + "; ".join(parts))
        return "\n".join(lines)


def match_weights(
    model: nn.Module, source: dict[str, torch.Tensor], path: str
) -> InitWeightsReport:
    """Compare ``source`` with ``model.state_dict()`` by key and shape (nothing is loaded)."""
    source = {_strip(k): v for k, v in source.items()}
    target = model.state_dict()
    matched, mismatched = [], []
    for key, tensor in source.items():
        if key in target:
            if tuple(tensor.shape) == tuple(target[key].shape):
                matched.append(key)
            else:
                mismatched.append((key, tuple(tensor.shape), tuple(target[key].shape)))
    return InitWeightsReport(
        path=path,
        matched=matched,
        missing=[k for k in target if k not in source],
        unexpected=[k for k in source if k not in target],
        mismatched=mismatched,
    )


def start_from_weights(
    model: nn.Module, path: str | Path, strict: bool = False
) -> InitWeightsReport:
    """Copy the tensors of ``path`` that match ``model`` by key and shape into it.

    Raises :class:`TrainError` (loading nothing) when no tensor matches, or with ``strict`` when
    any tensor is missing, unexpected or of another shape.
    """
    source = read_state_dict(path)
    report = match_weights(model, source, str(path))
    if not report.matched:
        file_keys = ", ".join(list(source)[:4]) + (", ..." if len(source) > 4 else "")
        model_keys = ", ".join(list(model.state_dict())[:4])
        raise TrainError(
            f"{path}: none of its {len(source)} tensors matches the model by name and shape "
            f"(file: {file_keys}; model: {model_keys}...). Start from weights saved from a "
            f"model with the same layer names, or rename the layers; {RESUME_HINT}"
        )
    if strict and (report.missing or report.unexpected or report.mismatched):
        raise TrainError(
            f"--strict: the weights do not fit the model exactly, nothing was loaded.\n"
            f"{report.summary()}\nDrop --strict to load the tensors that fit"
        )
    stripped = {_strip(k): v for k, v in source.items()}
    state = model.state_dict()
    with torch.no_grad():
        for key in report.matched:
            state[key].copy_(stripped[key])
    return report

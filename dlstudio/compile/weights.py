"""Saving and loading weights: safetensors or a ``.pt`` state_dict, never arbitrary pickles.

Loading reports what did not fit by node name, so a user who changed the drawing after
training sees ``fc1: weight has shape (120, 400) in the file but (120, 256) in the model``.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch

from dlstudio.compile.errors import ExportError


@dataclass
class LoadReport:
    """What loading a weights file did: keys loaded, and the ones that did not fit."""

    path: str
    loaded: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    """Keys the model has and the file lacks (they keep their current values)."""
    unexpected: list[str] = field(default_factory=list)
    """Keys in the file the model does not have (ignored)."""
    mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = field(default_factory=list)
    """``(key, shape in file, shape in model)``; these keep their current values."""

    @property
    def ok(self) -> bool:
        """True when every key matched."""
        return not (self.missing or self.unexpected or self.mismatched)

    def messages(self) -> list[str]:
        """One line per problem, naming the node (the key's first part)."""
        lines = []
        for key in self.missing:
            lines.append(f"{_node(key)}: {_param(key)} is not in the file (kept as initialised)")
        for key in self.unexpected:
            lines.append(f"{_node(key)}: {_param(key)} is in the file but not in the model")
        for key, in_file, in_model in self.mismatched:
            lines.append(
                f"{_node(key)}: {_param(key)} has shape {in_file} in the file but {in_model} "
                "in the model (kept as initialised)"
            )
        return lines

    def summary(self) -> str:
        """A one-paragraph description for the CLI and the GUI."""
        head = f"loaded {len(self.loaded)} tensors from {self.path}"
        problems = self.messages()
        return head if not problems else head + "; " + "; ".join(problems)


def _node(key: str) -> str:
    return key.split(".", 1)[0]


def _param(key: str) -> str:
    return key.split(".", 1)[1] if "." in key else key


def unshared(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """CPU copies for saving; a tensor that two names share (a tied weight) is written under
    each name, since safetensors refuses shared memory. Loading ties them again."""
    seen: set[int] = set()
    out = {}
    for key, value in state.items():
        tensor = value.detach().cpu().contiguous()
        pointer = tensor.data_ptr()
        out[key] = tensor.clone() if pointer in seen and tensor.numel() else tensor
        seen.add(pointer)
    return out


def save_weights(module: torch.nn.Module, path: str | Path) -> Path:
    """Write ``module.state_dict()`` as ``.safetensors`` or ``.pt`` (chosen by the suffix),
    through a temporary file so an interrupted save never leaves half a file."""
    path = Path(path)
    if path.suffix not in (".safetensors", ".pt", ".pth"):
        raise ExportError(
            f"cannot tell the weights format of {path.name}: use a .safetensors or .pt name"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    state = unshared(module.state_dict())
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import save_file

            save_file(state, str(tmp))
        else:
            torch.save(state, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors in a weights file or a training checkpoint, loaded without unpickling code."""
    path = Path(path)
    if not path.exists():
        raise ExportError(f"weights file {path} does not exist")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # protocol notices; refusals still raise
            data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ExportError(
            f"{path} is not a weights file DL Studio can read safely ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''})"
        ) from exc
    # A training checkpoint nests the weights; accept the usual keys.
    for key in ("model", "model_state", "model_state_dict", "state_dict", "weights"):
        if isinstance(data, dict) and isinstance(data.get(key), dict):
            data = data[key]
            break
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise ExportError(f"{path} holds no state_dict (a mapping of names to tensors)")
    return data


def load_weights(module: torch.nn.Module, path: str | Path) -> LoadReport:
    """Load what fits from ``path`` into ``module`` and report the rest by node name."""
    state = read_state_dict(path)
    own = module.state_dict()
    report = LoadReport(str(path))
    fitting = {}
    for key, tensor in state.items():
        if key not in own:
            report.unexpected.append(key)
        elif tuple(tensor.shape) != tuple(own[key].shape):
            report.mismatched.append((key, tuple(tensor.shape), tuple(own[key].shape)))
        else:
            fitting[key] = tensor
    report.missing = [k for k in own if k not in state]
    module.load_state_dict(fitting, strict=False)
    report.loaded = sorted(fitting)
    return report

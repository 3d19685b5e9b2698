"""Saving and loading weights: safetensors or a ``.pt`` state_dict, never arbitrary pickles.

Loading reports what did not fit by node name, so a user who changed the drawing after
training sees ``fc1: weight has shape (120, 400) in the file but (120, 256) in the model``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch

from dlstudio.compile.errors import ExportError, WeightsFileError
from dlstudio.core.files import atomic_path


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
    atomically (:func:`dlstudio.core.files.atomic_path`: mode kept, symlinks written through,
    no temp file left); a full disk raises :class:`~dlstudio.core.errors.DiskFullError`."""
    path = Path(path)
    if path.suffix not in (".safetensors", ".pt", ".pth"):
        raise ExportError(
            f"cannot tell the weights format of {path.name}: use a .safetensors or .pt name"
        )
    state = unshared(module.state_dict())
    with atomic_path(path) as tmp:
        if path.suffix == ".safetensors":
            from safetensors.torch import save_file

            save_file(state, str(tmp))
        else:
            torch.save(state, tmp)
    return path


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors in a weights file or a training checkpoint, loaded without unpickling code."""
    path = Path(path)
    if not path.exists():
        raise WeightsFileError(f"weights file {path} does not exist")
    if not path.is_file():
        raise WeightsFileError(f"{path} is not a file; give a .safetensors or .pt weights file")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            data = load_file(str(path), device="cpu")
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # protocol notices; refusals still raise
                data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated, corrupt or refused (unsafe pickle) files
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise WeightsFileError(
            f"{path} is not a weights file DL Studio can read safely ({type(exc).__name__}: "
            f"{first[:300]}); use a .safetensors file or one saved with "
            "torch.save(model.state_dict(), path)"
        ) from None
    # A training checkpoint nests the weights; accept the usual keys.
    for key in ("model", "model_state", "model_state_dict", "state_dict", "weights"):
        if isinstance(data, dict) and isinstance(data.get(key), dict):
            data = data[key]
            break
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in data.items()
    ):
        raise WeightsFileError(
            f"{path} holds no state_dict (a mapping of text names to tensors); save weights "
            "with torch.save(model.state_dict(), path)"
        )
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
        elif tensor.is_complex() != own[key].is_complex() or tensor.is_sparse:
            raise WeightsFileError(
                f"{path}: {key} holds {'sparse' if tensor.is_sparse else tensor.dtype} values, "
                f"which cannot be copied into the model's {own[key].dtype} {_param(key)} of "
                f"{_node(key)}"
            )
        elif tuple(tensor.shape) != tuple(own[key].shape):
            report.mismatched.append((key, tuple(tensor.shape), tuple(own[key].shape)))
        else:
            fitting[key] = tensor
    report.missing = [k for k in own if k not in state]
    try:
        module.load_state_dict(fitting, strict=False)
    except (RuntimeError, TypeError, ValueError) as exc:  # e.g. complex or sparse tensors
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise WeightsFileError(
            f"{path}: the tensors cannot be copied into the model ({first[:300]})"
        ) from None
    report.loaded = sorted(fitting)
    return report

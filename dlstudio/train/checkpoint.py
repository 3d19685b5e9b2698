"""Checkpoints that resume exactly: weights, optimizer, scheduler, scaler, RNG states, position.

Everything is stored as tensors and plain Python values, so loading works with
``torch.load(weights_only=True)`` and never unpickles code.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dlstudio.core.files import atomic_path
from dlstudio.train.errors import TrainError

CHECKPOINT_VERSION = 1


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices) so a run can be repeated."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_states() -> dict[str, Any]:
    """Python, NumPy and torch (CPU and every CUDA device) random states."""
    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    states: dict[str, Any] = {
        "python": [version, list(internal), gauss],
        "numpy": [
            kind,
            torch.from_numpy(np.asarray(keys).astype(np.int64)),
            pos,
            has_gauss,
            cached,
        ],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    if _mps_available():
        states["mps"] = torch.mps.get_rng_state()
    return states


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def set_rng_states(states: dict[str, Any]) -> None:
    """Restore what :func:`rng_states` returned."""
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = states["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
    if "mps" in states and _mps_available():
        torch.mps.set_rng_state(states["mps"])


def save_checkpoint(
    path: str | Path,
    *,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    scaler: torch.amp.GradScaler | None,
    progress: dict[str, Any],
) -> Path:
    """Write a checkpoint atomically (:func:`dlstudio.core.files.atomic_path`), so a crash never
    leaves half of one and a killed write's temp file is removed by the next save."""
    path = Path(path)
    payload = {
        "version": CHECKPOINT_VERSION,
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "scaler": scaler.state_dict() if scaler is not None and scaler.is_enabled() else None,
        "rng": rng_states(),
        "progress": progress,
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint safely (tensors and plain values only), onto the CPU."""
    path = Path(path)
    if path.exists() and not path.is_file():
        raise TrainError(f"{path}: not a file; give the checkpoint.pt of an earlier run")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise TrainError(f"{path}: checkpoint not found; check the path") from None
    except Exception as exc:
        raise TrainError(
            f"{path}: not a readable DL Studio checkpoint ({type(exc).__name__}: {exc}); "
            "start a new run or pick another file"
        ) from None
    if not isinstance(payload, dict) or payload.get("version") != CHECKPOINT_VERSION:
        raise TrainError(
            f"{path}: not a DL Studio training checkpoint (version {CHECKPOINT_VERSION}); to "
            "start from its weights, load them as weights instead of resuming"
        )
    return payload

"""The ONNX backend test data (onnx 1.22.0): the node cases and onnx's light zoo files.

The data ships inside the onnx wheel, under ``onnx/backend/test/data``. The wheel is fetched once
from the package registry with ``pip download --no-deps onnx==1.22.0`` and the data unpacked to
``~/.cache/dlstudio/onnx-1.22.0`` (``DLSTUDIO_CACHE`` moves it), outside git; later runs reuse
it. Nothing here imports the installed onnx's test data, whose version may differ.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ONNX_VERSION = "1.22.0"
_PREFIX = "onnx/backend/test/data/"


class DataUnavailable(RuntimeError):
    """The wheel could not be fetched (no registry access); the message says why."""


def cache_dir() -> Path:
    """Where the unpacked test data lives (created by :func:`backend_data`)."""
    root = Path(os.environ.get("DLSTUDIO_CACHE", Path.home() / ".cache" / "dlstudio"))
    return root / f"onnx-{ONNX_VERSION}"


def backend_data() -> Path:
    """The ``data`` folder (``node/``, ``light/``), fetched and unpacked on first use."""
    target = cache_dir()
    done = target / ".complete"
    if done.exists():
        return target / "data"
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet"]
        command += ["--disable-pip-version-check", f"onnx=={ONNX_VERSION}", "-d", tmp]
        try:
            run = subprocess.run(command, capture_output=True, text=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise DataUnavailable(f"pip download onnx=={ONNX_VERSION} failed: {exc}") from exc
        wheels = list(Path(tmp).glob("onnx-*.whl"))
        if run.returncode != 0 or not wheels:
            last = (run.stderr.strip().splitlines() or ["no wheel"])[-1]
            raise DataUnavailable(f"pip download onnx=={ONNX_VERSION} failed: {last}")
        with zipfile.ZipFile(wheels[0]) as wheel:
            for member in wheel.namelist():
                if member.startswith(_PREFIX) and not member.endswith("/"):
                    relative = member[len(_PREFIX) :]
                    if relative.split("/")[0] not in ("node", "light"):
                        continue
                    path = target / "data" / relative
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(wheel.read(member))
    done.write_text(f"onnx {ONNX_VERSION} backend test data\n")
    return target / "data"


@dataclass(frozen=True)
class Case:
    """One conformance case: a model file and one set of inputs with the expected outputs."""

    name: str
    model: Path
    inputs: list[np.ndarray] | None
    """None for a light zoo file: its input is generated (:func:`light_input`)."""
    outputs: list[np.ndarray]


def _tensor(path: Path, value_info) -> np.ndarray | None:
    """A ``TensorProto`` file as an array; None for sequences, optionals and maps."""
    import onnx
    from onnx import numpy_helper

    if value_info is None or value_info.type.WhichOneof("value") != "tensor_type":
        return None
    tensor = onnx.TensorProto()
    tensor.ParseFromString(path.read_bytes())
    return numpy_helper.to_array(tensor)


def _sorted_pb(folder: Path, stem: str) -> list[Path]:
    return sorted(folder.glob(f"{stem}_*.pb"), key=lambda p: int(p.stem.split("_")[-1]))


def node_cases(data: Path) -> list[Case]:
    """Every node case (its first data set), by folder name."""
    import onnx

    cases = []
    for folder in sorted((data / "node").iterdir()):
        sets = sorted(folder.glob("test_data_set_*"))
        if not (folder / "model.onnx").exists() or not sets:
            continue
        graph = onnx.load(str(folder / "model.onnx")).graph
        init = {i.name for i in graph.initializer}
        declared = [v for v in graph.input if v.name not in init]
        paths = _sorted_pb(sets[0], "input")
        inputs = [_tensor(p, v) for p, v in zip(paths, declared, strict=False)]
        paths = _sorted_pb(sets[0], "output")
        outputs = [_tensor(p, v) for p, v in zip(paths, graph.output, strict=False)]
        cases.append(Case(folder.name, folder / "model.onnx", inputs, outputs))  # type: ignore[arg-type]
    return cases


def light_cases(data: Path) -> list[Case]:
    """onnx's light zoo files (real architectures with light weights) and their outputs."""
    import onnx

    cases = []
    for model in sorted((data / "light").glob("*.onnx")):
        graph = onnx.load(str(model)).graph
        paths = _sorted_pb(model.parent, f"{model.stem}_output")
        outputs = [_tensor(p, v) for p, v in zip(paths, graph.output, strict=False)]
        cases.append(Case(model.stem, model, None, outputs))  # type: ignore[arg-type]
    return cases


def light_input(shape: tuple[int, ...]) -> np.ndarray:
    """The input onnx's backend runner feeds a light file: ``arange(n) / n`` in its shape."""
    n = int(np.prod(shape))
    return (np.arange(n).reshape(shape) / n).astype(np.float32)

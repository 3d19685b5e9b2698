"""How long importing torchvision's resnet50 takes (torch.fx trace, shape run, mapping, blocks,
layout): run on demand.

    .venv/bin/python benchmarks/bench_import.py

Target: under 2 s on the 2-core development machine. For scale, the same run times two things a
PyTorch user would do by hand: torch.fx.symbolic_trace alone, and one forward pass at batch 1
(the importer runs its example on the meta device, so it never pays for the convolutions).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch
import torch.fx

from dlstudio.compile.importers import InputSpec, import_module


def torchvision_models():
    """torchvision.models with its CUDA-only operator registrations stubbed (see
    tests/torchvision_shim.py: the model definitions are pure Python)."""
    name = "torchvision._meta_registrations"
    sys.modules.setdefault(name, types.ModuleType(name))
    import torchvision.models as models

    return models


def timed(fn, repeats: int) -> tuple[float, float]:
    """Median and best wall time of ``fn()`` in seconds (after one warm-up call)."""
    fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), min(samples)


def main() -> None:
    torch.set_num_threads(1)
    model = torchvision_models().resnet50().eval()
    spec = [InputSpec((3, 224, 224))]
    x = torch.randn(1, 3, 224, 224)
    result = import_module(model, spec, name="resnet50")
    assert result.ok, result.report_lines()
    rows = [
        ("import resnet50 (dlstudio)", timed(lambda: import_module(model, spec), 5)),
        ("torch.fx.symbolic_trace only", timed(lambda: torch.fx.symbolic_trace(model), 5)),
    ]
    with torch.no_grad():
        rows.append(("one forward pass, batch 1", timed(lambda: model(x), 5)))
    base = rows[0][1][0]
    print(f"load average {os.getloadavg()[0]:.1f}; {len(result.graph.blocks)} block definitions")
    for label, (median, best) in rows:
        print(
            f"{label:32} median {median:6.3f} s  best {best:6.3f} s  import/this {base / median:5.2f}"
        )
    print(f"target: import under 2 s -> {'met' if base < 2 else 'MISSED'}")


if __name__ == "__main__":
    main()

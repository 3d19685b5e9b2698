"""The ONNX importer against the ONNX backend test suite (onnx 1.22.0's node cases and its light
zoo files): every case imported, compiled, run and compared with the case's expected outputs.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_onnx_conformance.py [--as-is] [--only TEXT]
        [--json OUT.json] [--write-passing FILE]

By default the weight inputs are stored as initializers (every input after the first), as
exported files hold them; ``--as-is`` keeps every input an input. Each case is classified exact /
wrong (exit 0 with a wrong answer) / refused (one line) / traceback, and the counts are printed
for the whole suite, for the cases whose operators are all builder operators (the issue's target
set) and for the zoo files. The data is fetched once (see tests/onnx_backend_data.py).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402
from onnx_backend_data import backend_data, light_cases, node_cases  # noqa: E402
from onnx_conformance import (  # noqa: E402
    BUILDER_OPS,
    model_ops,
    run_case,
    run_case_onnx2torch,
)


def main() -> int:
    """Run the cases and print the counts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--as-is", action="store_true", help="keep every input an input")
    parser.add_argument("--only", default="", help="run the cases whose name contains this")
    parser.add_argument(
        "--onnx2torch",
        action="store_true",
        help="measure onnx2torch instead (put it on PYTHONPATH; it is not a dependency)",
    )
    parser.add_argument("--opset", type=int, default=0, help="with --onnx2torch: convert first")
    parser.add_argument("--json", type=Path, help="write every case's outcome here")
    parser.add_argument("--write-passing", type=Path, help="write the exact node cases here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    if args.onnx2torch:
        from torchvision_shim import import_torchvision_models

        import_torchvision_models()  # onnx2torch imports torchvision
    data = backend_data()
    cases = [c for c in node_cases(data) + light_cases(data) if args.only in c.name]
    outcomes, builder = [], set()
    start = time.perf_counter()
    for case in cases:
        if args.onnx2torch:
            outcome = run_case_onnx2torch(case, stored=not args.as_is, opset=args.opset)
        else:
            outcome = run_case(case, stored=not args.as_is)
        outcomes.append(outcome)
        if model_ops(case) <= BUILDER_OPS:
            builder.add(case.name)
        if outcome.kind in ("wrong", "traceback"):
            print(f"{outcome.kind:9s} {case.name}: {outcome.detail}", flush=True)
    elapsed = time.perf_counter() - start
    _summary("node suite", [o for o in outcomes if not o.name.startswith("light_")])
    _summary("builder operators", [o for o in outcomes if o.name in builder])
    _summary("zoo (light)", [o for o in outcomes if o.name.startswith("light_")])
    reasons = collections.Counter(_reason(o.detail) for o in outcomes if o.kind == "refused")
    print("most common refusals:")
    for reason, count in reasons.most_common(25):
        print(f"  {count:5d}  {reason}")
    print(f"{len(cases)} cases in {elapsed:.0f} s")
    if args.json:
        rows = [{"name": o.name, "kind": o.kind, "detail": o.detail} for o in outcomes]
        args.json.write_text(json.dumps(rows, indent=1))
    if args.write_passing:
        names = sorted(o.name for o in outcomes if o.kind == "exact" and "light_" not in o.name)
        args.write_passing.write_text("".join(f"{n}\n" for n in names))
    return 0


def _reason(detail: str) -> str:
    """A refusal without its node name: ``ONNX Conv (auto_pad)``."""
    if " has no DL Studio layer" in detail:
        op, _, rest = detail.partition(": ")[2].partition(" has no DL Studio layer")
        why = rest.split(";")[0].strip()
        return f"{op} {why}"[:90]
    return detail[:90]


def _summary(title: str, outcomes) -> None:
    counts = collections.Counter(o.kind for o in outcomes)
    total = len(outcomes)
    exact = counts["exact"]
    share = 100 * exact / total if total else 0.0
    print(
        f"{title}: {exact} of {total} exact ({share:.1f} %), {counts['wrong']} wrong with exit 0, "
        f"{counts['refused']} refused, {counts['traceback']} tracebacks"
    )


if __name__ == "__main__":
    sys.exit(main())

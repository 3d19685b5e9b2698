"""Mutation fuzzing of the project loader on demand: 20,000 files from every template.

    .venv/bin/python benchmarks/fuzz_loader.py [--count 20000] [--seed 1]

Uses the fuzzer of the test suite (``tests/fuzz_mutator.py``; the suite runs 2,100 files per
run): structural and byte mutations of each file in ``templates/``. Prints how many files
loaded (and then analysed, saved and loaded again), how many were refused with a located
ProjectFileError (by the place named), and every file that raised anything else; exits 1 if any
did. The figures are recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import fuzz_mutator


def main() -> int:
    """Run the fuzzer and print the counts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    templates = [name for name, _ in fuzz_mutator.template_documents()]
    start = time.perf_counter()
    counts = fuzz_mutator.run(args.seed, args.count)
    seconds = time.perf_counter() - start
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"{args.count} mutated files from {len(templates)} templates (seed {args.seed}) in "
        f"{seconds:.1f} s ({1000 * seconds / args.count:.2f} ms per file, load {load:.1f})"
    )
    print(f"  loaded, analysed, saved, reloaded: {counts.loaded}")
    print(f"  refused with a located ProjectFileError: {counts.refused}")
    for place, number in counts.refusal_places.most_common():
        print(f"      at {place}: {number}")
    print(f"  untyped errors (bugs): {len(counts.untyped)}")
    for name, error in counts.untyped[:20]:
        print(f"      {name}: {error}")
    return 1 if counts.untyped else 0


if __name__ == "__main__":
    sys.exit(main())

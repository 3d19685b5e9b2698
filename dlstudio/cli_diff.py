"""``python -m dlstudio diff A.json B.json [--json]``: what changed between two models."""

from __future__ import annotations

import argparse
import json
import sys

EXIT_SAME, EXIT_DIFFERENT, EXIT_USAGE = 0, 1, 2


def add_diff_parser(sub) -> None:
    """Register ``diff`` (no torch needed, so it starts at once)."""
    parser = sub.add_parser(
        "diff",
        help="what changed between two models",
        description="Compare two project files by module path: layers added, removed, renamed "
        "and changed (with their parameters and inputs), and the parameters and MACs of the "
        "whole model and of every block in each. Exit 0 when the models are the same, 1 when "
        "they differ, 2 when a file cannot be read (as the diff tool does).",
    )
    parser.add_argument("a", help="the first project (.json), e.g. a run's model.json")
    parser.add_argument("b", help="the second project (.json)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    parser.set_defaults(run=run_diff)


def run_diff(args: argparse.Namespace) -> int:
    """Print the difference; the exit code says whether there was one."""
    from dlstudio.analysis.model_diff import diff_models
    from dlstudio.analysis.model_diff_text import diff_lines
    from dlstudio.cli import load_or_report

    a = load_or_report(args.a)
    b = load_or_report(args.b) if a is not None else None
    if a is None or b is None:
        return EXIT_USAGE
    diff = diff_models(a, b)
    if args.json:
        print(json.dumps({"file_a": args.a, "file_b": args.b, **diff.to_json()}, indent=2))
    else:
        for line in diff_lines(diff):
            print(line)
    sys.stdout.flush()
    return EXIT_SAME if diff.same else EXIT_DIFFERENT

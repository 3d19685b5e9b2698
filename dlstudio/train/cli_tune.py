"""``python -m dlstudio tune``: argparse glue over :mod:`dlstudio.train.tune`."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any

from dlstudio.core import DLStudioError, save_project

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_tune_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``tune FILE --trials N --space TARGET=DOMAIN ... [--apply-best]``."""
    parser = subparsers.add_parser(
        "tune",
        help="search training settings and layer parameters (Optuna)",
        description="Search training settings and layer parameters with Optuna: TPE sampling, "
        "median pruning on the per-epoch validation metric, the study in FOLDER/study.db (or "
        "--storage). Each trial is a run in FOLDER/runs. Exit 0: done, 1: the project has "
        "errors or no trial completed, 2: bad usage (a bad --space, an unreadable file).",
    )
    parser.add_argument("file", help="project file (.json)")
    parser.add_argument("--trials", type=int, default=20, help="trials to run here (20)")
    parser.add_argument(
        "--space",
        action="append",
        default=[],
        metavar="TARGET=DOMAIN",
        help="a searched value: lr=1e-4:1e-1:log, batch_size=16|32|64, fc1.units=8:128 "
        "(LOW:HIGH[:log] or A|B|C; a layer parameter is NODE.PARAM); repeat for each",
    )
    parser.add_argument("--metric", help="validation metric to optimise (default: the project's)")
    parser.add_argument("--epochs", type=int, help="epochs per trial (default: the project's)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], default="auto")
    parser.add_argument("--folder", help="tuning folder for study.db and runs/ (PROJECT_tune/)")
    parser.add_argument(
        "--storage", help="database URL of a shared study (e.g. postgresql://host/db)"
    )
    parser.add_argument("--study-name", dest="study_name", help="default: the model's name")
    parser.add_argument("--no-prune", dest="prune", action="store_false")
    parser.add_argument(
        "--prune-after",
        dest="prune_after",
        type=int,
        default=5,
        metavar="N",
        help="trials that run in full before pruning starts (5)",
    )
    parser.add_argument(
        "--apply-best", dest="apply_best", action="store_true", help="write the best values"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--out", help="project file for --apply-best (default NAME.tuned.json)")
    where.add_argument("--in-place", dest="in_place", action="store_true")
    parser.set_defaults(handler=run_tune)
    return parser


def tuning_folder(args: argparse.Namespace) -> Path:
    """``--folder`` or ``PROJECT_tune`` beside the project file."""
    if args.folder:
        return Path(args.folder)
    project = Path(args.file)
    return project.with_name(project.stem + "_tune")


def run_tune(args: argparse.Namespace) -> int:
    """Run the study, print the table of trials, apply the best values if asked."""
    from dlstudio.analysis import analyze
    from dlstudio.layers.validation import load_checked
    from dlstudio.train.tune import (
        TuneControl,
        Tuner,
        TuneSettings,
        best_trial,
        parse_space,
        trials_table,
    )

    if args.trials < 0 or args.prune_after < 0:
        print("error: --trials and --prune-after must be 0 or more", file=sys.stderr)
        return EXIT_USAGE
    if args.epochs is not None and args.epochs < 1:
        print("error: --epochs must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    if not args.space:
        print("error: give at least one --space TARGET=DOMAIN", file=sys.stderr)
        return EXIT_USAGE
    try:
        graph = load_checked(args.file)
        dims = parse_space(args.space, graph)
    except DLStudioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    errors = analyze(graph).errors
    if errors:
        for d in errors:
            where = graph.node(d.node_id).name if d.node_id else "model"
            print(f"error: {where}: {d.message}", file=sys.stderr)
        return EXIT_FAILED
    folder = tuning_folder(args)
    control = TuneControl()
    settings = TuneSettings(
        trials=args.trials,
        metric=args.metric,
        storage=args.storage,
        study_name=args.study_name,
        prune=args.prune,
        prune_startup_trials=args.prune_after,
        device=args.device,
        epochs=args.epochs,
    )
    try:
        tuner = Tuner(
            graph,
            dims,
            folder,
            settings,
            [_print_trial],
            control,
            base_dir=Path(args.file).resolve().parent,
        )
    except DLStudioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(
        f"{tuner.dataset.summary()}; study {tuner.study.study_name!r} at {tuner.storage_url}, "
        f"{tuner.direction} val {tuner.metric}; trials in {tuner.store.root}",
        file=sys.stderr,
    )
    previous = signal.signal(signal.SIGINT, lambda *_: control.stop())
    try:
        study = tuner.run()
    except DLStudioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        signal.signal(signal.SIGINT, previous)
    print("\n".join(trials_table(study, dims, tuner.metric)))
    best = best_trial(study)
    if best is None:
        print("error: no trial completed, so there is no best value", file=sys.stderr)
        return EXIT_FAILED
    shown = ", ".join(f"{k}={v!r}" for k, v in best.params.items())
    print(f"best: trial {best.number}, val {tuner.metric} {best.value:.4g} ({shown})")
    if args.apply_best:
        return _apply_best(args, graph, dims, best.params)
    return EXIT_OK


def _apply_best(args: argparse.Namespace, graph: Any, dims: list, params: dict[str, Any]) -> int:
    from dlstudio.train.tune import apply_command

    target = Path(args.file) if args.in_place else Path(args.out or _tuned_name(args.file))
    values = {d.target: params[d.target] for d in dims if d.target in params}
    try:
        apply_command(graph, dims, values).do(graph)
        save_project(graph, target)
    except (DLStudioError, OSError) as exc:
        print(f"error: cannot write {target}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"wrote the best values to {target}", file=sys.stderr)
    return EXIT_OK


def _tuned_name(file: str) -> Path:
    path = Path(file)
    return path.with_name(f"{path.stem}.tuned{path.suffix or '.json'}")


def _print_trial(event: Any) -> None:
    from dlstudio.train.tune import TrialFinished

    if not isinstance(event, TrialFinished):
        return
    values = ", ".join(f"{k}={v!r}" for k, v in event.params.items())
    outcome = f"{event.value:.4g}" if event.value is not None else ""
    line = f"trial {event.number} {event.state} after {event.epochs} epoch(s) {outcome} ({values})"
    if event.message:
        line += f": {event.message}"
    print(line, file=sys.stderr)

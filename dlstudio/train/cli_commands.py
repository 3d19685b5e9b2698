"""``python -m dlstudio train`` and ``datasets``: argparse glue over :mod:`dlstudio.train`."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any

from dlstudio.core.errors import DLStudioError
from dlstudio.train.data import download_mnist, list_datasets
from dlstudio.train.events import RunControl
from dlstudio.train.reporting import JsonlMetricsWriter, TextProgress
from dlstudio.train.session import make_trainer, resolve_run
from dlstudio.train.weights import save_weights


def add_train_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``train FILE [--dataset] [--epochs] [--batch-size] [--lr] [--device] [--out]
    [--resume]``."""
    parser = subparsers.add_parser(
        "train",
        help="train a project's model",
        description="Train the model drawn in a project file; settings default to the project's.",
    )
    parser.add_argument("file", help="project file (.json)")
    parser.add_argument("--dataset", help="built-in data set name or a data file / folder")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int, dest="batch_size")
    parser.add_argument("--lr", type=float)
    parser.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], default="auto")
    parser.add_argument("--out", help="folder for metrics.jsonl, checkpoint.pt and weights")
    parser.add_argument("--resume", help="checkpoint.pt of an earlier run to continue")
    parser.set_defaults(handler=run_train)
    return parser


def compile_project(graph: Any, project_path: str | Path | None = None) -> Any:
    """Compile a graph with ``dlstudio.compile`` and load the weights the project names
    (``metadata["weights"]``, e.g. an imported model's); a separate function so tests can
    swap it."""
    try:
        from dlstudio.compile import compile_graph
        from dlstudio.compile.project_weights import load_attached_weights
    except ImportError as exc:
        raise DLStudioError(f"the model compiler is not available ({exc})") from None
    compiled = compile_graph(graph)
    report = load_attached_weights(compiled.module, graph, project_path)
    if report is not None:
        print(report.summary(), file=sys.stderr)
    return compiled


def run_train(args: argparse.Namespace) -> int:
    """Train; progress on stderr, metrics and weights in ``--out``. 0: done, 1: failed, 2: bad input."""
    from dlstudio.core import load_project

    try:
        graph = load_project(args.file)
        config, dataset = resolve_run(
            graph.metadata.get("training"),
            dataset=args.dataset,
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            device=args.device,
        )
        compiled = compile_project(graph, args.file)
    except DLStudioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = (
        Path(args.out)
        if args.out
        else Path(args.file).with_suffix("").with_name(Path(args.file).stem + "_run")
    )
    out.mkdir(parents=True, exist_ok=True)
    print(f"{dataset.summary()}; writing to {out}", file=sys.stderr)
    metrics = JsonlMetricsWriter(out / "metrics.jsonl")
    control = RunControl()
    trainer = make_trainer(
        compiled, config, [TextProgress(config.epochs), metrics], control, checkpoint_dir=out
    )
    # First Ctrl-C stops cleanly after the current batch (and saves a checkpoint).
    previous = signal.signal(signal.SIGINT, lambda *_: control.stop())
    try:
        result = trainer.run(dataset, resume_from=args.resume)
    finally:
        signal.signal(signal.SIGINT, previous)
        metrics.close()
    if result.status == "failed":
        return 1
    weights = save_weights(compiled.module, out / "weights.safetensors")
    print(f"weights: {weights}\ncheckpoint: {result.checkpoint}", file=sys.stderr)
    return 0


def add_datasets_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``datasets [--download mnist|fashion_mnist]``."""
    parser = subparsers.add_parser(
        "datasets", help="list built-in data sets", description="List or download data sets."
    )
    parser.add_argument("--download", choices=["mnist", "fashion_mnist"])
    parser.set_defaults(handler=run_datasets)
    return parser


def run_datasets(args: argparse.Namespace) -> int:
    """Print the built-ins (name, description, options), or download MNIST with a progress line."""
    if getattr(args, "download", None):

        def progress(name: str, done: int, total: int) -> None:
            share = f" {100 * done / total:.0f}%" if total else ""
            print(f"\r{name}: {done / 1e6:.1f} MB{share}", end="", file=sys.stderr)

        try:
            folder = download_mnist(fashion=args.download == "fashion_mnist", progress=progress)
        except DLStudioError as exc:
            print(f"\nerror: {exc}", file=sys.stderr)
            return 1
        print(f"\n{args.download} is in {folder}", file=sys.stderr)
        return 0
    infos = list_datasets()
    width = max(len(i.name) for i in infos)
    for info in infos:
        options = f"  (options: {info.options})" if info.options else ""
        print(f"{info.name:<{width}}  {info.description}{options}")
    return 0

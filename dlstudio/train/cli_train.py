"""``python -m dlstudio train``: options, and one run (alone, or as one torchrun worker)."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any

from dlstudio.compile.weights import load_weights
from dlstudio.core.errors import DLStudioError, FileWriteError, ModelTooLargeError
from dlstudio.core.files import ensure_folder
from dlstudio.train.data.hf_tokenizer import project_tokenizer_folder
from dlstudio.train.distributed.context import DistContext
from dlstudio.train.distributed.launch import LaunchOptions, launch, report_worker_failure
from dlstudio.train.events import RunControl
from dlstudio.train.reporting import JsonlMetricsWriter, TextProgress
from dlstudio.train.reproducible import seeded_build
from dlstudio.train.session import make_trainer, resolve_run
from dlstudio.train.tensorboard import TensorBoardWriter, example_inputs

# Options passed on to each worker: (flag, attribute, takes a value).
_WORKER_OPTIONS = (
    ("--dataset", "dataset", True),
    ("--epochs", "epochs", True),
    ("--batch-size", "batch_size", True),
    ("--lr", "lr", True),
    ("--seed", "seed", True),
    ("--device", "device", True),
    ("--out", "out", True),
    ("--resume", "resume", True),
    ("--init-weights", "init_weights", True),
    ("--threads", "threads", True),
    ("--report-every", "report_every", True),
    ("--strict", "strict", False),
    ("--deterministic", "deterministic", False),
    ("--compile", "compile", False),
    ("--sync-batchnorm", "sync_batchnorm", False),
    ("--tensorboard", "tensorboard", True),
)


def add_train_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``train FILE`` with its options (``python -m dlstudio train --help``)."""
    parser = subparsers.add_parser(
        "train",
        help="train a project's model",
        description="Train the model drawn in a project file; settings default to the project's.",
    )
    parser.add_argument("file", help="project file (.json)")
    parser.add_argument("--dataset", help="built-in data set name or a data file / folder")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int, dest="batch_size", help="the global batch")
    parser.add_argument("--lr", type=float)
    parser.add_argument("--seed", type=int, help="random seed (default: the project's)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], default="auto")
    parser.add_argument("--out", help="folder for metrics.jsonl, checkpoint.pt and weights")
    parser.add_argument(
        "--resume",
        help="checkpoint.pt of an earlier run of this model to continue (to start a new run "
        "from saved weights, use --init-weights)",
    )
    parser.add_argument(
        "--init-weights",
        dest="init_weights",
        metavar="W",
        help="start from the weights in W (.safetensors or a .pt state_dict), matched by layer "
        "path and shape (to continue a run with its optimizer and position, use --resume)",
    )
    parser.add_argument(
        "--strict", action="store_true", help="with --init-weights: every tensor must match"
    )
    parser.add_argument("--threads", type=int, help="CPU threads for torch (default: chosen)")
    parser.add_argument(
        "--tensorboard",
        metavar="DIR",
        help="also write TensorBoard event files to DIR: scalars per step and per epoch, the "
        "hyper-parameters and the model graph (view with tensorboard --logdir DIR)",
    )
    parser.add_argument(
        "--report-every",
        type=int,
        dest="report_every",
        metavar="STEPS",
        help="report the loss (progress line, metrics.jsonl) at least every STEPS steps "
        "(default 20; 1 writes every step's loss)",
    )
    parser.add_argument(
        "--deterministic",
        action="store_true",
        default=None,
        help="torch's deterministic algorithms (also the project setting deterministic)",
    )
    parser.add_argument(
        "--compile", action="store_true", default=None, help="torch.compile the model"
    )
    dist = parser.add_argument_group("several processes (torchrun)")
    dist.add_argument("--nproc-per-node", type=int, dest="nproc_per_node", metavar="N")
    dist.add_argument("--nnodes", type=int, default=1, metavar="M")
    dist.add_argument("--node-rank", type=int, dest="node_rank", default=0, metavar="R")
    dist.add_argument("--master-addr", dest="master_addr", default="127.0.0.1", metavar="HOST")
    dist.add_argument("--master-port", type=int, dest="master_port", metavar="P")
    dist.add_argument(
        "--rdzv-endpoint", dest="rdzv_endpoint", metavar="HOST:PORT", help="instead of master"
    )
    dist.add_argument(
        "--sync-batchnorm",
        dest="sync_batchnorm",
        action="store_true",
        default=None,
        help="BatchNorm statistics over the global batch",
    )
    parser.set_defaults(handler=run_train)
    return parser


def worker_arguments(args: argparse.Namespace) -> list[str]:
    """The arguments of ``train`` each worker gets: the file and every option but the launch."""
    out = [str(Path(args.file).resolve())]
    for flag, name, takes_value in _WORKER_OPTIONS:
        value = getattr(args, name, None)
        if value is None or value is False:
            continue
        if name in ("out", "resume", "init_weights", "tensorboard"):
            value = str(Path(value).resolve())
        out += [flag, str(value)] if takes_value else [flag]
    return out


def compile_project(graph: Any, project_path: str | Path | None = None) -> Any:
    """Compile a graph with ``dlstudio.compile`` and load the weights the project names: its
    own (``metadata["weights"]``, e.g. an imported model's) and its block instances'; both
    are read beside ``project_path``. A separate function so tests can swap it."""
    try:
        from dlstudio.compile import compile_graph
        from dlstudio.compile.project_weights import load_attached_weights
    except ImportError as exc:
        raise DLStudioError(f"the model compiler is not available ({exc})") from None
    base_dir = Path(project_path).resolve().parent if project_path else None
    compiled = compile_graph(graph, base_dir=base_dir)
    report = load_attached_weights(compiled.module, graph, project_path)
    if report is not None:
        print(report.summary(), file=sys.stderr)
    return compiled


def write_snapshot(graph: Any, project_file: str | Path, out: Path) -> Path:
    """``out/model.json``: the project as it was trained, beside its weights, so the run folder
    alone can be inspected, explained or exported (data paths relative to ``out``; the
    project's own weights file is left out, the run's weights hold every tensor)."""
    from dlstudio.core import save_project
    from dlstudio.train.data_paths import relative_training_paths

    snapshot = graph.copy()
    meta = dict(snapshot.metadata)
    meta.pop("weights", None)
    if isinstance(meta.get("training"), dict):
        base = Path(project_file).resolve().parent
        meta["training"] = relative_training_paths(meta["training"], base, out)
    snapshot.metadata = meta
    path = out / "model.json"
    save_project(snapshot, path)
    return path


def default_out(file: str) -> Path:
    """``PROJECT_run/`` next to the project file."""
    return Path(file).with_suffix("").with_name(Path(file).stem + "_run")


def run_train(args: argparse.Namespace) -> int:
    """Train; progress on stderr, metrics and weights in ``--out``. 0: done, 1: failed, 2: bad
    input. With ``--nproc-per-node`` (outside torchrun): launch the workers instead."""
    dist = DistContext.from_environment()
    if not dist.active and (args.nproc_per_node or (args.nnodes or 1) > 1):
        options = LaunchOptions(
            nproc_per_node=args.nproc_per_node or 1,
            nnodes=args.nnodes or 1,
            node_rank=args.node_rank or 0,
            master_addr=args.master_addr,
            master_port=args.master_port,
            rdzv_endpoint=args.rdzv_endpoint,
        )
        if args.out is None:
            args.out = str(default_out(args.file))
        return launch(options, worker_arguments(args))
    return _train_here(args, dist)


def _say(dist: DistContext, text: str) -> None:
    if dist.is_main:
        print(text, file=sys.stderr)


def _fail(dist: DistContext, message: str, code: int) -> int:
    if dist.active:
        message = message if message.startswith("rank ") else f"{dist.label}: {message}"
        report_worker_failure(message)
    print(f"error: {message}", file=sys.stderr)
    return code


def _train_here(args: argparse.Namespace, dist: DistContext) -> int:
    from dlstudio.core import load_project

    try:
        graph = load_project(args.file)
        config, dataset = resolve_run(
            graph.metadata.get("training"),
            base_dir=Path(args.file).resolve().parent,
            dataset=args.dataset,
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            seed=args.seed,
            device=args.device,
            threads=args.threads,
            report_every_steps=getattr(args, "report_every", None),
            deterministic=args.deterministic,
            compile=args.compile,
            sync_batchnorm=getattr(args, "sync_batchnorm", None),
            tokenizer=project_tokenizer_folder(graph.metadata, args.file),
        )
        compiled = seeded_build(lambda: compile_project(graph, args.file), config.seed)
        if args.init_weights:
            fit = "all" if args.strict else "some"
            report = load_weights(compiled.module, args.init_weights, fit)
            _say(dist, f"starting from {report.summary()}")
    except ModelTooLargeError as exc:
        return _fail(dist, str(exc), 1)
    except DLStudioError as exc:
        return _fail(dist, str(exc), 2)
    out = Path(args.out) if args.out else default_out(args.file)
    workers = f" on {dist.world_size} processes" if dist.active else ""
    callbacks: list[Any] = []
    metrics = None
    board = None
    if dist.is_main:
        try:
            ensure_folder(out)
            metrics = JsonlMetricsWriter(out / "metrics.jsonl")
        except FileWriteError as exc:
            return _fail(dist, f"--out {exc}", 3)
        except OSError as exc:
            return _fail(dist, f"--out cannot write {out}: {exc.strerror or exc}", 3)
        callbacks = [TextProgress(config.epochs), metrics]
        if getattr(args, "tensorboard", None):
            try:
                board = TensorBoardWriter(args.tensorboard, config, str(config.dataset or ""))
            except DLStudioError as exc:
                metrics.close()
                return _fail(dist, str(exc), 3)
            note = board.add_graph(compiled.module, example_inputs(dataset, compiled.input_names))
            if note:
                _say(dist, note)
            callbacks.append(board)
    _say(dist, f"{dataset.summary()}; writing to {out}{workers}")
    control = RunControl()
    try:
        trainer = make_trainer(
            compiled, config, callbacks, control, checkpoint_dir=out, graph=graph, dist=dist
        )
    except DLStudioError as exc:
        if metrics is not None:
            metrics.close()
        if board is not None:
            board.close()
        return _fail(dist, str(exc), 1 if isinstance(exc, ModelTooLargeError) else 2)
    # First Ctrl-C stops cleanly after the current batch (and saves a checkpoint).
    previous = signal.signal(signal.SIGINT, lambda *_: control.stop())
    try:
        result = trainer.run(dataset, resume_from=args.resume)
    finally:
        signal.signal(signal.SIGINT, previous)
        if metrics is not None:
            metrics.close()
        if board is not None:
            board.close()
    try:
        if result.status == "failed":
            if not dist.is_main:
                print(f"error: {result.message}", file=sys.stderr)
            if dist.active:
                report_worker_failure(result.message)
            return 1
        if dist.is_main:
            from dlstudio.compile.weights import save_weights

            weights = save_weights(trainer.model, out / "weights.safetensors")
            write_snapshot(graph, args.file, out)
            _say(dist, f"weights: {weights}\ncheckpoint: {result.checkpoint}")
        return 0
    finally:
        dist.stop(together=result.status != "failed")

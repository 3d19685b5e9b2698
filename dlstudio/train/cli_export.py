"""``export``: the model's Python, weights and ONNX (``dlstudio.compile``) and the whole
experiment: ``--train-script train.py`` and ``--notebook x.ipynb``.

The experiment needs the training settings and data loaders, which live above the compiler,
so this command wraps the compiler's ``export`` rather than the other way round.
"""

from __future__ import annotations

import argparse
import sys

from dlstudio.compile import cli_commands as model_export
from dlstudio.core.errors import DLStudioError, FileWriteError, ModelTooLargeError

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, EXIT_WRITE = 0, 1, 2, 3


def add_export_parser(subparsers) -> argparse.ArgumentParser:
    """``export FILE`` with the model's options plus ``--train-script``, ``--notebook`` and
    ``--embed-data``."""
    parser = model_export.add_export_parser(subparsers)
    parser.description = (parser.description or "") + (
        " --train-script writes a standalone training script (the model, the data set's "
        "loading, optimizer, schedule, loss, metrics, seed, checkpoints; every setting a flag), "
        "--notebook the same as a Jupyter notebook."
    )
    parser.add_argument(
        "--train-script", dest="train_script", metavar="TRAIN.py", help="write a training script"
    )
    parser.add_argument(
        "--notebook", metavar="X.ipynb", help="write the training script as a Jupyter notebook"
    )
    parser.add_argument(
        "--embed-data",
        dest="embed_data",
        action="store_true",
        help="write DL Studio's data-set loader into the script or notebook instead of "
        "importing it from dlstudio (for machines without DL Studio)",
    )
    parser.set_defaults(run=run_export)
    return parser


def run_export(args: argparse.Namespace) -> int:
    """Run ``export``: the model's forms first, then the experiment's; the exit code of
    :mod:`dlstudio.compile.cli_commands` (0 done, 1 problems, 2 bad input, 3 cannot write)."""
    experiment = args.train_script or args.notebook
    if not (args.python or args.weights or args.onnx or experiment):
        print(
            "error: say what to export: --python, --weights, --onnx, --train-script and/or "
            "--notebook",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if args.embed_data and not experiment:
        print("error: --embed-data goes with --train-script or --notebook", file=sys.stderr)
        return EXIT_USAGE
    if args.python or args.weights or args.onnx:
        code = model_export.run_export(args)
        if code != EXIT_OK or not experiment:
            return code
    return _export_experiment(args)


def _export_experiment(args: argparse.Namespace) -> int:
    from dlstudio.compile.errors import CompileError
    from dlstudio.layers.validation import load_checked
    from dlstudio.train.experiment import build_experiment, write_notebook, write_script

    try:
        graph = load_checked(args.file)
        experiment = build_experiment(graph, args.file, embed_data=args.embed_data)
        if args.train_script:
            write_script(experiment, args.train_script)
            print(f"wrote {args.train_script} (run it with: python {args.train_script})")
        if args.notebook:
            write_notebook(experiment, args.notebook, graph)
            print(f"wrote {args.notebook} (open it with Jupyter)")
    except FileWriteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_WRITE
    except (CompileError, ModelTooLargeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    except DLStudioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_WRITE
    return EXIT_OK

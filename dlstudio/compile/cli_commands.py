"""The ``export`` command: Python source, weights and ONNX from a project file.

``add_export_parser(subparsers)`` registers it; ``run_export(args)`` runs it and returns the
exit code (0 done, 1 the project has errors, does not fit in memory or a check failed, 2 bad usage
or an unreadable project or weights file, 3 an output could not be written).
"""

from __future__ import annotations

import argparse
import sys

from dlstudio.compile.errors import CompileError, ExportError, WeightsFileError
from dlstudio.core.errors import DLStudioError, FileWriteError, ModelTooLargeError

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, EXIT_WRITE = 0, 1, 2, 3


def add_export_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``export FILE [--python OUT.py] [--weights OUT] [--onnx OUT.onnx] [--from W]``."""
    parser = subparsers.add_parser(
        "export",
        help="write the model as Python, weights or ONNX",
        description=(
            "Export a project: --python writes a standalone PyTorch file (only torch needed), "
            "--weights a .safetensors or .pt state_dict (random initial weights unless --from "
            "gives trained ones), --onnx an ONNX model checked against PyTorch with "
            "onnxruntime (exit 1 if the check fails). Several may be given at once."
        ),
    )
    parser.add_argument("file", help="project file (.json)")
    parser.add_argument("--python", metavar="OUT.py", help="write the model's Python source")
    parser.add_argument(
        "--weights", metavar="OUT", help="write weights (.safetensors or .pt by the suffix)"
    )
    parser.add_argument("--onnx", metavar="OUT.onnx", help="write an ONNX model")
    parser.add_argument(
        "--from",
        dest="source_weights",
        metavar="WEIGHTS",
        help="trained weights or a training checkpoint to load first (.safetensors, .pt)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed for the random initial weights (default 0)"
    )
    parser.set_defaults(run=run_export)
    return parser


def run_export(args: argparse.Namespace) -> int:
    """Run ``export``; prints what was written and returns the exit code."""
    if not (args.python or args.weights or args.onnx):
        print("error: say what to export: --python, --weights and/or --onnx", file=sys.stderr)
        return EXIT_USAGE
    from dlstudio.layers.validation import load_checked

    try:
        graph = load_checked(args.file)
    except DLStudioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return _export(graph, args)
    except FileWriteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_WRITE
    except WeightsFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (CompileError, ModelTooLargeError, ExportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    except OSError as exc:
        print(f"error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_WRITE


def _export(graph, args: argparse.Namespace) -> int:
    from dlstudio.compile.export import export_python

    if args.python:
        export_python(graph, args.python)
        print(f"wrote {args.python} (run it with: python {args.python})")
    if not (args.weights or args.onnx):
        return EXIT_OK

    import torch

    from dlstudio.compile.build import compile_graph
    from dlstudio.compile.onnx_export import export_onnx
    from dlstudio.compile.weights import WeightsMismatchError, load_weights, save_weights

    torch.manual_seed(args.seed)
    compiled = compile_graph(graph)
    if args.source_weights:
        try:
            report = load_weights(compiled.module, args.source_weights, fit="all")
        except WeightsMismatchError as exc:
            print(f"error: {args.source_weights} does not fit {graph.name}:", file=sys.stderr)
            for line in exc.report.messages():
                print(f"  {line}", file=sys.stderr)
            return EXIT_PROBLEMS
        print(report.summary())
    else:
        from dlstudio.compile.project_weights import load_attached_weights

        attached = load_attached_weights(compiled.module, graph, args.file)
        if attached is not None:
            print(attached.summary())
    if args.weights:
        save_weights(compiled.module, args.weights)
        if args.source_weights:
            kind = f"from {args.source_weights}"
        elif graph.metadata.get("weights"):
            kind = f"the project's, {graph.metadata['weights']}"
        else:
            kind = f"random, seed {args.seed}"
        print(f"wrote {args.weights} (weights {kind})")
    if args.onnx:
        result = export_onnx(compiled, args.onnx)
        print(result.message)
        if not result.ok:
            return EXIT_PROBLEMS
    return EXIT_OK

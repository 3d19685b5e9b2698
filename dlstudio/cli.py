"""The command line: the program's features without a screen.

Exit codes (the same for every command, listed in docs/file-format.md):
0 success; 1 the project has errors, does not fit in memory, or a check (ONNX parity, training)
failed; 2 bad usage or an unreadable input (project, weights, data set, settings); 3 an output
could not be written (disk full, read-only, a file where a folder should be); 130 interrupted.
Every message goes through :class:`~dlstudio.core.terminal.SafeStream`, so names from a file
never reach the terminal as control sequences.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import sys
from pathlib import Path

from dlstudio.analysis import AnalysisResult, analyze
from dlstudio.cli_diff import add_diff_parser
from dlstudio.core import DLStudioError, LayerGraph, format_shape
from dlstudio.core.errors import FileWriteError, ModelTooLargeError
from dlstudio.core.terminal import SafeStream
from dlstudio.layers.validation import load_checked

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, EXIT_WRITE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
FLOPS_PER_MAC = 2
"""A multiply-accumulate is one multiply and one add: FLOPs are about twice the MACs."""


def load_or_report(path: str, as_json: bool = False) -> LayerGraph | None:
    """Load a project, printing a located error and returning None when it cannot be read.

    With ``as_json`` the error is also one JSON object on stdout (``errors`` 1, ``unreadable``
    true), so a script reading ``--json`` output always gets JSON."""
    try:
        return load_checked(path)
    except DLStudioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if as_json:
            problem = {"severity": "error", "node": None, "path": None, "message": str(exc)}
            report = {"file": path, "unreadable": True, "errors": 1, "warnings": 0}
            print(json.dumps({**report, "diagnostics": [{**problem, "fixes": []}]}, indent=2))
        return None


# ---------------------------------------------------------------- validate
def _add_validate(sub) -> None:
    p = sub.add_parser(
        "validate",
        help="check a project and print its diagnostics",
        description="Check a project file: structure, shapes and parameters, and, when it names "
        "a data set, its training settings against that data (everything train would refuse). "
        "Exit 0 when there is no error, 1 otherwise.",
    )
    p.add_argument("file", help="project file (.json)")
    p.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object: the diagnostics (severity, node, path, message, fixes)",
    )
    p.set_defaults(run=_run_validate)


def diagnostic_dict(graph: LayerGraph, d) -> dict:
    """One diagnostic as ``validate --json`` prints it."""
    node = graph.node(d.node_id).name if d.node_id and d.node_id in graph.nodes else None
    return {
        "severity": d.severity,
        "node": node,
        "path": node,  # the node path in the block tree; top-level nodes are their name
        "message": d.message,
        "fixes": [{"label": f.label, "kind": f.kind} for f in d.fixes],
    }


def _run_validate(args) -> int:
    graph = load_or_report(args.file, as_json=args.json)
    if graph is None:
        return EXIT_USAGE
    result = analyze(graph)
    diagnostics = list(result.diagnostics)
    training = graph.metadata.get("training")
    wrong_type = training is not None and not isinstance(training, dict)
    if wrong_type or (not result.errors and (training or {}).get("dataset")):
        # Only now pay for torch and the data set: the drawing itself is sound.
        from dlstudio.train.preflight import training_diagnostics

        project_folder = Path(args.file).resolve().parent  # data paths are relative to it
        diagnostics += training_diagnostics(graph, result, project_folder)
    errors = sum(1 for d in diagnostics if d.is_error)
    warnings = len(diagnostics) - errors
    if args.json:
        report = {
            "file": args.file,
            "errors": errors,
            "warnings": warnings,
            "diagnostics": [diagnostic_dict(graph, d) for d in diagnostics],
        }
        print(json.dumps(report, indent=2))
        return EXIT_PROBLEMS if errors else EXIT_OK
    for d in diagnostics:
        where = graph.node(d.node_id).name if d.node_id else "model"
        print(f"{d.severity}: {where}: {d.message}")
        for fix in d.fixes:
            print(f"    fix: {fix.label}")
    print(f"{args.file}: {errors} error(s), {warnings} warning(s), {len(graph)} layers")
    return EXIT_PROBLEMS if errors else EXIT_OK


# ----------------------------------------------------------------- summary
def _add_summary(sub) -> None:
    p = sub.add_parser(
        "summary",
        help="per-layer table of shapes, parameters and MACs",
        description="Print each layer's output shape, parameter count and "
        "multiply-accumulates (one MAC per multiply-add, biases free), and the totals.",
    )
    p.add_argument("file", help="project file (.json)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead")
    p.add_argument(
        "--batch",
        type=int,
        default=1,
        metavar="N",
        help="batch size for the activation-memory figure (default 1)",
    )
    p.add_argument(
        "--flops",
        action="store_true",
        help="also give floating-point operations (2 per MAC: a multiply and an add)",
    )
    p.set_defaults(run=_run_summary)


def summary_dict(graph: LayerGraph, result: AnalysisResult) -> dict:
    """The ``summary --json`` object: ``layers`` lists every layer in execution order, the
    insides of block instances right after them, each with its module ``path`` and ``depth``
    (the rows at depth 0 add up to the totals)."""
    from dlstudio.analysis.tree import summary_rows

    layers = []
    for row in summary_rows(graph, result):
        spec = row.outputs[0] if row.outputs else None
        layers.append(
            {
                "id": row.node.id if row.node else None,
                "name": row.name,
                "path": row.path,
                "depth": row.depth,
                "type": row.type_label,
                "type_id": row.type_id,
                "output_shape": list(spec.shape) if spec else None,
                "params": row.params,
                "trainable": row.node.trainable if row.node else True,
                "macs": row.macs,
                "flops": None if row.macs is None else FLOPS_PER_MAC * row.macs,
            }
        )
    names = {n.id: n.name for n in graph}
    return {
        "name": graph.name,
        "total_params": result.total_params,
        "trainable_params": result.trainable_params,
        "frozen_params": result.frozen_params,
        "total_macs": result.total_macs,
        "total_flops": FLOPS_PER_MAC * result.total_macs,
        "batch_size": result.batch_size,
        "activation_bytes": result.activation_bytes,
        "layers": layers,
        "diagnostics": [d.to_json(names) for d in result.diagnostics],
    }


def _run_summary(args) -> int:
    if args.batch < 1:
        print("error: --batch must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    graph = load_or_report(args.file, as_json=args.json)
    if graph is None:
        return EXIT_USAGE
    result = analyze(graph, batch_size=args.batch)
    data = summary_dict(graph, result)
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        _print_table(data, flops=args.flops)
    return EXIT_PROBLEMS if result.has_errors else EXIT_OK


def _print_table(data: dict, flops: bool = False) -> None:
    head = ("Layer", "Type", "Output shape", "Params", "MACs")
    rows = [(*head, "FLOPs") if flops else head]
    for layer in data["layers"]:
        shape = format_shape(tuple(layer["output_shape"])) if layer["output_shape"] else "-"
        name = "  " * layer["depth"] + layer["name"]  # indented by depth in the tree
        row = (name, layer["type"], shape, _num(layer["params"]), _num(layer["macs"]))
        rows.append((*row, _num(layer["flops"])) if flops else row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for i, row in enumerate(rows):
        print(
            "  ".join(
                c.ljust(w) if j < 3 else c.rjust(w)
                for j, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if i == 0:
            print("  ".join("-" * w for w in widths))
    print()
    print(f"Total params:     {data['total_params']:,}")
    print(f"Trainable params: {data['trainable_params']:,}")
    print(f"Frozen params:    {data['frozen_params']:,}")
    print(f"MACs per example: {data['total_macs']:,}")
    if flops:
        print(f"FLOPs per example: {data['total_flops']:,} (2 per MAC)")
    mib = data["activation_bytes"] / 2**20
    print(f"Activations at batch {data['batch_size']}: {mib:,.2f} MiB")
    for d in data["diagnostics"]:
        print(f"{d['severity']}: {d['node'] or 'model'}: {d['message']}")


def _num(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"


# ---------------------------------------------------------------- templates
def _add_templates(sub) -> None:
    p = sub.add_parser(
        "templates",
        help="list the built-in templates",
        description="List the templates with a one-line description.",
    )
    p.set_defaults(run=_run_templates)


def templates_dir() -> Path:
    """The folder of built-in templates (``templates/`` beside the package)."""
    return Path(__file__).resolve().parent.parent / "templates"


def _run_templates(args) -> int:
    for path in sorted(templates_dir().glob("*.json"), key=lambda p: p.stem):
        graph = load_or_report(str(path))
        if graph is None:
            continue
        title = str(graph.metadata.get("title", path.stem))
        print(f"{path.stem:24} {title}: {one_line(str(graph.metadata.get('description', '')))}")
    return EXIT_OK


def one_line(text: str, width: int = 90) -> str:
    """The start of ``text``, cut at a word boundary to about ``width`` characters."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    return text[:width].rsplit(" ", 1)[0].rstrip(",;:") + " ..."


# --------------------------------------------------------------------- main
LIGHT_COMMANDS = {
    "validate": _add_validate,
    "summary": _add_summary,
    "templates": _add_templates,
    "diff": add_diff_parser,
}
TORCH_COMMANDS = {
    "export": ("dlstudio.train.cli_export", "add_export_parser"),
    "import": ("dlstudio.compile.importers.cli_commands", "add_import_parser"),
    "train": ("dlstudio.train.cli_commands", "add_train_parser"),
    "datasets": ("dlstudio.train.cli_commands", "add_datasets_parser"),
    "tune": ("dlstudio.train.cli_tune", "add_tune_parser"),
    "predict": ("dlstudio.train.cli_predict", "add_predict_parser"),
    "inspect": ("dlstudio.lens.cli_commands", "add_inspect_parser"),
    "explain": ("dlstudio.lens.cli_explain", "add_explain_parser"),
    "embeddings": ("dlstudio.lens.cli_explain", "add_embeddings_parser"),
}


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser. Commands that need torch are added only when asked for (or for the
    full listing), so ``validate`` and ``summary`` start instantly."""
    parser = argparse.ArgumentParser(
        prog="python -m dlstudio",
        description="DL Studio on the command line: check, summarise, export and train "
        "project files.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in LIGHT_COMMANDS.values():
        add(sub)
    wanted = next((a for a in (argv or []) if not a.startswith("-")), None)
    if wanted not in LIGHT_COMMANDS:
        for module_name, function in TORCH_COMMANDS.values():
            module = importlib.import_module(module_name)
            getattr(module, function)(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (see the module docstring)."""
    argv = sys.argv[1:] if argv is None else argv
    streams = sys.stdout, sys.stderr
    for stream in streams:
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:  # text no terminal can show becomes \u escapes, never a crash
            reconfigure(errors="backslashreplace")
    sys.stdout, sys.stderr = SafeStream(streams[0]), SafeStream(streams[1])
    try:
        return _main(argv)
    finally:
        sys.stdout, sys.stderr = streams


def _quiet_stdout() -> None:
    with contextlib.suppress(OSError, ValueError, AttributeError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.__stdout__.fileno())  # type: ignore[union-attr]
        os.close(null)


def _main(argv: list[str]) -> int:
    try:
        # Inside the try: Ctrl-C while torch is still being imported is an interruption too.
        args = build_parser(argv).parse_args(argv)
        handler = getattr(args, "run", None) or getattr(args, "handler", None)
        if handler is None:
            build_parser(argv).print_help()
            return EXIT_USAGE
        return int(handler(args) or 0)
    except KeyboardInterrupt:
        print("interrupted (Ctrl-C); nothing more was written", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`summary --json | head`): it has what it wanted. Point stdout at
        # the null device so the interpreter's last flush cannot fail again on the way out.
        _quiet_stdout()
        return EXIT_OK
    except DLStudioError as exc:  # what a command did not handle itself
        print(f"error: {exc}", file=sys.stderr)
        return exit_code_for(exc)
    except MemoryError:
        print("error: out of memory; make the model or the batch smaller", file=sys.stderr)
        return EXIT_PROBLEMS


def exit_code_for(exc: DLStudioError) -> int:
    """The documented exit code for an error: 3 for outputs, 1 for too large, else 2."""
    if isinstance(exc, FileWriteError):
        return EXIT_WRITE
    if isinstance(exc, ModelTooLargeError):
        return EXIT_PROBLEMS
    return EXIT_USAGE

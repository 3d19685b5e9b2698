"""``python -m dlstudio inspect``, ``explain`` and ``embeddings``: the lens without a screen."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from dlstudio.core.errors import DLStudioError, FileWriteError
from dlstudio.core.files import ensure_folder, write_text_atomic
from dlstudio.lens.engine import LensEngine, draw
from dlstudio.lens.filters import filters_picture, first_convolution
from dlstudio.lens.pinning import PinRequest, pin_example
from dlstudio.lens.project import open_project
from dlstudio.lens.render import save_png

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, EXIT_WRITE = 0, 1, 2, 3


def add_pin_options(parser: argparse.ArgumentParser) -> None:
    """--sample / --class / --image / --text: which example to look at (one of them)."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--sample", type=int, help="index of a sample of the project's data set")
    group.add_argument(
        "--class", dest="class_index", type=int, help="the first sample of this class"
    )
    group.add_argument("--image", type=Path, help="an image file, resized to the Input")
    group.add_argument("--text", help="a typed sentence, through the project's vocabulary")


def pin_request(args: argparse.Namespace) -> PinRequest:
    """The example the options name."""
    return PinRequest(args.sample, args.class_index, args.image, args.text)


def add_inspect_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``inspect FILE [--weights W] [--sample N] --out DIR``."""
    parser = subparsers.add_parser(
        "inspect",
        help="write every layer's output on one example as pictures",
        description="Run the model on one example and write one PNG per node output (feature "
        "maps, images, token heat strips, class bars or histograms) plus index.json with each "
        "node's shape, min, max, mean and std, and filters.png with the first convolution's "
        "kernels. Without --weights the weights are the random "
        "ones a training run starts from (seeded by the project's seed).",
    )
    parser.add_argument("file", help="project file (.json)")
    parser.add_argument("--weights", help="trained weights (.safetensors or .pt)")
    add_pin_options(parser)
    parser.add_argument("--out", required=True, type=Path, help="folder for the pictures")
    parser.set_defaults(handler=run_inspect)
    return parser


def file_stem(index: int, name: str) -> str:
    """``03-conv1``: the node's position and a file-safe form of its name."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "node"
    return f"{index:02d}-{safe[:60]}"


def run_inspect(args: argparse.Namespace) -> int:
    """Write the pictures and index.json; 0 on success, 2 for bad input, 3 unwritable."""
    try:
        project = open_project(args.file, args.weights)
        example = pin_example(project, pin_request(args))
        engine = LensEngine(project.graph, project.compiled, project.class_names)
        result = engine.run(example, thumbnails=False)
    except DLStudioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    entries = []
    found = first_convolution(project.compiled.module)
    filters_layer = found[0] if found else None
    try:
        ensure_folder(args.out)
        analysis = project.compiled.analysis
        walk = analysis.order if analysis is not None else list(result.views)
        order = [n for n in walk if n in result.views]
        for index, node_id in enumerate(order):
            view = result.views[node_id]
            picture = draw(
                result.values[node_id][0][0], view.kind, example.tokens, project.class_names
            )
            name = file_stem(index, view.name) + ".png"
            save_png(picture, args.out / name)
            entries.append({**view.as_dict(), "file": name})
        index_text = json.dumps(
            {
                "project": str(args.file),
                "weights": project.weights,
                "example": example.label,
                "target": example.target,
                "nodes": entries,
                "filters": (
                    {"layer": filters_layer, "file": "filters.png"} if filters_layer else None
                ),
            },
            indent=2,
        )
        filters = filters_picture(project.compiled.module)
        if filters is not None:
            save_png(filters[1], args.out / "filters.png")
        write_text_atomic(args.out / "index.json", index_text + "\n")
    except (FileWriteError, OSError) as exc:
        print(f"error: cannot write to {args.out}: {exc}", file=sys.stderr)
        return EXIT_WRITE
    print(
        f"{len(entries)} node outputs of {example.label} ({project.weights} weights) "
        f"written to {args.out}",
        file=sys.stderr,
    )
    return EXIT_OK

"""``python -m dlstudio explain`` and ``embeddings``: explanations and embedding maps of a run."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from dlstudio.core.errors import DLStudioError, FileWriteError
from dlstudio.lens import render
from dlstudio.lens.cli_commands import EXIT_OK, EXIT_USAGE, EXIT_WRITE, add_pin_options, pin_request
from dlstudio.lens.embeddings import PROJECTIONS
from dlstudio.lens.explain import Explanation, explain
from dlstudio.lens.pinning import pin_example
from dlstudio.lens.project import OpenProject, open_run

METHODS = ("gradcam", "saliency", "ig", "gradxinput", "rollout")


def add_explain_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``explain RUN_DIR --sample N --method M --out x.png``."""
    parser = subparsers.add_parser(
        "explain",
        help="draw why a trained model predicted what it did, for one example",
        description="Explain one prediction of a trained run: Grad-CAM on a convolution (the "
        "last by default), gradient saliency or integrated gradients over the input, and for "
        "token models gradient x input or attention rollout per token. RUN_DIR is a run folder "
        "holding model.json and weights.safetensors (the run history, or train --out).",
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", help="run folder")
    parser.add_argument("--project", help="project file, when the run folder has no model.json")
    parser.add_argument("--method", choices=METHODS, default="gradcam")
    parser.add_argument("--layer", help="Grad-CAM: module path of the convolution to look at")
    parser.add_argument("--target", type=int, help="the class to explain (default: predicted)")
    add_pin_options(parser)
    parser.add_argument("--out", required=True, type=Path, help="PNG file to write")
    parser.set_defaults(handler=run_explain)
    return parser


def _class_name(project: OpenProject, index: int | None) -> str:
    if index is None:
        return "unknown"
    names = project.class_names
    return f"{names[index]} ({index})" if names and 0 <= index < len(names) else str(index)


def explanation_picture(project: OpenProject, example, result: Explanation) -> Any:
    """The map drawn over the image or the tokens, captioned with the classes."""
    x = example.inputs[0][0]
    if x.is_floating_point() and x.dim() == 3:
        base = render.image(x.float().numpy(), 256)
        picture = render.overlay(base, result.heat)
    else:
        tokens = example.tokens or tuple(str(i) for i in x.tolist())
        picture = render.token_heat(tokens, result.heat)
    p = result.probabilities[result.predicted]
    lines = [
        f"predicted: {_class_name(project, result.predicted)}  p={p:.3f}",
        f"true: {_class_name(project, example.target)}   explained: "
        f"{_class_name(project, result.target)}",
        f"{result.method}"
        + (f" on {result.layer}" if result.layer else "")
        + f"  ({example.label})",
    ]
    return render.captioned(picture, lines)


def run_explain(args: argparse.Namespace) -> int:
    """Write the explanation PNG; 0 done, 2 bad input, 3 unwritable."""
    try:
        project = open_run(args.run_dir, args.project)
        example = pin_example(project, pin_request(args))
        result = explain(project, example, args.method, args.target, args.layer)
    except DLStudioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        render.save_png(explanation_picture(project, example, result), args.out)
    except (FileWriteError, OSError) as exc:
        print(f"error: cannot write {args.out}: {exc}", file=sys.stderr)
        return EXIT_WRITE
    print(
        f"{result.method}: predicted {_class_name(project, result.predicted)}, true "
        f"{_class_name(project, example.target)}; written to {args.out}",
        file=sys.stderr,
    )
    return EXIT_OK


def add_embeddings_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``embeddings RUN_DIR --layer NAME --out proj.csv``."""
    parser = subparsers.add_parser(
        "embeddings",
        help="map an Embedding layer's table in 2-D; neighbours and analogies",
        description="Project an Embedding layer's vectors to 2-D (PCA, or t-SNE) and write "
        "them as CSV (index, word, x, y) plus a labelled PNG beside it; --neighbours WORD "
        "prints the nearest words by cosine similarity, --analogy A,B,C the words nearest to "
        "A - B + C.",
    )
    parser.add_argument(
        "run_dir", metavar="RUN_DIR", help="run folder (model.json + weights.safetensors)"
    )
    parser.add_argument("--project", help="project file, when the run folder has no model.json")
    parser.add_argument("--layer", help="Embedding node name or module path (default: the first)")
    parser.add_argument(
        "--method",
        choices=PROJECTIONS,
        default="pca",
        help="pca, tsne (scikit-learn) or umap (where umap-learn is installed)",
    )
    parser.add_argument("--neighbours", metavar="WORD", help="print the nearest words to WORD")
    parser.add_argument("--analogy", metavar="A,B,C", help="print the words nearest A - B + C")
    parser.add_argument("-k", type=int, default=5, help="how many words to print (5)")
    parser.add_argument("--out", required=True, type=Path, help="CSV file to write")
    parser.set_defaults(handler=run_embeddings)
    return parser


def run_embeddings(args: argparse.Namespace) -> int:
    """Write the projection (CSV and PNG) and print neighbours or analogies."""
    import csv
    import io

    from dlstudio.core.files import write_text_atomic
    from dlstudio.lens.embeddings import analogy, embedding_table, neighbours, project

    try:
        opened = open_run(args.run_dir, args.project)
        vocab = getattr(opened.dataset, "vocab", None)
        names = {opened.graph.node(n).name: a for n, a in opened.compiled.node_attrs.items()}
        table = embedding_table(opened.compiled.module, args.layer, vocab, names)
        coords = project(table.vectors, args.method)
        lines = []
        if args.neighbours:
            found = neighbours(table, args.neighbours, args.k)
            lines.append(f"nearest to {args.neighbours}: " + _listing(found))
        if args.analogy:
            words = [w.strip() for w in args.analogy.split(",")]
            if len(words) != 3:
                raise EmbeddingArgumentError("--analogy takes three words: A,B,C (A - B + C)")
            found = analogy(table, words[0], words[1], words[2], k=args.k)
            lines.append(f"{words[0]} - {words[1]} + {words[2]}: " + _listing(found))
    except DLStudioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["index", "word", "x", "y"])
    for i, (word, (x, y)) in enumerate(zip(table.words, coords, strict=True)):
        writer.writerow([i, word, f"{x:.6g}", f"{y:.6g}"])
    picture_path = args.out.with_suffix(".png")
    try:
        write_text_atomic(args.out, buffer.getvalue())
        render.save_png(render.scatter(coords, table.words), picture_path)
    except (FileWriteError, OSError) as exc:
        print(f"error: cannot write {args.out}: {exc}", file=sys.stderr)
        return EXIT_WRITE
    for line in lines:
        print(line)
    print(
        f"{len(table.words)} vectors of {table.layer} ({args.method}) written to {args.out} "
        f"and {picture_path}",
        file=sys.stderr,
    )
    return EXIT_OK


class EmbeddingArgumentError(DLStudioError):
    """The command's words do not make a question (an analogy needs three words)."""


def _listing(found: list[tuple[str, float]]) -> str:
    return ", ".join(f"{word} ({score:.2f})" for word, score in found)

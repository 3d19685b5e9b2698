"""``python -m dlstudio predict FILE --text "..."``: typed text in, class out."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from dlstudio.core.errors import DLStudioError

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


def add_predict_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``predict FILE --text TEXT [--weights W] [--tokenizer T] [--top K] [--json]``."""
    parser = subparsers.add_parser(
        "predict",
        help="classify a typed text with a trained project",
        description="Tokenize a text with the project's tokenizer (metadata.tokenizer, or its "
        "data set's), run the trained model and print the classes, most likely first.",
    )
    parser.add_argument("file", help="project file (.json)")
    parser.add_argument("--text", required=True, action="append", help="the text (repeatable)")
    parser.add_argument(
        "--weights",
        help="trained weights (.safetensors / .pt); default: PROJECT_run/weights.safetensors "
        "when it exists, else the project's own weights",
    )
    parser.add_argument("--tokenizer", help="a tokenizer folder instead of the project's")
    parser.add_argument("--top", type=int, default=3, help="how many classes to print (3)")
    parser.add_argument("--json", action="store_true", help="print JSON, one object per text")
    parser.set_defaults(handler=run_predict)
    return parser


def run_predict(args: argparse.Namespace) -> int:
    """0: printed; 1: the model cannot classify text; 2: bad input (file, weights, tokenizer)."""
    from dlstudio.core import load_project
    from dlstudio.train.cli_train import compile_project
    from dlstudio.train.data.hf_tokenizer import load_tokenizer, project_tokenizer_source
    from dlstudio.train.errors import TrainError
    from dlstudio.train.init_weights import start_from_weights
    from dlstudio.train.predict import TextEncoder, default_weights, fixed_lengths, predict_text
    from dlstudio.train.session import resolve_run

    try:
        graph = load_project(args.file)
        base_dir = Path(args.file).resolve().parent
        source = args.tokenizer or project_tokenizer_source(graph.metadata)
        tokenizer = load_tokenizer(source, base_dir) if source else None
        dataset = _training_dataset(graph.metadata, base_dir, args.file, resolve_run)
        compiled = compile_project(graph, args.file)
        weights = Path(args.weights) if args.weights else default_weights(args.file)
        if weights is not None:
            report = start_from_weights(compiled.module, weights, True)
            print(f"weights: {report.summary()}", file=sys.stderr)
        encoder = TextEncoder.for_dataset(tokenizer, dataset)
        class_names = _class_names(graph.metadata, dataset)
        results = []
        for text in args.text:
            scores = predict_text(
                compiled.module,
                compiled.input_names,
                fixed_lengths(compiled.input_specs),
                encoder,
                text,
                class_names,
            )
            results.append((text, scores[: max(1, args.top)]))
    except TrainError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    except DLStudioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for text, scores in results:
        if args.json:
            ranked = [{"class": s.name, "probability": round(s.probability, 6)} for s in scores]
            print(json.dumps({"text": text, "classes": ranked}))
        else:
            best = scores[0]
            others = ", ".join(f"{s.name} {s.probability:.3f}" for s in scores[1:])
            print(f"{best.name} ({best.probability:.3f}){'; then ' + others if others else ''}")
    return EXIT_OK


def _training_dataset(metadata: dict[str, Any], base_dir: Path, file: str, resolve_run: Any) -> Any:
    """The project's training data set (its classes and text length), or None without one."""
    from dlstudio.train.data.hf_tokenizer import project_tokenizer_folder

    training = metadata.get("training")
    if not isinstance(training, dict) or not training.get("dataset"):
        return None
    _config, dataset = resolve_run(
        training, base_dir=base_dir, tokenizer=project_tokenizer_folder(metadata, file)
    )
    return dataset


def _class_names(metadata: dict[str, Any], dataset: Any) -> list[str] | None:
    if dataset is not None and dataset.class_names:
        return list(dataset.class_names)
    labels = metadata.get("labels") or metadata.get("id2label")
    if isinstance(labels, dict):
        return [str(labels[k]) for k in sorted(labels, key=lambda k: int(k))]
    if isinstance(labels, list):
        return [str(v) for v in labels]
    return None

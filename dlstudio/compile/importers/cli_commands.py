"""The ``import`` command: a PyTorch model or an ONNX file becomes a project with its weights.

Every import is then compiled with its weights and run beside the source (:mod:`.verify_torch`
for PyTorch, :mod:`.verify_onnx` with onnxruntime for ONNX files). Exit codes: 0 everything translated and the outputs match; 1 written, but
some operations have no layer (each listed with where it occurs; Placeholder nodes stand in for
them) or the outputs differ (the first departing module is named); 2 nothing written (bad usage,
a model that cannot be loaded or traced), with the reason and never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dlstudio.core.errors import DLStudioError

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


def add_import_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``import SOURCE [--out OUT.json] [--input-shape S]... [--dtype] [--seq-len]``."""
    parser = subparsers.add_parser(
        "import",
        help="turn a PyTorch model or an ONNX file into a project",
        description=(
            "Import a model: package.module:callable (anything returning an nn.Module, such as "
            "torchvision.models:resnet18), file.py[:ClassName], model.onnx, or hf:FOLDER (a "
            "Hugging Face save_pretrained folder, or a hub id when online). PyTorch models are "
            "captured with torch.export. The project is written with its weights beside it "
            "(OUT.safetensors). Every operation without a DL Studio layer is listed and "
            "replaced by a Placeholder node, and every PyTorch import is run beside its source "
            "at two batch sizes: the exit code is 0 only when the outputs match."
        ),
    )
    parser.add_argument(
        "source", help="package.module:callable, file.py[:Class], file.onnx or hf:PATH_OR_ID"
    )
    parser.add_argument("--out", metavar="OUT.json", help="project file to write")
    parser.add_argument(
        "--input-shape",
        action="append",
        metavar="SHAPE",
        help="one sample's shape without the batch, e.g. 1,28,28 or T for a sequence; "
        "repeat for several inputs (default: guessed from the first layer)",
    )
    parser.add_argument(
        "--dtype",
        action="append",
        choices=("float32", "int64"),
        help="input dtype, per input (default float32; int64 for token ids)",
    )
    parser.add_argument(
        "--seq-len", type=int, default=16, help="example length for symbolic sizes (default 16)"
    )
    parser.add_argument("--vocab-size", type=int, default=0, help="token-id range for int64 inputs")
    parser.add_argument(
        "--task",
        choices=("base", "sequence-classification", "causal-lm"),
        default="base",
        help="hf: sources: the head to load (default: the base model)",
    )
    parser.add_argument(
        "--num-labels", type=int, default=0, help="hf: sources: classes of a classification head"
    )
    parser.set_defaults(run=run_import)
    return parser


def parse_shape(text: str) -> tuple[int | str, ...]:
    """``"1,28,28"`` -> ``(1, 28, 28)``; names such as ``T`` stay symbols."""
    dims: list[int | str] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        dims.append(int(part) if part.isdigit() else part)
    if not dims:
        raise ValueError(f"{text!r} is not a shape; write it like 3,224,224")
    return tuple(dims)


def run_import(args: argparse.Namespace) -> int:
    """Run ``import``; prints the report and returns the exit code."""
    try:
        result, check = import_source(args, verify=True)
    except (ValueError, DLStudioError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # a bug of ours or the model's: the reason, never a traceback
        from dlstudio.compile.importers.verify import describe

        print(f"error: importing {args.source} failed: {describe(exc)}", file=sys.stderr)
        return EXIT_USAGE
    out = Path(args.out or f"{Path(args.source.split(':')[-1]).stem or 'model'}.json")
    from dlstudio.compile.importers.project import count_values, state_dict_of, write_import

    if result.tokenizer_from:
        from dlstudio.compile.importers.hf_source import TOKENIZER_KEY, copy_tokenizer

        folder = copy_tokenizer(result.tokenizer_from, out)
        if folder is not None:
            result.graph.metadata[TOKENIZER_KEY] = folder
            print(f"tokenizer: {out.with_name(folder)}")
    weights = write_import(result, out)
    count = count_values(state_dict_of(result))
    blocks = f" and {len(result.graph.blocks)} block definitions" if result.graph.blocks else ""
    print(f"imported {args.source}: {len(result.graph)} nodes{blocks}, {count:,} values -> {out}")
    if weights is not None:
        print(f"weights: {weights}")
    renamed = result.renamed_paths or result.renamed
    if renamed:
        pairs = ", ".join(f"{a} -> {b}" for a, b in list(renamed.items())[:3])
        more = ", ..." if len(renamed) > 3 else ""
        print(
            f"note: {len(renamed)} module name(s) are not Python names, or are reserved in the "
            f"generated code, and were renamed ({pairs}{more}); their state_dict keys differ "
            "from the source's accordingly"
        )
    for path, values in result.unused.items():
        print(
            f"note: {path} ({values:,} values) is not part of the project: it is not called in "
            "eval mode, or its output depends on no input and was kept as a constant"
        )
    code = EXIT_OK
    if not result.ok:
        print(f"{len(result.issues)} operation(s) have no DL Studio layer:", file=sys.stderr)
        for line in result.report_lines():
            print(f"  {line}", file=sys.stderr)
        code = EXIT_PROBLEMS
    if check is not None and result.ok:
        stream = sys.stdout if check.ok else sys.stderr
        for line in check.lines():
            print(line, file=stream)
        if not check.ok:
            print("the imported project does not compute what the source does", file=sys.stderr)
            code = EXIT_PROBLEMS
    return code


def import_source(args: argparse.Namespace, verify: bool = False):
    """The :class:`ImportResult` for the command's arguments and, with ``verify``, its
    :class:`~.verify.Verification` against the source (kept in the project's metadata too)."""
    from dlstudio.compile.importers.loader import guess_inputs, is_onnx, load_model

    if is_onnx(args.source):
        from dlstudio.compile.importers.onnx_import import import_onnx

        if not verify:
            return import_onnx(args.source, seq_len=args.seq_len)
        from dlstudio.compile.importers.verify_onnx import import_verified
        from dlstudio.compile.importers.verify_torch import CHECK_KEY

        result, check = import_verified(args.source, args.seq_len)
        result.graph.metadata[CHECK_KEY] = check.metadata()
        result.check = check
        return result, check
    from dlstudio.compile.importers.fx_import import InputSpec, import_module
    from dlstudio.compile.importers.hf_source import is_hf, load_hf

    tokenizer_from = ""
    if is_hf(args.source):
        loaded = load_hf(
            args.source,
            getattr(args, "task", "base"),
            getattr(args, "num_labels", 0),
            args.seq_len,
        )
        model, tokenizer_from = loaded.model, loaded.reference
        default_inputs = loaded.inputs
        name = loaded.name
    else:
        model = load_model(args.source)
        default_inputs = None
        name = args.source.split(":")[-1].split(".")[-1] or type(model).__name__
    if args.input_shape:
        dtypes = list(args.dtype or [])
        inputs = []
        for i, text in enumerate(args.input_shape):
            dtype = dtypes[i] if i < len(dtypes) else "float32"
            inputs.append(InputSpec(parse_shape(text), dtype, args.seq_len, args.vocab_size))
    elif default_inputs is not None:
        inputs = default_inputs
    else:
        inputs = guess_inputs(model)
        shapes = "; ".join(",".join(str(d) for d in s.shape) for s in inputs)
        print(f"input shape {shapes} (from the first layer; set it with --input-shape)")
    result = import_module(model, inputs, name=Path(name).stem, source=args.source)
    result.tokenizer_from = tokenizer_from
    from dlstudio.compile.importers.verify_torch import unused_modules

    result.unused = unused_modules(model, result)
    if not verify:
        return result
    from dlstudio.compile.importers.fx_trace import smallest_vocabulary
    from dlstudio.compile.importers.verify_torch import CHECK_KEY, verify_import

    specs = [
        s if s.dtype != "int64" or s.vocab_size else _with_vocab(s, smallest_vocabulary(model))
        for s in inputs
    ]
    check = verify_import(model, result, specs)
    result.graph.metadata[CHECK_KEY] = check.metadata()
    result.check = check
    return result, check


def _with_vocab(spec, vocab: int):
    from dataclasses import replace

    return replace(spec, vocab_size=vocab)

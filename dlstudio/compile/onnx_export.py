"""ONNX export with a parity check at sizes the export never saw.

Exporters can freeze a dynamic size silently (a reshape that keeps the example's length), so
the exported file is run by onnxruntime at another batch size and sequence length and compared
with PyTorch. The TorchScript exporter is tried first (fast, and it keeps RNN lengths free);
if it fails or its file fails the check, the dynamo exporter gets its turn.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import io
import logging
import re
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch

from dlstudio.compile.build import CompiledModel, compile_graph
from dlstudio.compile.example import make_inputs
from dlstudio.compile.limits import check_fits
from dlstudio.core.files import atomic_path, ensure_folder
from dlstudio.core.graph import LayerGraph

TOLERANCE = 1e-4
EXPORTERS = ("torchscript", "dynamo")


@dataclass
class ExportReport:
    """How an ONNX export went: which exporter, and the onnxruntime parity it reached."""

    path: str
    exporter: str | None
    """``torchscript`` or ``dynamo``: the exporter whose file passed; None if none did."""
    max_abs_diff: float | None
    checked_batch: int | None
    checked_seq_len: int | None
    """The sequence length of the check (None when no input has a symbolic length)."""
    message: str
    passed: bool = False
    """True when an exporter's file passed onnx.checker and the parity check."""
    tolerance: float = TOLERANCE
    attempts: list[str] = field(default_factory=list)
    """One line per exporter tried, with its outcome."""

    @property
    def ok(self) -> bool:
        """Same as :attr:`passed`."""
        return self.passed


class _AttemptFailed(Exception):
    pass


def export_onnx(
    model: CompiledModel | LayerGraph,
    path: str | Path,
    *,
    tolerance: float = TOLERANCE,
    exporters: tuple[str, ...] = EXPORTERS,
) -> ExportReport:
    """Export to ``path`` and check it with onnxruntime; the report says what happened."""
    compiled = model if isinstance(model, CompiledModel) else compile_graph(model)
    if compiled.analysis is not None:
        check_fits(compiled.analysis, "export", compiled.code.class_name if compiled.code else "")
    path = Path(path)
    ensure_folder(path.parent)
    # A CPU copy in eval mode: the caller's module (perhaps training on a GPU) is left alone.
    module = copy.deepcopy(compiled.module).cpu().eval()
    compiled = dataclasses.replace(compiled, module=module)
    bindings = dict(compiled.analysis.bindings) if compiled.analysis else {}
    inputs = compiled.code.inputs
    symbols = [s for i in inputs for s in i.symbols]
    example = make_inputs(inputs, 2, bindings, torch.Generator().manual_seed(0))
    check_bindings = _check_bindings(module, inputs, bindings, symbols)
    check = make_inputs(inputs, 3, check_bindings, torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = tuple(
            t.detach() for t in _as_tuple(module(*check))
        )  # views of weights keep grad
    seq_len = check_bindings[symbols[0]] if symbols else None
    attempts: list[str] = []
    for exporter in exporters:
        # The file replaces ``path`` only when it passes; a failed attempt (or a full disk,
        # raised as DiskFullError) removes its temporary file.
        try:
            with atomic_path(path) as tmp:
                _export(exporter, compiled, example, tmp)
                diff = _parity(compiled, tmp, check, expected)
                if diff > tolerance:
                    raise _AttemptFailed(
                        f"exported, but onnxruntime differs from PyTorch by {diff:.3g} "
                        f"(more than {tolerance:g}) at batch 3"
                        + (f", length {seq_len}" if seq_len else "")
                    )
        except _AttemptFailed as exc:
            attempts.append(f"{exporter}: {exc}")
            continue
        attempts.append(f"{exporter}: ok, max abs diff {diff:.3g}")
        where = "batch 3" + (f" and length {seq_len}" if seq_len else "")
        message = (
            f"exported {path.name} with the {exporter} exporter; onnxruntime matches PyTorch "
            f"at {where} (max abs diff {diff:.2g} <= {tolerance:g})"
        )
        return ExportReport(
            str(path), exporter, diff, 3, seq_len, message, True, tolerance, attempts
        )
    message = "ONNX export failed with every exporter:\n" + "\n".join(f"  - {a}" for a in attempts)
    return ExportReport(str(path), None, None, 3, seq_len, message, False, tolerance, attempts)


def _as_tuple(value) -> tuple[torch.Tensor, ...]:
    return value if isinstance(value, tuple) else (value,)


def _check_bindings(module, inputs, bindings: dict[str, int], symbols: list[str]) -> dict:
    """Lengths different from the example's that the model accepts (a positional table may
    cap them)."""
    if not symbols:
        return dict(bindings)
    for delta in (3, -3, 1, -1, 5):
        candidate = {s: v + delta for s, v in bindings.items()}
        if any(candidate[s] < 1 for s in symbols):
            continue
        try:
            with torch.no_grad():
                module(*make_inputs(inputs, 3, candidate))
        except Exception:
            continue
        return candidate
    return dict(bindings)


def _dynamic_axes(compiled: CompiledModel) -> dict[str, dict[int, str]]:
    axes: dict[str, dict[int, str]] = {}
    for name, spec in zip(compiled.input_names, compiled.input_specs, strict=True):
        axes[name] = {i: str(d) for i, d in enumerate(spec.shape) if isinstance(d, str)}
    for name, spec in zip(compiled.output_names, compiled.output_specs, strict=True):
        axes[name] = {i: str(d) for i, d in enumerate(spec.shape) if isinstance(d, str)}
    return axes


def _dynamic_shapes(compiled: CompiledModel) -> tuple[dict[int, object], ...]:
    dims: dict[str, object] = {}
    shapes = []
    for spec in compiled.input_specs:
        entry = {}
        for i, d in enumerate(spec.shape):
            if isinstance(d, str):
                name = re.sub(r"\W", "_", d)  # symbols are identifiers; N is the batch
                entry[i] = dims.setdefault(d, torch.export.Dim(name))
        shapes.append(entry)
    return tuple(shapes)


def _export(exporter: str, compiled: CompiledModel, example: tuple, path: Path) -> None:
    kwargs = dict(
        input_names=compiled.input_names,
        output_names=compiled.output_names,
    )
    sink = io.StringIO()
    try:
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(sink),
            _quiet_loggers(),
        ):
            warnings.simplefilter("ignore")
            if exporter == "torchscript":
                torch.onnx.export(
                    compiled.module,
                    example,
                    str(path),
                    dynamo=False,
                    opset_version=17,
                    dynamic_axes=_dynamic_axes(compiled),
                    **kwargs,
                )
            elif exporter == "dynamo":
                torch.onnx.export(
                    compiled.module,
                    example,
                    str(path),
                    dynamo=True,
                    dynamic_shapes=_dynamic_shapes(compiled),
                    verbose=False,
                    **kwargs,
                )
            else:
                raise _AttemptFailed(f"unknown exporter {exporter!r}")
    except _AttemptFailed:
        raise
    except Exception as exc:
        raise _AttemptFailed(describe_failure(exc, compiled)) from exc
    import onnx

    try:
        onnx.checker.check_model(onnx.load(str(path)))
    except Exception as exc:
        raise _AttemptFailed(f"onnx.checker rejects the file: {_first_line(exc)}") from exc


@contextlib.contextmanager
def _quiet_loggers():
    names = ("torch.onnx", "torch.export", "torch._dynamo", "torch.fx", "onnxscript")
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _parity(compiled: CompiledModel, path: Path, check: tuple, expected: tuple) -> float:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 4  # errors come back as exceptions; keep stderr clean
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        feed = {i.name: t.numpy() for i, t in zip(session.get_inputs(), check, strict=True)}
        got = session.run(None, feed)
    except Exception as exc:
        raise _AttemptFailed(
            "onnxruntime cannot run the file at a new batch size or length ("
            + describe_failure(exc, compiled)
            + "); the exporter probably froze a size"
        ) from exc
    diff = 0.0
    for name, actual, wanted in zip(compiled.output_names, got, expected, strict=True):
        if tuple(actual.shape) != tuple(wanted.shape):
            raise _AttemptFailed(
                f"output {name} has shape {tuple(actual.shape)} in onnxruntime but "
                f"{tuple(wanted.shape)} in PyTorch; the exporter froze a size"
            )
        if actual.size:  # as float64, so bool and integer outputs compare too
            gap = actual.astype("float64") - wanted.numpy().astype("float64")
            diff = max(diff, float(abs(gap).max()))
    return diff


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]


def describe_failure(exc: BaseException, compiled: CompiledModel) -> str:
    """The error's gist, with the operator and the node it came from where they can be found."""
    text = f"{type(exc).__name__}: {exc}"
    operator = None
    match = re.search(r"aten::[\w.]+|torch\.ops\.[\w.]+|aten\.\w+|onnx::\w+", text)
    if match:
        operator = match.group(0)
    node = _node_from_text(text, compiled) or _node_from_traceback(exc, compiled)
    parts = [_first_line(exc)]
    if operator:
        parts.append(f"operator {operator}")
    if node:
        parts.append(f"in node {node}")
    return "; ".join(parts)


def _node_from_text(text: str, compiled: CompiledModel) -> str | None:
    names = compiled.code.node_names if compiled.code else {}
    # onnx node names carry the module path: '/attn1/Reshape_4'.
    for match in re.finditer(r"/(\w+)/", text):
        if match.group(1) in names:
            return names[match.group(1)]
    return None


def _node_from_traceback(exc: BaseException, compiled: CompiledModel) -> str | None:
    lines = compiled.code.line_nodes if compiled.code else {}
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.startswith("<dlstudio-generated") and frame.lineno in lines:
            return lines[frame.lineno]
    return None

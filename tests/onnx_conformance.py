"""One ONNX backend case through the importer, classified the way a user would meet it.

A case is imported (with the weight inputs stored as initializers, as exported files hold them:
every input after the first becomes an initializer holding the case's value), checked against
onnxruntime as the ``import`` command checks it, compiled with its weights, run on the case's
inputs and compared with the case's expected outputs. The outcome is

- ``exact``: the import claimed success (exit 0) and every output matches (shape and values);
- ``wrong``: the import claimed success but an output differs;
- ``refused``: the import said what it cannot do (exit 1 or 2), in one line: an operation
  without a layer, or a project that does not compute what onnxruntime computes;
- ``traceback``: anything else raised (a bug: a user would see a traceback).
"""

from __future__ import annotations

import signal
import tempfile
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from onnx_backend_data import Case, light_input

RTOL, ATOL = 1e-3, 1e-4
"""onnx's runner uses rtol 1e-3; atol is wider than its 1e-7 for float32 sums in another order."""

BUILDER_OPS = frozenset(
    [
        "ConvTranspose",
        "Resize",
        "Upsample",
        "Pad",
        "Slice",
        "Split",
        "Squeeze",
        "Unsqueeze",
        "Sum",
        "GroupNormalization",
        "InstanceNormalization",
        "LRN",
        "RMSNormalization",
        "ReduceSum",
        "ReduceMax",
        "Einsum",
        "Where",
        "Expand",
        "Tile",
        "Attention",
        "Conv",
        "Gemm",
        "MatMul",
        "BatchNormalization",
        "LayerNormalization",
        "Relu",
        "Sigmoid",
        "Tanh",
        "LeakyRelu",
        "HardSwish",
        "HardSigmoid",
        "Elu",
        "Selu",
        "Softplus",
        "Softsign",
        "PRelu",
        "ThresholdedRelu",
        "Celu",
        "Mish",
        "Gelu",
        "MaxPool",
        "AveragePool",
        "GlobalAveragePool",
        "GlobalMaxPool",
        "Softmax",
        "LogSoftmax",
        "Flatten",
        "Reshape",
        "Transpose",
        "Concat",
        "Add",
        "Mul",
        "Gather",
        "LSTM",
        "GRU",
        "RNN",
        "Dropout",
        "Clip",
        "Erf",
        "ReduceMean",
    ]
)
"""The operators the issue's target counts ("builder operators"): a case counts when every node
of its model is one of these."""


@dataclass(frozen=True)
class Outcome:
    """How one case went; ``detail`` is the one-line reason, difference or error."""

    name: str
    kind: str
    detail: str = ""


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout()


def stored_model(case: Case, stored: bool):
    """The case's model, with every input after the first stored as an initializer."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(case.model))
    if not stored or case.inputs is None:
        return model, case.inputs
    init = {i.name for i in model.graph.initializer}
    graph_inputs = [v for v in model.graph.input if v.name not in init]
    keep, feeds = [], []
    for i, (value, array) in enumerate(zip(graph_inputs, case.inputs, strict=False)):
        if i == 0 or array is None:
            keep.append(value)
            feeds.append(array)
            continue
        model.graph.initializer.append(numpy_helper.from_array(array, value.name))
    others = [v for v in model.graph.input if v.name in init]
    del model.graph.input[:]
    model.graph.input.extend(keep + others)
    return model, feeds


def model_ops(case: Case) -> set[str]:
    """The operator types a case's model uses (its main graph)."""
    import onnx

    return {n.op_type for n in onnx.load(str(case.model), load_external_data=False).graph.node}


def run_case(case: Case, stored: bool = True, timeout: int = 60) -> Outcome:
    """Import, compile, run and compare one case; never raises."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(timeout)
    try:
        return _run(case, stored)
    except _Timeout:
        return Outcome(case.name, "traceback", f"took longer than {timeout} s")
    except Exception as exc:  # classified, not hidden: the kind says it is a bug
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{Path(frame.filename).name}:{frame.lineno}"
        first = (str(exc).splitlines() or [""])[0][:200]
        return Outcome(case.name, "traceback", f"{type(exc).__name__} at {where}: {first}")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _run(case: Case, stored: bool) -> Outcome:
    import onnx
    import torch

    from dlstudio.compile.importers import compile_import
    from dlstudio.compile.importers.onnx_import import import_onnx
    from dlstudio.compile.importers.verify_onnx import verify_onnx
    from dlstudio.core.errors import DLStudioError

    model, feeds = stored_model(case, stored)
    if feeds is None:  # a light file: onnx's runner feeds arange(n) / n
        init = {i.name for i in model.graph.initializer}
        first = next(v for v in model.graph.input if v.name not in init)
        feeds = [light_input(tuple(d.dim_value or 1 for d in first.type.tensor_type.shape.dim))]
    if any(f is None for f in feeds) or any(o is None for o in case.outputs):
        feeds_or_outputs = "input" if any(f is None for f in feeds) else "output"
        return Outcome(case.name, "refused", f"a sequence or optional {feeds_or_outputs}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{case.name}.onnx"
        onnx.save(model, str(path))
        try:
            result = import_onnx(path)
            if not result.ok:
                lines = result.report_lines()
                more = f" (+{len(lines) - 1} more)" if len(lines) > 1 else ""
                return Outcome(case.name, "refused", lines[0] + more)
            check = verify_onnx(model, result)
            if not check.ok:  # the command line exits 1 and says why
                why = next((line for line in check.lines() if "DIFFERS" in line), "")
                why = check.error or f"{why} (first departure: {check.first_departure})"
                return Outcome(case.name, "refused", f"not verified: {why}"[:300])
            module = compile_import(result).module.eval()
            with torch.no_grad():
                got = module(*[torch.from_numpy(np.array(f)) for f in feeds])
        except DLStudioError as exc:
            return Outcome(case.name, "refused", (str(exc).splitlines() or [""])[0][:300])
    return compare(case, got)


def compare(case: Case, got) -> Outcome:
    """Exact when every output has the expected shape and values."""
    got = list(got) if isinstance(got, (tuple, list)) else [got]
    if len(got) != len(case.outputs):
        return Outcome(case.name, "wrong", f"{len(got)} outputs, expected {len(case.outputs)}")
    for i, (g, want) in enumerate(zip(got, case.outputs, strict=True)):
        have = g.detach().numpy() if hasattr(g, "detach") else np.asarray(g)
        if have.shape != want.shape:
            return Outcome(case.name, "wrong", f"output {i}: shape {have.shape}, want {want.shape}")
        if want.dtype.kind in "fc":
            if not np.allclose(have, want, rtol=RTOL, atol=ATOL, equal_nan=True):
                diff = np.nanmax(np.abs(have.astype(np.float64) - want.astype(np.float64)))
                return Outcome(case.name, "wrong", f"output {i}: differs by {diff:.3g}")
        elif not np.array_equal(have, want):
            return Outcome(case.name, "wrong", f"output {i}: values differ")
    return Outcome(case.name, "exact")


def run_case_onnx2torch(case: Case, stored: bool = True, opset: int = 0) -> Outcome:
    """The same case through onnx2torch (for the comparison in docs/import.md): a conversion
    error is its refusal. ``opset``: convert the model to that opset first (0: as it is)."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(60)
    try:
        import onnx
        import torch
        from onnx2torch import convert

        model, feeds = stored_model(case, stored)
        if feeds is None:
            init = {i.name for i in model.graph.initializer}
            first = next(v for v in model.graph.input if v.name not in init)
            dims = first.type.tensor_type.shape.dim
            feeds = [light_input(tuple(d.dim_value or 1 for d in dims))]
        if any(f is None for f in feeds) or any(o is None for o in case.outputs):
            return Outcome(case.name, "refused", "a sequence or optional value")
        try:
            if opset:
                model = onnx.version_converter.convert_version(model, opset)
            module = convert(model).eval()
        except Exception as exc:  # onnx2torch refuses by raising
            return Outcome(case.name, "refused", f"{type(exc).__name__}: {str(exc)[:150]}")
        with torch.no_grad():
            got = module(*[torch.from_numpy(np.array(f)) for f in feeds])
        return compare(case, got)
    except _Timeout:
        return Outcome(case.name, "traceback", "took longer than 60 s")
    except Exception as exc:
        return Outcome(case.name, "traceback", f"{type(exc).__name__}: {str(exc)[:150]}")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)

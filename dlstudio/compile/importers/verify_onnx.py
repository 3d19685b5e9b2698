"""Proving an ONNX import (:mod:`.verify`): the compiled project, with the imported weights, and
onnxruntime running the file itself, on the same inputs; when they disagree, every ONNX value of
one input set is compared with the output of the layer made from the node that computed it, in
the file's node order, to name the first node that departs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnx

from dlstudio.compile.importers.report import ImportResult
from dlstudio.compile.importers.verify import (
    BATCHES,
    InputSet,
    Runner,
    Verification,
    compare,
    describe,
    first_departure,
)


def input_sets(model: onnx.ModelProto, batch: bool, seq_len: int) -> list[InputSet]:
    """Seeded inputs in each input's own dtype: at two batch sizes (the file's own when it
    fixes one: onnxruntime runs no other), symbolic lengths at ``seq_len`` and a shorter one;
    a model without a batch axis at its own shapes."""
    from dlstudio.compile.importers.onnx_import import graph_inputs

    inputs = [v.type.tensor_type for v in graph_inputs(model)]
    fixed = {t.shape.dim[0].dim_value if t.shape.dim else 0 for t in inputs}
    if not batch:
        batches = [0]
    elif len(fixed) == 1 and 0 not in fixed:
        batches = [fixed.pop()]
    else:
        batches = list(BATCHES)
    symbolic = any(not d.dim_value for t in inputs for d in t.shape.dim[int(batch) :])
    rng = np.random.default_rng(0)
    sets = []
    for index, size in enumerate(batches):
        length = seq_len if index == 0 else max(2, seq_len // 2 + 1)
        arrays = []
        for t in inputs:
            dims = [d.dim_value or length for d in t.shape.dim[int(batch) :]]
            dtype = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(t.elem_type))
            arrays.append(_random(rng, [size, *dims] if batch else dims, dtype))
        label = f"batch {size}" if batch else "its own shapes (no batch axis)"
        sets.append(InputSet(label + (f", length {length}" if symbolic else ""), arrays))
    return sets


def _random(rng, shape: list[int], dtype: np.dtype) -> np.ndarray:
    # Normal noise for floats; 0 and 1 otherwise: valid ids, indices and flags alike.
    values = rng.standard_normal(shape) if dtype.kind == "f" else rng.integers(0, 2, size=shape)
    return np.asarray(values).astype(dtype).reshape(shape)


def built_runner(module) -> Runner:
    """The compiled project as a :data:`.verify.Runner`; single numbers stay rank 0."""
    import torch

    def run(arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
        with torch.no_grad():
            out = module(*[torch.from_numpy(np.array(a)) for a in arrays])
        out = out if isinstance(out, tuple) else (out,)
        return [t.detach().cpu().numpy() for t in out]

    return run


def onnx_runner(model: onnx.ModelProto) -> Runner:
    """A :data:`.verify.Runner` for the file, through onnxruntime on the CPU."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 4  # a failure is reported once, by compare()
    session = ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    names = [i.name for i in session.get_inputs()]

    def run(arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
        return list(session.run(None, dict(zip(names, arrays, strict=True))))

    return run


def verify_onnx(model: onnx.ModelProto, result: ImportResult, seq_len: int = 16) -> Verification:
    """Compile ``result`` with its weights and compare it with onnxruntime on ``model``. A
    project that does not compile or load its weights is a failed check with the reason."""
    from dlstudio.compile.importers.project import compile_import

    batch = all(n.params.get("batch", True) for n in result.graph if n.type_id == "input")
    sets = input_sets(model, batch, seq_len)
    labels = [s.label for s in sets]
    if not result.ok:
        return Verification(
            sets=labels,
            error=f"{len(result.issues)} operation(s) are placeholders; the project cannot run",
        )
    try:
        compiled = compile_import(result)
        source = onnx_runner(model)
    except Exception as exc:
        return Verification(sets=labels, error=f"the project does not compile: {describe(exc)}")
    built = compiled.module.eval()
    names = [o.name for o in model.graph.output]
    check = compare(source, built_runner(built), sets, names)
    if not check.ok:
        check.first_departure, check.departure_detail = _first_node(model, result, sets[0].arrays)
    return check


def _first_node(model, result: ImportResult, arrays) -> tuple[str, str]:
    """The first ONNX node whose value the imported layer made from it does not reproduce."""
    from dlstudio.compile.importers.onnx_run import run_all

    stored = {i.name for i in model.graph.initializer}
    inputs = [v.name for v in model.graph.input if v.name not in stored]
    try:
        values = run_all(model, dict(zip(inputs, arrays, strict=True)))
        built = layer_values(result, arrays)
    except Exception:
        return "", ""
    want, got = {}, {}
    for node in model.graph.node:
        for name in node.output:
            if name in values and name in built:
                label = f"{node.op_type} {node.name or name} ({name})"
                want[label], got[label] = values[name], built[name]
    return first_departure(want, got)


def layer_values(result: ImportResult, arrays) -> dict[str, np.ndarray]:
    """The source's value name -> what the imported layer computes for it: one run of a copy
    of the project with an Output on every layer (functional layers such as ReLU included)."""
    from dlstudio.compile.importers.project import compile_import
    from dlstudio.core.graph import Edge, LayerNode, PortRef

    graph = result.graph.copy()
    probed = [(i, n) for i, n in result.source_names.items() if i in graph]
    for node_id, _name in probed:
        probe = graph.new_node_id("probe")
        graph.insert_node(LayerNode(probe, "output", graph.unique_name("probe"), {}))
        graph.insert_edge(Edge(PortRef(node_id, "out"), PortRef(probe, "in")))
    copy = ImportResult(graph, weights=result.weights, source=result.source)
    outputs = built_runner(compile_import(copy).module.eval())(arrays)
    values = outputs[len(outputs) - len(probed) :]
    return {name: value for (_id, name), value in zip(probed, values, strict=True)}


def import_verified(path, seq_len: int = 16) -> tuple[ImportResult, Verification]:
    """Import and check an ONNX file. A file whose inputs all have fixed sizes reads its first
    axis as the batch when that imports and checks; otherwise it is imported again as a model
    without a batch axis, and that import is kept when it does both."""
    from dlstudio.compile.importers.errors import ImportFailed
    from dlstudio.compile.importers.onnx_import import graph_inputs, import_onnx

    result = import_onnx(path, seq_len)  # an unreadable file stops here, with the reason
    model = onnx.load(str(path))
    check = verify_onnx(model, result, seq_len)
    fixed = all(d.dim_value > 0 for v in graph_inputs(model) for d in v.type.tensor_type.shape.dim)
    batched = any(n.params.get("batch", True) for n in result.graph if n.type_id == "input")
    # Only a refusal that names the batch, or a failed check, can change without a batch axis.
    batch_bound = any("batch" in issue.detail for issue in result.issues)
    if not fixed or not batched or not (batch_bound or (result.ok and not check.ok)):
        return result, check
    try:
        other = import_onnx(path, seq_len, batch=False)
    except ImportFailed:
        return result, check
    other_check = verify_onnx(model, other, seq_len)
    return (other, other_check) if other.ok and other_check.ok else (result, check)

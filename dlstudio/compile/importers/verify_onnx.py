"""Proving an ONNX import (:mod:`.verify`): the compiled project, with the imported weights, and
onnxruntime running the file itself, on the same inputs; when they disagree, every ONNX value of
one input set is compared with the output of the layer made from the node that computed it, in
the file's node order, to name the first node that departs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import onnx

from dlstudio.compile.importers.report import ImportResult
from dlstudio.compile.importers.verify import (
    BATCHES,
    Runner,
    Verification,
    compare,
    describe,
    example_sets,
    first_departure,
)
from dlstudio.compile.importers.verify_torch import torch_runner


@dataclass(frozen=True)
class OnnxInput:
    """One ONNX graph input as :func:`.verify.example_sets` needs it (a sample, no batch)."""

    shape: tuple[int | str, ...]
    dtype: str
    seq_len: int
    vocab_size: int


def input_specs(model: onnx.ModelProto, seq_len: int) -> tuple[list[OnnxInput], list[int]]:
    """The graph's inputs (initializers left out) and the batch sizes to check: the file's own
    batch size when it fixes one (onnxruntime runs no other), else :data:`.verify.BATCHES`."""
    stored = {i.name for i in model.graph.initializer}
    specs, fixed = [], set()
    for value in model.graph.input:
        if value.name in stored:
            continue
        t = value.type.tensor_type
        dims = list(t.shape.dim)
        fixed.add(dims[0].dim_value if dims and dims[0].dim_value else 0)
        shape = tuple(d.dim_value if d.dim_value else (d.dim_param or "T") for d in dims[1:])
        dtype = "int64" if t.elem_type == onnx.TensorProto.INT64 else "float32"
        specs.append(OnnxInput(shape, dtype, seq_len, 2))
    batches = [fixed.pop()] if len(fixed) == 1 and 0 not in fixed else list(BATCHES)
    return specs, batches


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

    specs, batches = input_specs(model, seq_len)
    sets = example_sets(specs, batches)
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
    check = compare(source, torch_runner(built), sets, names)
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
    outputs = torch_runner(compile_import(copy).module.eval())(arrays)
    values = outputs[len(outputs) - len(probed) :]
    return {name: value for (_id, name), value in zip(probed, values, strict=True)}

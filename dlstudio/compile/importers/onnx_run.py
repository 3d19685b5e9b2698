"""Every intermediate value of an ONNX model on an example input, from onnxruntime: the concrete
shapes and the constants (sizes computed from ``Shape``) the ONNX walk needs."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx

from dlstudio.compile.importers.errors import ImportFailed

TRACE_BATCH = 2


def example_feeds(model: onnx.ModelProto, seq_len: int = 16) -> dict[str, np.ndarray]:
    """Random inputs: symbolic dimensions are the batch (first) or ``seq_len``."""
    rng = np.random.default_rng(0)
    init = {i.name for i in model.graph.initializer}
    feeds = {}
    for value in model.graph.input:
        if value.name in init or value.type.WhichOneof("value") != "tensor_type":
            continue  # a sequence or map input is refused by the walk, by name
        t = value.type.tensor_type
        dims = []
        for i, d in enumerate(t.shape.dim):
            dims.append(d.dim_value if d.dim_value else (TRACE_BATCH if i == 0 else seq_len))
        try:
            dtype = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(t.elem_type))
        except (KeyError, TypeError, ValueError):
            dtype = np.dtype(np.float32)
        if dtype.kind in "biu":
            feeds[value.name] = rng.integers(0, 2, size=dims).astype(dtype)
        else:
            feeds[value.name] = rng.standard_normal(dims).astype(dtype)
    return feeds


def run_all(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> dict[str, Any]:
    """Name -> value of every node output (and the inputs)."""
    import onnxruntime as ort

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    inferred = onnx.shape_inference.infer_shapes(probe)
    typed = {v.name: v for v in list(inferred.graph.value_info) + list(inferred.graph.output)}
    known = {o.name for o in probe.graph.output}
    for node in probe.graph.node:
        for name in node.output:
            if name and name not in known and name in typed:
                probe.graph.output.append(typed[name])
                known.add(name)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.log_severity_level = 4  # the failure is reported once, below
    try:
        session = ort.InferenceSession(
            probe.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )
        names = [o.name for o in session.get_outputs()]
        values = session.run(names, feeds)
    except Exception as exc:
        raise ImportFailed(f"onnxruntime cannot run the model: {str(exc).splitlines()[0]}") from exc
    result = dict(zip(names, values, strict=True))
    result.update(feeds)
    return result

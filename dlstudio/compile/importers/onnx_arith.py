"""ONNX arithmetic -> the broadcasting Add, Multiply, Subtract, Divide and MatMul layers; a
constant operand (an initializer, or a value folded from constants) becomes a Parameter node
holding it, so ``x * 0.5`` or ``x - mean`` import as the two-input layer they are."""

from __future__ import annotations

import numpy as np
import torch

from dlstudio.compile.importers.builder import TensorRef
from dlstudio.compile.importers.values import Unmapped

PARAMETER_KEY = ""
"""A Parameter node's weights key: the tensor is the attribute itself (``state_dict`` key = its
name), see :func:`.project.compile_import`."""

_LAYERS = {"Add": "add", "Mul": "multiply", "Sub": "subtract", "Div": "divide"}


def _local(where: str) -> str:
    return where.strip("/").replace("/", "_").replace(".", "_") or "node"


def constant(w, node, value: np.ndarray, index: int) -> TensorRef:
    """A Parameter node holding ``value`` (no batch axis; broadcast by the layer reading it)."""
    if value.dtype.kind != "f":
        raise Unmapped(f"a {value.dtype} constant operand (Parameters hold float32)")
    if value.ndim > 6:
        raise Unmapped(f"a {value.ndim}-D constant operand")
    array = np.asarray(value, np.float32).reshape(value.shape or (1,))
    where = f"{_local(node.name or node.output[0])}_const{index}"
    node_id = w.builder.add(
        "parameter",
        where,
        {"shape": tuple(array.shape)},
        weights={PARAMETER_KEY: torch.from_numpy(np.ascontiguousarray(array).copy())},
        local=where,
    )
    return TensorRef(node_id)


def operands(w, node, values) -> list[TensorRef]:
    """Each value as a graph tensor: tensors as they are, constants as Parameters. The result
    must keep the batch in front: a constant may not add leading dimensions."""
    out_rank = len(w.shape(node.output[0]) or ())
    tensors = [v for v in values if not isinstance(v, np.ndarray)]
    if not tensors:
        raise Unmapped("computes only from constants")
    for name, v in zip(node.input, values, strict=False):
        if not isinstance(v, np.ndarray) and len(w.shape(name) or ()) != out_rank:
            raise Unmapped(
                "broadcasts a tensor to more dimensions (the batch would no longer be first)"
            )
    for v in values:
        if isinstance(v, np.ndarray) and v.ndim == out_rank > 0 and v.shape[0] != 1:
            raise Unmapped(
                f"a constant of shape {list(v.shape)} spans the batch (axis 0): its values "
                "would differ from sample to sample"
            )
    return [
        constant(w, node, v, i) if isinstance(v, np.ndarray) else w._ref(v)
        for i, v in enumerate(values, start=1)
    ]


def binary(w, node, inputs, attrs) -> TensorRef:
    """Add / Mul / Sub / Div of two operands, either of which may be a constant."""
    type_id = _LAYERS[node.op_type]
    a, b = operands(w, node, inputs[:2])
    _same_dtype(w, node)
    return w.layer(node, type_id, _inputs(type_id, 2), ("in1", a), ("in2", b))


def variadic(type_id: str):
    """Sum (and any N-ary op with an N-input layer): ``in1 + in2 + ...``."""

    def mapper(w, node, inputs, attrs):
        refs = operands(w, node, inputs)
        if len(refs) == 1:
            return refs[0]
        _same_dtype(w, node)
        wires = [(f"in{i}", r) for i, r in enumerate(refs, start=1)]
        return w.layer(node, type_id, {"inputs": len(refs)}, *wires)

    return mapper


def matmul(w, node, inputs, attrs) -> TensorRef:
    """MatMul of two tensors, or of a tensor and a constant that is not a 2-D weight matrix."""
    if len(w.shape(node.input[0]) or ()) < 2 and not isinstance(inputs[0], np.ndarray):
        raise Unmapped("multiplies a vector (no batch dimension)")
    a, b = operands(w, node, inputs[:2])
    _same_dtype(w, node)
    return w.layer(node, "matmul", {}, ("in1", a), ("in2", b))


def _same_dtype(w, node) -> None:
    kinds = {w.values[n].dtype for n in node.input if n in w.values}
    if len(kinds) > 1 or any(k != np.float32 for k in kinds):
        raise Unmapped(f"computes on {', '.join(sorted(str(k) for k in kinds))} values")


def _inputs(type_id: str, count: int) -> dict:
    return {"inputs": count} if type_id in ("add", "multiply") else {}

"""ONNX arithmetic -> the broadcasting Add, Multiply, Subtract, Divide and MatMul layers; a
constant operand (an initializer, or a value folded from constants) becomes a Parameter node
holding it, so ``x * 0.5`` or ``x - mean`` import as the two-input layer they are."""

from __future__ import annotations

import numpy as np
import torch

from dlstudio.compile.importers.builder import TensorRef
from dlstudio.compile.importers.values import Unmapped
from dlstudio.layers.io import DTYPES

PARAMETER_KEY = ""
"""A Parameter node's weights key: the tensor is the attribute itself (``state_dict`` key = its
name), see :func:`.project.compile_import`."""

_LAYERS = {"Add": "add", "Mul": "multiply", "Sub": "subtract", "Div": "divide"}


def _local(where: str) -> str:
    return where.strip("/").replace("/", "_").replace(".", "_") or "node"


def constant(w, node, value: np.ndarray, index: int) -> TensorRef:
    """A Parameter node holding ``value`` (no batch axis; broadcast by the layer reading it);
    a Constant node for integers and bools, in their own dtype."""
    if value.ndim > 6:
        raise Unmapped(f"a {value.ndim}-D constant operand")
    floating = value.dtype.kind == "f"
    if not floating and str(value.dtype) not in DTYPES:
        raise Unmapped(f"a {value.dtype} constant operand")
    array = np.asarray(value, np.float32 if floating else value.dtype).reshape(value.shape or (1,))
    where = f"{_local(node.name or node.output[0])}_const{index}"
    params: dict = {"shape": tuple(array.shape)}
    if not floating:
        params["dtype"] = str(array.dtype)
    node_id = w.builder.add(
        "parameter" if floating else "constant",
        where,
        params,
        weights={PARAMETER_KEY: torch.from_numpy(np.ascontiguousarray(array).copy())},
        local=where,
    )
    return TensorRef(node_id)


def operands(w, node, values, matrices: bool = False, first: int = 0) -> list[TensorRef]:
    """Each value (the node's inputs from ``first`` on) as a graph tensor: tensors as they are,
    constants as Parameters. The result must keep the batch in front: a constant may not add
    leading dimensions, nor (with a batch axis) hold values that differ along it."""
    names = list(node.input[first:])
    out_rank = len(w.shape(node.output[0]) or ())
    tensors = [v for v in values if not isinstance(v, np.ndarray)]
    if not tensors:
        raise Unmapped("computes only from constants")
    for name, v in zip(names, values, strict=False):
        if not isinstance(v, np.ndarray) and len(w.shape(name) or ()) != out_rank:
            raise Unmapped(
                "broadcasts a tensor to more dimensions (the batch would no longer be first)"
            )
    stored = {i.name for i in w.model.graph.initializer}
    values = [
        _collapse(v, v.ndim - 2 if matrices else v.ndim)
        if isinstance(v, np.ndarray) and name not in stored
        else v
        for name, v in zip(names, values, strict=False)
    ]
    for v in values:
        spans = isinstance(v, np.ndarray) and v.ndim == out_rank > 0 and v.shape[0] != 1
        if spans and w.batch:
            raise Unmapped(
                f"a constant of shape {list(v.shape)} spans the batch (axis 0): its values "
                "would differ from sample to sample"
            )
    return [
        constant(w, node, v, i) if isinstance(v, np.ndarray) else w._ref(v)
        for i, v in enumerate(values, start=1)
    ]


def _collapse(value: np.ndarray, axes: int) -> np.ndarray:
    """A value computed from constants and sizes (``zeros.expand(input.shape)``) with one size
    1 wherever all its slices are equal: broadcasting gives the same numbers at the example's
    sizes, and the right ones at any other batch size or length. Only the first ``axes`` axes
    broadcast (a matrix product's last two do not)."""
    for axis in range(max(axes, 0)):
        if value.shape[axis] > 1 and (value == value.take([0], axis=axis)).all():
            value = value.take([0], axis=axis)
    return value


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
    a, b = operands(w, node, inputs[:2], matrices=True)
    _same_dtype(w, node)
    return w.layer(node, "matmul", {}, ("in1", a), ("in2", b))


def _same_dtype(w, node) -> None:
    """float32 operands, or integers of one dtype (which add, subtract and multiply as ONNX
    does; torch's ``/`` would not truncate)."""
    kinds = {w.values[n].dtype for n in node.input if n in w.values}
    integers = all(k.kind in "iu" for k in kinds) and node.op_type in ("Add", "Sub", "Mul")
    if len(kinds) > 1 or not (integers or all(k == np.float32 for k in kinds)):
        raise Unmapped(f"computes on {', '.join(sorted(str(k) for k in kinds))} values")


def _inputs(type_id: str, count: int) -> dict:
    return {"inputs": count} if type_id in ("add", "multiply") else {}

"""torch functions and tensor methods -> catalogue layers.

``FUNCTIONS`` is keyed by the function object fx records (``torch.flatten``, ``operator.add``),
``METHODS`` by the tensor method's name (``"flatten"``). Each mapper takes a :class:`Call` and
returns the value standing for the result, or raises :class:`Unmapped`.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import torch
from torch.nn import functional as F

from dlstudio.compile.importers import torch_arith as arith
from dlstudio.compile.importers import torch_heads as heads
from dlstudio.compile.importers import torch_views as views
from dlstudio.compile.importers.builder import TensorRef
from dlstudio.compile.importers.call import Call
from dlstudio.compile.importers.fx_export_values import position_rows
from dlstudio.compile.importers.padding_masks import padded_positions, padding_mask
from dlstudio.compile.importers.values import (
    Expanded,
    PaddingMask,
    Param,
    Rows,
    Unmapped,
    Unsqueezed,
)

Mapper = Callable[[Call], Any]


def _unary(type_id: str) -> Mapper:
    return lambda c: c.layer(type_id, {}, c.tensor())


def _passthrough(c: Call) -> Any:
    value = c.get(0, "input")
    return value if isinstance(value, heads.Heads) else c.tensor()


def _gelu(c: Call) -> TensorRef:
    approximate = c.get(1, "approximate", "none")
    return c.layer("gelu", {"approximate": approximate}, c.tensor())


def _leaky_relu(c: Call) -> TensorRef:
    return c.layer("leaky_relu", {"negative_slope": c.get(1, "negative_slope", 0.01)}, c.tensor())


def _softmax(type_id: str) -> Mapper:
    def mapper(c: Call) -> TensorRef:
        dim = c.get(1, "dim")
        if dim is None:
            raise Unmapped("dim is not given")
        c.dim(dim, len(c.in_shape()))
        return c.layer(type_id, {"dim": dim}, c.tensor())

    return mapper


def _dropout(c: Call) -> TensorRef:
    return c.layer("dropout", {"p": c.get(1, "p", 0.5)}, c.tensor())


def _add(c: Call) -> TensorRef:
    a, b = c.get(0, "input"), c.get(1, "other")
    if c.kwargs.get("alpha", 1) != 1:
        raise Unmapped("alpha is not 1")
    if isinstance(b, Rows) and isinstance(a, (TensorRef, Unsqueezed)):
        return _table_rows(c, a, b)
    if isinstance(a, Rows) and isinstance(b, (TensorRef, Unsqueezed)):
        return _table_rows(c, b, a)
    if isinstance(b, Param) and isinstance(a, (TensorRef, Unsqueezed)):
        return _positions(c, a, b)
    if isinstance(a, Param) and isinstance(b, (TensorRef, Unsqueezed)):
        return _positions(c, b, a)
    if not isinstance(a, (TensorRef, Unsqueezed)) or not isinstance(b, (TensorRef, Unsqueezed)):
        raise Unmapped("adds a constant; the Add layer sums tensors")
    return c.layer("add", {"inputs": 2}, ("in1", c.as_ref(a)), ("in2", c.as_ref(b)))


def _positions(c: Call, x: Any, param: Param) -> TensorRef:
    """``x + table`` with a (1, T, E) parameter: learned positional encoding (ViT, BERT)."""
    table = param.tensor
    shape = c.out_shape
    if table.dim() != 3 or table.shape[0] != 1 or tuple(table.shape[1:]) != shape[1:]:
        raise Unmapped(f"adds the parameter {param.path} of shape {tuple(table.shape)}")
    params = {"mode": "learned", "max_len": table.shape[1], "dropout": 0.0, "bare": True}
    c.name = c.local = param.path.split(".")[-1]  # named after the table: pos_embedding
    # bare: the tensor is the attribute itself (key ""), so its key is the source's
    return c.layer("positional_encoding", params, c.as_ref(x), weights={"": table.detach()})


def _rows(c: Call) -> Rows:
    weight = c.args[0]
    if not isinstance(weight, Param):
        raise Unmapped("reads positions from a table that is not a parameter")
    return Rows(weight)


def _table_rows(c: Call, x: Any, rows: Rows) -> TensorRef:
    """``x + embedding(positions)``: a learned positional encoding holding the whole table,
    under the embedding's own key (BERT's ``embeddings.position_embeddings.weight``)."""
    table = rows.param.tensor
    if table.dim() != 2 or table.shape[1] != c.out_shape[-1]:
        raise Unmapped(f"adds rows of {rows.param.path} of shape {tuple(table.shape)}")
    params = {"mode": "learned", "max_len": table.shape[0], "dropout": 0.0}
    c.name = c.local = rows.param.path.split(".")[-2]  # named after the table's module
    return c.layer("positional_encoding", params, c.as_ref(x), weights={"weight": table.detach()})


def _mul(c: Call) -> TensorRef:
    a, b = c.get(0, "input"), c.get(1, "other")
    if not isinstance(a, (TensorRef, Unsqueezed)) or not isinstance(b, (TensorRef, Unsqueezed)):
        raise Unmapped("multiplies by a constant; the Multiply layer multiplies tensors")
    return c.layer("multiply", {"inputs": 2}, ("in1", c.as_ref(a)), ("in2", c.as_ref(b)))


def _cat(c: Call) -> TensorRef:
    items = list(c.get(0, "tensors"))
    dim = c.get(1, "dim", 0)
    rank = c.out_shape and len(c.out_shape)
    if len(items) == 2 and isinstance(items[0], Expanded) and dim % rank == 1:
        token = items[0].param.tensor
        if token.dim() == 3 and tuple(token.shape[:2]) == (1, 1):
            c.name = c.local = items[0].param.path.split(".")[-1]  # class_token
            # bare: the tensor is the attribute itself (key ""), so its key is the source's
            params = {"bare": True}
            return c.layer("cls_token", params, c.as_ref(items[1]), weights={"": token.detach()})
    c.dim(dim, rank)
    refs = [c.as_ref(i) for i in items]
    if len(refs) == 1:
        return refs[0]  # torch.cat([x]) is x (densenet's first dense layer)
    wires = [(f"in{i}", r) for i, r in enumerate(refs, start=1)]
    return c.layer("concat", {"inputs": len(refs), "axis": dim}, *wires)


def _mean(c: Call) -> TensorRef:
    rank = len(c.in_shape())
    dim = c.get(1, "dim")
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    if dim is None:
        raise Unmapped("averages over every dimension, the batch included")
    dims = {c.dim(d, rank) for d in dims}
    if c.get(2, "keepdim", False) and rank == 4 and dims == {2, 3}:
        # x.mean((2, 3), keepdim=True): squeeze-and-excitation's pooling, (N, C, 1, 1)
        return c.layer("adaptive_avgpool2d", {"output_size": 1}, c.tensor())
    if c.get(2, "keepdim", False):
        raise Unmapped("keepdim=True")
    if rank >= 3 and dims == set(range(2, rank)):
        return c.layer("global_avgpool", {}, c.tensor())
    if rank == 3 and dims == {1}:
        return c.layer("mean_over_time", {}, c.tensor())
    raise Unmapped(f"averages over dimensions {sorted(dims)}")


def _adaptive_avg_pool2d(c: Call) -> TensorRef:
    size = c.get(1, "output_size")
    if size is None or (isinstance(size, (tuple, list)) and None in size):
        raise Unmapped("leaves an output size free")
    return c.layer("adaptive_avgpool2d", {"output_size": size}, c.tensor())


def _pool(type_id: str) -> Mapper:
    def mapper(c: Call) -> TensorRef:
        kernel = c.get(1, "kernel_size")
        stride = c.get(2, "stride")
        padding = c.get(3, "padding", 0)
        params = {"kernel_size": kernel, "padding": padding}
        if type_id.startswith("max"):
            params["dilation"] = c.get(4, "dilation", 1)
            params["ceil_mode"] = bool(c.get(5, "ceil_mode", False))
        else:
            if c.get(6, "divisor_override") is not None:
                raise Unmapped("a divisor_override")
            params["ceil_mode"] = bool(c.get(4, "ceil_mode", False))
            params["count_include_pad"] = bool(c.get(5, "count_include_pad", True))
        if stride not in (None, [], ()) and stride != kernel:
            params["stride"] = stride
        return c.layer(type_id, params, c.tensor())

    return mapper


def _pad(c: Call) -> TensorRef:
    pads = tuple(c.get(1, "pad"))
    mode = c.get(2, "mode", "constant")
    if len(pads) % 2 or len(pads) // 2 >= len(c.in_shape()):
        raise Unmapped(f"pads {pads} reach the batch dimension")
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise Unmapped(f"mode {mode!r}")
    params = {"pads": pads, "mode": mode, "value": float(c.get(3, "value", 0.0) or 0.0)}
    return c.layer("pad", params, c.tensor())


_ACTIVATIONS = {
    "relu": (F.relu, torch.relu),
    "relu6": (F.relu6,),
    "silu": (F.silu,),
    "hardswish": (F.hardswish,),
    "hardsigmoid": (F.hardsigmoid,),
    "tanh": (torch.tanh, F.tanh),
    "sigmoid": (torch.sigmoid, F.sigmoid),
}


def _sdpa(c: Call) -> Any:
    """``F.scaled_dot_product_attention(q, k, v, ...)``: on heads split from (N, T, E)
    projections (:mod:`.torch_heads`) or on (N, heads, T, D) tensors."""
    if c.get(4, "dropout_p", 0.0):
        raise Unmapped("dropout on the attention weights in eval")
    if c.get(7, "enable_gqa", False):
        raise Unmapped("grouped-query attention")
    causal, mask = heads.constant_mask(c.get(3, "attn_mask"))
    params: dict[str, Any] = {"causal": causal or bool(c.get(5, "is_causal", False))}
    scale = c.get(6, "scale")
    if scale is not None:
        params["scale"] = float(scale)
    if isinstance(mask, PaddingMask):
        params["mask_type"] = "padding"  # Hugging Face's attention_mask, wired as it is
        mask = mask.ref
    elif mask is not None:
        index = c.args.index(mask) if mask in c.args else None
        value = c.ins[index] if index is not None and index < len(c.ins) else None
        params["mask_type"] = (
            "boolean" if getattr(value, "dtype", None) == torch.bool else "additive"
        )
    merged = heads.attention(c, params, mask)
    if merged is not None:
        return merged
    wires = [(port, c.tensor(i, port)) for i, port in enumerate(("query", "key", "value"))]
    if mask is not None:
        wires.append(("mask", c.as_ref(mask)))
    return c.layer("scaled_dot_product_attention", {**params, "layout": "split"}, *wires)


FUNCTIONS: dict[Any, Mapper] = {
    F.gelu: _gelu,
    F.leaky_relu: _leaky_relu,
    F.softmax: _softmax("softmax"),
    torch.softmax: _softmax("softmax"),
    F.log_softmax: _softmax("log_softmax"),
    torch.log_softmax: _softmax("log_softmax"),
    F.dropout: _dropout,
    torch.dropout: _dropout,
    torch.flatten: views.flatten,
    torch.reshape: views.reshape,
    torch.permute: views.permute,
    torch.transpose: views.transpose,
    operator.add: _add,
    operator.iadd: _add,
    torch.add: _add,
    operator.mul: _mul,
    torch.mul: _mul,
    torch.cat: _cat,
    torch.concat: _cat,
    operator.getitem: views.getitem,
    torch.mean: _mean,
    F.adaptive_avg_pool2d: _adaptive_avg_pool2d,
    F.max_pool2d: _pool("maxpool2d"),
    F.scaled_dot_product_attention: _sdpa,
    padding_mask: lambda c: PaddingMask(c.tensor()),
    padded_positions: lambda c: c.layer("position_ids", {"padding_idx": c.args[1]}, c.tensor()),
    torch.split: heads.split,
    position_rows: _rows,
    F.avg_pool2d: _pool("avgpool2d"),
    F.max_pool1d: _pool("maxpool1d"),
    F.avg_pool1d: _pool("avgpool1d"),
    torch.unsqueeze: views.unsqueeze,
    F.pad: _pad,
}
for _type_id, _functions in _ACTIVATIONS.items():
    for _function in _functions:
        FUNCTIONS[_function] = _unary(_type_id)

METHODS: dict[str, Mapper] = {
    "relu": _unary("relu"),
    "relu_": _unary("relu"),
    "tanh": _unary("tanh"),
    "sigmoid": _unary("sigmoid"),
    "softmax": _softmax("softmax"),
    "log_softmax": _softmax("log_softmax"),
    "flatten": views.flatten,
    "view": views.reshape,
    "reshape": views.reshape,
    "permute": views.permute,
    "transpose": views.transpose,
    "contiguous": _passthrough,
    "split": heads.split,
    "add": _add,
    "add_": _add,
    "mul": _mul,
    "expand": views.expand,
    "mean": _mean,
    "unsqueeze": views.unsqueeze,
    "repeat": views.repeat,
}
"""Tensor methods by name (``x.flatten(1)`` is recorded as the method ``flatten``)."""

# Arithmetic with parameters and numbers, reductions and slicing (torch_arith.py).
FUNCTIONS.update(arith.FUNCTIONS)
for _key in (operator.add, operator.iadd, torch.add):
    FUNCTIONS[_key] = arith.binary("add", _add)
for _key in (operator.mul, torch.mul):
    FUNCTIONS[_key] = arith.binary("multiply", _mul)
FUNCTIONS[operator.getitem] = arith.getitem(views.getitem)
FUNCTIONS[torch.permute] = arith.permute(views.permute)
FUNCTIONS[torch.reshape] = arith.reshape(views.reshape)
FUNCTIONS[torch.flatten] = arith.flatten(views.flatten)
METHODS.update(
    {
        "add": FUNCTIONS[operator.add],
        "add_": FUNCTIONS[operator.add],
        "mul": FUNCTIONS[operator.mul],
        "sub": FUNCTIONS[operator.sub],
        "div": FUNCTIONS[operator.truediv],
        "sum": FUNCTIONS[torch.sum],
        "chunk": arith.chunk,
        "unbind": arith.unbind,
        "permute": FUNCTIONS[torch.permute],
        "view": FUNCTIONS[torch.reshape],
        "flatten": FUNCTIONS[torch.flatten],
        "reshape_as": arith.reshape_as,
        "matmul": arith.matmul,
        "reshape": FUNCTIONS[torch.reshape],
    }
)

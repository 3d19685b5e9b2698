"""What each layer must compute, written with torch's own functions: ``REFERENCES[type_id]``
takes the inputs (in the case's port order), the layer's parameters (defaults applied) and its
weights (``state_dict`` keys without the node's prefix) and returns the expected output(s)."""

from __future__ import annotations

from collections.abc import Callable
from functools import reduce
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

Tensors = list[torch.Tensor]
Reference = Callable[[Tensors, dict[str, Any], dict[str, torch.Tensor]], Any]

REFERENCES: dict[str, Reference] = {
    "add": lambda xs, p, w: reduce(torch.add, xs),
    "multiply": lambda xs, p, w: reduce(torch.mul, xs),
    "subtract": lambda xs, p, w: torch.sub(*xs),
    "divide": lambda xs, p, w: torch.div(*xs),
    "matmul": lambda xs, p, w: torch.matmul(*xs),
    "concat": lambda xs, p, w: torch.cat(xs, dim=p["axis"]),
    "parameter": lambda xs, p, w: w[""].view(p["view"]) if p["view"] else w[""],
    "split": lambda xs, p, w: (
        torch.split(xs[0], list(p["sizes"]), p["dim"])
        if p["sizes"]
        else torch.chunk(xs[0], p["outputs"], p["dim"])
    ),
    "slice": lambda xs, p, w: torch.narrow_copy(xs[0], 0, 0, xs[0].shape[0])[
        (slice(None),) * (p["dim"] % xs[0].dim()) + (slice(p["start"], p["end"], p["step"]),)
    ],
    "squeeze": lambda xs, p, w: torch.squeeze(xs[0], p["dim"]),
    "unsqueeze": lambda xs, p, w: torch.unsqueeze(xs[0], p["dim"]),
    "transpose": lambda xs, p, w: torch.transpose(xs[0], p["dim0"], p["dim1"]),
    "expand": lambda xs, p, w: xs[0].expand(
        *((xs[1].shape[0], *p["shape"][1:]) if len(xs) > 1 else p["shape"])
    ),
    "tile": lambda xs, p, w: torch.tile(xs[0], p["repeats"]),
    "groupnorm": lambda xs, p, w: F.group_norm(
        xs[0], p["num_groups"], w.get("weight"), w.get("bias"), p["eps"]
    ),
    "instancenorm1d": lambda xs, p, w: F.instance_norm(
        xs[0],
        w.get("running_mean"),
        w.get("running_var"),
        w.get("weight"),
        w.get("bias"),
        use_input_stats=not p["track_running_stats"],  # evaluation uses the running averages
        eps=p["eps"],
    ),
    "rmsnorm": lambda xs, p, w: F.rms_norm(xs[0], (xs[0].shape[-1],), w.get("weight"), p["eps"]),
    "local_response_norm": lambda xs, p, w: F.local_response_norm(
        xs[0], p["size"], p["alpha"], p["beta"], p["k"]
    ),
    "stochastic_depth": lambda xs, p, w: xs[0],  # evaluation: identity
    "pad": lambda xs, p, w: F.pad(
        xs[0], p["pads"], p["mode"], p["value"] if p["mode"] == "constant" else None
    ),
    "maxpool1d": lambda xs, p, w: F.max_pool1d(xs[0], **_pool(p)),
    "maxpool2d": lambda xs, p, w: F.max_pool2d(xs[0], **_pool(p)),
    "avgpool1d": lambda xs, p, w: F.avg_pool1d(xs[0], **_pool(p)),
    "avgpool2d": lambda xs, p, w: F.avg_pool2d(xs[0], **_pool(p)),
}


def _attention(xs: Tensors, p: dict[str, Any], w: dict[str, torch.Tensor]) -> torch.Tensor:
    """softmax(Q K^T * scale + mask) V, written out."""
    q, k, v = xs[:3]
    merged = p["layout"] == "merged"
    if merged:
        q, k, v = (x.reshape(*x.shape[:2], p["num_heads"], -1).transpose(1, 2) for x in (q, k, v))
    scale = p["scale"] if p["scale"] is not None else q.shape[-1] ** -0.5
    scores = q @ k.transpose(-2, -1) * scale
    allowed = torch.ones(scores.shape[-2:], dtype=torch.bool)
    if p["causal"]:
        allowed = allowed.tril()
    if len(xs) > 3:
        mask = xs[3]
        if p["mask_type"] == "padding":
            allowed = allowed & mask.bool()[:, None, None, :]
        elif p["mask_type"] == "boolean":
            allowed = allowed & mask
        else:
            scores = scores + mask
    # A very negative number rather than -inf (as Hugging Face's models write it), so a query
    # with nothing to see averages every value instead of giving NaN.
    scores = scores.masked_fill(~allowed, torch.finfo(scores.dtype).min)
    out = scores.softmax(-1) @ v
    return out.transpose(1, 2).flatten(2) if merged else out


def _gpt2_conv1d(xs: Tensors, p: dict[str, Any], w: dict[str, torch.Tensor]) -> torch.Tensor:
    """transformers' own Conv1D, loaded strictly with the layer's weights."""
    from transformers.pytorch_utils import Conv1D

    reference = Conv1D(p["units"], xs[0].shape[-1])
    reference.load_state_dict(w)
    return reference(xs[0])


REFERENCES["scaled_dot_product_attention"] = _attention
REFERENCES["gpt2_conv1d"] = _gpt2_conv1d


def _math(xs: Tensors, p: dict[str, Any], w: dict[str, torch.Tensor]) -> torch.Tensor:
    function, x = p["function"], xs[0]
    if function == "pow":
        return torch.pow(x, p["exponent"])
    if function == "clamp":
        return torch.clamp(x, p["min"], p["max"])
    return getattr(torch, function)(x)


_CONSTANT = {
    "x + c": lambda x, c: torch.add(x, c),
    "x - c": lambda x, c: torch.sub(x, c),
    "c - x": lambda x, c: torch.rsub(x, c),
    "x * c": lambda x, c: torch.mul(x, c),
    "x / c": lambda x, c: torch.div(x, c),
    "c / x": lambda x, c: torch.reciprocal(x) * c,
}
_REDUCE = {
    "sum": torch.sum,
    "mean": torch.mean,
    "max": torch.amax,
    "min": torch.amin,
    "prod": lambda x, dims, keep: torch.prod(x, dims[0], keep),
    "l1": lambda x, dims, keep: torch.linalg.vector_norm(x, 1, dims, keep),
    "l2": lambda x, dims, keep: torch.linalg.vector_norm(x, 2, dims, keep),
    "sum_square": lambda x, dims, keep: torch.linalg.vector_norm(x, 2, dims, keep) ** 2,
    "log_sum": lambda x, dims, keep: torch.log(torch.sum(x, dims, keep)),
    "logsumexp": torch.logsumexp,
}


def _resize(xs: Tensors, p: dict[str, Any], w: dict[str, torch.Tensor]) -> torch.Tensor:
    mode = p["mode"]
    if mode == "linear":
        mode = {3: "linear", 4: "bilinear", 5: "trilinear"}[xs[0].dim()]
    align = p["align_corners"] if mode in ("linear", "bilinear", "bicubic") else None
    size = tuple(p["size"]) if p["size"] else None
    return F.interpolate(xs[0], size, p["scale_factor"], mode, align)


REFERENCES["conv_transpose1d"] = lambda xs, p, w: F.conv_transpose1d(
    xs[0],
    w["weight"],
    w.get("bias"),
    p["stride"],
    p["padding"],
    p["output_padding"],
    p["groups"],
    p["dilation"],
)
REFERENCES["math"] = _math
REFERENCES["constant_op"] = lambda xs, p, w: _CONSTANT[p["op"]](xs[0], p["value"])
REFERENCES["cast"] = lambda xs, p, w: xs[0].to(getattr(torch, p["dtype"]))
REFERENCES["where"] = lambda xs, p, w: torch.where(*xs)
REFERENCES["reduce"] = lambda xs, p, w: _REDUCE[p["op"]](xs[0], p["dims"], p["keepdim"])
REFERENCES["einsum"] = lambda xs, p, w: torch.einsum(p["equation"], *xs)
REFERENCES["resize"] = _resize
REFERENCES["instancenorm2d"] = REFERENCES["instancenorm1d"]
REFERENCES["constant"] = lambda xs, p, w: torch.full(
    p["shape"], p["value"], dtype=getattr(torch, p["dtype"])
)
REFERENCES["compare"] = lambda xs, p, w: {
    "less": torch.lt,
    "less_equal": torch.le,
    "greater": torch.gt,
    "greater_equal": torch.ge,
    "equal": torch.eq,
    "not_equal": torch.ne,
}[p["op"]](*xs)
REFERENCES["logical"] = lambda xs, p, w: {
    "and": torch.logical_and,
    "or": torch.logical_or,
    "xor": torch.logical_xor,
}[p["op"]](*xs)
REFERENCES["value_test"] = lambda xs, p, w: getattr(torch, f"is{p['test']}")(xs[0])
REFERENCES["logical_not"] = lambda xs, p, w: torch.logical_not(xs[0])
REFERENCES["maximum"] = lambda xs, p, w: reduce(torch.maximum, xs)
REFERENCES["minimum"] = lambda xs, p, w: reduce(torch.minimum, xs)


def _argmax(xs: Tensors, p: dict[str, Any], w: dict[str, torch.Tensor]) -> torch.Tensor:
    x, dim = xs[0], p["dim"]
    if p["last"]:  # numpy's first index of the reversed values, counted from the end
        pick = np.argmax if p["op"] == "max" else np.argmin
        index = x.shape[dim] - 1 - pick(np.flip(x.numpy(), dim), dim, keepdims=p["keepdim"])
        return torch.from_numpy(np.ascontiguousarray(index)).long()
    return (torch.argmax if p["op"] == "max" else torch.argmin)(x, dim, p["keepdim"])


REFERENCES["argmax"] = _argmax
REFERENCES["triangle"] = lambda xs, p, w: (torch.triu if p["part"] == "upper" else torch.tril)(
    xs[0], p["diagonal"]
)


def _cumsum(xs: Tensors, p: dict[str, Any], w: dict[str, torch.Tensor]) -> torch.Tensor:
    x, dim = xs[0], p["dim"]
    if p["reverse"]:
        x = torch.flip(x, (dim,))
    y = torch.cumsum(x, dim)
    if p["exclusive"]:  # shifted by one: 0, x0, x0 + x1, ...
        y = torch.cat(
            [torch.zeros_like(y.narrow(dim, 0, 1)), y.narrow(dim, 0, y.shape[dim] - 1)], dim
        )
    return torch.flip(y, (dim,)) if p["reverse"] else y


REFERENCES["cumsum"] = _cumsum
REFERENCES["gather_elements"] = lambda xs, p, w: torch.gather(xs[0], p["dim"], xs[1])
REFERENCES["elu"] = lambda xs, p, w: torch.nn.ELU(p["alpha"])(xs[0])
REFERENCES["celu"] = lambda xs, p, w: torch.nn.CELU(p["alpha"])(xs[0])
REFERENCES["selu"] = lambda xs, p, w: (
    p["gamma"] * torch.where(xs[0] > 0, xs[0], p["alpha"] * torch.expm1(xs[0]))
)
REFERENCES["softplus"] = lambda xs, p, w: torch.nn.Softplus()(xs[0])
REFERENCES["softsign"] = lambda xs, p, w: torch.nn.Softsign()(xs[0])
REFERENCES["mish"] = lambda xs, p, w: torch.nn.Mish()(xs[0])
REFERENCES["thresholded_relu"] = lambda xs, p, w: torch.nn.Threshold(p["alpha"], 0.0)(xs[0])
REFERENCES["scaled_hardsigmoid"] = lambda xs, p, w: torch.nn.functional.hardtanh(
    p["alpha"] * xs[0] + p["beta"], 0.0, 1.0
)


def _pool(p: dict[str, Any]) -> dict[str, Any]:
    names = ("kernel_size", "stride", "padding", "ceil_mode", "dilation", "count_include_pad")
    return {k: p[k] for k in names if k in p}

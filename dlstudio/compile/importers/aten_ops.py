"""ATen operations -> the torch functions and tensor methods with the same meaning, so the
mappers written for torch.fx graphs (:mod:`.torch_functions`) serve ``torch.export`` graphs too."""

from __future__ import annotations

import operator
from typing import Any

import torch
from torch.nn import functional as F

aten = torch.ops.aten


def _index(dim: int, item: Any) -> Any:
    return item if dim == 0 else (*(slice(None),) * dim, item)


def translate(target: Any, args: tuple, kwargs: dict) -> tuple[Any, tuple, dict]:
    """The torch function (or method name) with the meaning of an ATen operation, and its
    arguments; the ATen op itself when there is none (it becomes a named placeholder)."""
    simple = _SAME.get(target)
    if simple is not None:
        return simple, args, kwargs
    if target in (aten.add.Tensor, aten.add_.Tensor) and kwargs.get("alpha", 1) == 1:
        return operator.add, args[:2], {}
    if target in (aten.mul.Tensor, aten.mul_.Tensor):
        return operator.mul, args, kwargs
    if target in (aten.hardtanh.default, aten.hardtanh_.default) and tuple(args[1:3]) == (0.0, 6.0):
        return F.relu6, args[:1], {}
    if target in (aten.softmax.int, aten._softmax.default):
        return torch.softmax, args[:2], {}
    if target in (aten.log_softmax.int, aten._log_softmax.default):
        return torch.log_softmax, args[:2], {}
    if target is aten.dropout.default:
        return F.dropout, (args[0],), {"p": args[1]}
    if target is aten.gelu.default:
        return F.gelu, args[:1], {"approximate": kwargs.get("approximate", "none")}
    if target is aten.mean.dim:
        dims = args[1]
        keepdim = args[2] if len(args) > 2 else kwargs.get("keepdim", False)
        return (
            torch.mean,
            (args[0], tuple(dims) if len(dims) > 1 else dims[0]),
            ({"keepdim": True} if keepdim else {}),
        )
    if target is aten.select.int:
        return operator.getitem, (args[0], _index(args[1], args[2])), {}
    if target is aten.slice.Tensor:
        dim = args[1] if len(args) > 1 else 0
        start = args[2] if len(args) > 2 else None
        end = args[3] if len(args) > 3 else None
        step = args[4] if len(args) > 4 else 1
        if start in (0, None) and (end is None or end >= 2**62) and step == 1:
            return "contiguous", args[:1], {}  # x[:, :] is x
        return operator.getitem, (args[0], _index(dim, slice(start, end, step))), {}
    if target is aten.expand.default:
        return "expand", (args[0], *args[1]), {}
    if target is aten.repeat.default:
        return "repeat", (args[0], *args[1]), {}
    if target in (aten.view.default, aten.reshape.default, aten._unsafe_view.default):
        return torch.reshape, (args[0], tuple(args[1])), {}
    if target in (aten.relu6.default, aten.relu6_.default):
        return F.relu6, args[:1], {}
    if target is aten.max_pool2d.default:
        return F.max_pool2d, args, kwargs
    if target is aten.avg_pool2d.default:
        return F.avg_pool2d, args, kwargs
    if target in (aten.split.Tensor, aten.split_with_sizes.default):
        return torch.split, args, kwargs
    if target is aten.scaled_dot_product_attention.default:
        return F.scaled_dot_product_attention, args, kwargs
    if target in (aten.sub.Tensor, aten.sub_.Tensor) and kwargs.get("alpha", 1) == 1:
        return operator.sub, args[:2], {}
    if target is aten.rsub.Scalar and kwargs.get("alpha", 1) == 1:
        return operator.sub, (args[1], args[0]), {}
    if target in (aten.div.Tensor, aten.div_.Tensor):
        return operator.truediv, args, kwargs
    if target in (aten.sum.dim_IntList, aten.amax.default):
        function = torch.sum if target is aten.sum.dim_IntList else torch.amax
        keepdim = args[2] if len(args) > 2 else kwargs.get("keepdim", False)
        return function, (args[0], tuple(args[1])), {"keepdim": keepdim}
    if target is aten.chunk.default:
        return torch.chunk, args, kwargs
    if target is aten.unbind.int:
        return torch.unbind, args, kwargs
    if target in (aten.swapaxes.default, aten.swapdims.default):
        return torch.transpose, args, kwargs
    if target is aten.einsum.default:
        return torch.einsum, (args[0], *args[1]), {}
    if target is aten.matmul.default:
        return torch.matmul, args, kwargs
    if target is aten.reshape_as.default:
        return "reshape_as", args, kwargs
    if target is aten.pad.default:
        mode = args[2] if len(args) > 2 else kwargs.get("mode", "constant")
        value = args[3] if len(args) > 3 else kwargs.get("value")
        return F.pad, (args[0], tuple(args[1])), {"mode": mode, "value": value or 0.0}
    if target is aten.constant_pad_nd.default:
        value = args[2] if len(args) > 2 else kwargs.get("value", 0.0)
        return F.pad, (args[0], tuple(args[1])), {"mode": "constant", "value": value}
    if target is aten.adaptive_avg_pool2d.default:
        return F.adaptive_avg_pool2d, args[:2], {}
    return target, args, kwargs


_SAME: dict[Any, Any] = {
    aten.relu.default: torch.relu,
    aten.relu_.default: torch.relu,
    aten.sigmoid.default: torch.sigmoid,
    aten.tanh.default: torch.tanh,
    aten.silu.default: F.silu,
    aten.silu_.default: F.silu,
    aten.hardswish.default: F.hardswish,
    aten.hardswish_.default: F.hardswish,
    aten.hardsigmoid.default: F.hardsigmoid,
    aten.flatten.using_ints: torch.flatten,
    aten.permute.default: torch.permute,
    aten.transpose.int: torch.transpose,
    aten.cat.default: torch.cat,
    aten.unsqueeze.default: torch.unsqueeze,
    aten.contiguous.default: "contiguous",
    aten.clone.default: "contiguous",
    aten.alias.default: "contiguous",
    aten.detach.default: "contiguous",
    aten.leaky_relu.default: F.leaky_relu,
}

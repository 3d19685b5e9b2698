"""Reductions over dimensions (sum, mean, max, min) and Einsum in its matrix-product forms."""

from __future__ import annotations

import re
from math import prod

from dlstudio.core.tensor_spec import Dim, TensorSpec
from dlstudio.layers.registry import register
from dlstudio.layers.rules import same_dtype
from dlstudio.layers.spec import (
    Fix,
    LayerType,
    ParamSpec,
    PortSpec,
    ShapeContext,
    ShapeResult,
    StatContext,
    shape_text,
)

REDUCTIONS = ("sum", "mean", "max", "min", "prod", "l1", "l2", "sum_square", "log_sum", "logsumexp")
_FLOAT_ONLY = ("mean", "l2", "log_sum", "logsumexp")
"""Reductions whose result is not a whole number (or that torch computes on floats only)."""


def _reduce_shape(ctx: ShapeContext) -> ShapeResult:
    x = ctx.input()
    dims = []
    for dim in ctx["dims"]:
        if not -x.rank <= dim < x.rank:
            raise ctx.fail(
                f"reduces over dims {tuple(ctx['dims'])}, but {dim} is not a dimension of the "
                f"{x.rank}-D input {shape_text(x)} ({-x.rank}..{x.rank - 1})"
            )
        dims.append(dim % x.rank)
    if len(set(dims)) != len(dims):
        raise ctx.fail(f"lists a dimension twice in dims {tuple(ctx['dims'])}")
    if 0 in dims and x.shape[0] == "N":
        raise ctx.fail(
            f"reduces over the batch dimension (0) of {shape_text(x)}; it works on each "
            "example: use dimensions from 1 on"
        )
    if ctx["op"] == "prod" and len(dims) != 1:
        raise ctx.fail(
            f"multiplies over {len(dims)} dimensions {tuple(ctx['dims'])}; prod takes one"
        )
    if ctx["op"] in _FLOAT_ONLY and not x.is_float:
        raise ctx.fail(
            f"computes the {ctx['op']} of {x.dtype} values",
            Fix.insert(f"insert a Cast to float32 before {ctx.name}", "cast", dtype="float32"),
        )
    if ctx["keepdim"]:
        shape = tuple(1 if i in dims else d for i, d in enumerate(x.shape))
    else:
        shape = tuple(d for i, d in enumerate(x.shape) if i not in dims)
    dtype = "int64" if ctx["op"] == "sum" and x.dtype == "bool" else x.dtype
    return ShapeResult({"out": TensorSpec(shape, dtype)})


register(
    LayerType(
        id="reduce",
        label="Reduce",
        category="Pooling",
        summary="Sum, mean, max, min, product or a norm over the given dimensions.",
        explanation=(
            "Combines the values along `dims` into one: their sum, mean, maximum, minimum, "
            "product (prod, over one dimension), sum of absolute values (l1), Euclidean norm "
            "(l2), sum of squares (sum_square), log of the sum (log_sum) or log of the sum of "
            "exponentials (logsumexp, the smooth maximum). "
            "keepdim leaves those dimensions in place with size 1, so the result broadcasts "
            "against the input (squeeze-and-excitation's channel means, a variance by hand). "
            "The batch dimension is never reduced."
        ),
        formula="y = op over dims of x",
        infer=_reduce_shape,
        count_macs=lambda ctx: prod(ctx.in_shape()),
        params=(
            ParamSpec("op", "choice", "mean", "The reduction.", choices=REDUCTIONS),
            ParamSpec("dims", "dims", (-1,), "Dimensions to reduce over."),
            ParamSpec("keepdim", "bool", False, "Keep reduced dimensions with size 1."),
        ),
        name_prefix="reduce",
        key_params=("op", "dims"),
    )
)


# ------------------------------------------------------------------------ einsum
_EQUATION = re.compile(r"^([a-z]+),([a-z]+)->([a-z]*)$")


def _einsum_shape(ctx: ShapeContext) -> ShapeResult:
    equation = ctx["equation"].replace(" ", "")
    match = _EQUATION.match(equation)
    if match is None:
        raise ctx.fail(
            f"equation {ctx['equation']!r} must read like 'bij,bjk->bik': two operands of "
            "lower-case letters, then -> and the result's letters"
        )
    a, b = ctx.input("in1"), ctx.input("in2")
    same_dtype(ctx, [("in1", a), ("in2", b)])
    sizes: dict[str, Dim] = {}
    for port, spec, letters in (("in1", a, match[1]), ("in2", b, match[2])):
        if len(letters) != spec.rank:
            raise ctx.fail(
                f"names {len(letters)} dimensions of {port} ({letters!r}), but {port} is "
                f"{shape_text(spec)} with {spec.rank}",
                port=port,
            )
        for letter, size in zip(letters, spec.shape, strict=True):
            if sizes.setdefault(letter, size) != size:
                raise ctx.fail(
                    f"equation {equation!r} gives {letter!r} the sizes {sizes[letter]} and "
                    f"{size} (in1 {shape_text(a)}, in2 {shape_text(b)}); they must be equal",
                    port=port,
                )
    out = match[3]
    unknown = sorted(set(out) - set(sizes))
    if unknown or len(set(out)) != len(out):
        raise ctx.fail(
            f"equation {equation!r}: the result's letters must each appear once in "
            f"the operands (not {', '.join(unknown) or 'twice'})"
        )
    if a.shape[0] == "N" and not (out and sizes[out[0]] == "N"):
        raise ctx.fail(
            f"equation {equation!r} must keep the batch first: the result's first letter "
            f"must be in1's first ({match[1][0]!r})"
        )
    return ShapeResult({"out": TensorSpec(tuple(sizes[letter] for letter in out), a.dtype)})


def _einsum_macs(ctx: StatContext) -> int:
    """One MAC per combination of every letter's values."""
    sizes: dict[str, int] = {}
    match = _EQUATION.match(ctx["equation"].replace(" ", ""))
    if match is None:
        return 0
    for letters, shape in ((match[1], ctx.in_shape("in1")), (match[2], ctx.in_shape("in2"))):
        sizes.update(zip(letters, shape, strict=True))
    return prod(sizes.values())


register(
    LayerType(
        id="einsum",
        label="Einsum",
        category="Merge",
        summary="A product of two tensors written as an equation, e.g. 'bhqd,bhkd->bhqk'.",
        explanation=(
            "Multiplies two tensors and sums over the letters that the result leaves out, as "
            "torch.einsum: 'bij,bjk->bik' is a batched matrix product, 'bhqd,bhkd->bhqk' the "
            "attention scores of every head. Each letter names one dimension and must have "
            "one size; the result's first letter is the batch."
        ),
        formula="y[out] = sum over the other letters of in1[...] * in2[...]",
        infer=_einsum_shape,
        count_macs=_einsum_macs,
        inputs=(PortSpec("in1"), PortSpec("in2")),
        params=(ParamSpec("equation", "str", "bij,bjk->bik", "Operands' and result's letters."),),
        name_prefix="einsum",
        key_params=("equation",),
    )
)

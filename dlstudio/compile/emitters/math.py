"""Value-by-value math, constants, Cast, Where, reductions, Einsum and Resize, written as the
torch functions and tensor methods a person would use."""

from __future__ import annotations

from dlstudio.compile.emitters.base import Emission, EmitContext, call, lit

_TORCH_FUNCTIONS = {"exp", "log", "sqrt", "rsqrt", "erf", "sin", "cos", "abs", "reciprocal"}
_TORCH_FUNCTIONS |= {"tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh"}
_TORCH_FUNCTIONS |= {"sign", "floor", "ceil", "round"}


def math(ctx: EmitContext) -> Emission:
    """``torch.exp(x)``, ``-x``, ``x.pow(2.0)``, ``x.clamp(min=0.0)``."""
    x, function = ctx.arg(), ctx["function"]
    if function == "neg":
        return Emission(f"-{x}")
    if function == "pow":
        return Emission(f"{x}.pow({lit(ctx['exponent'])})")
    if function == "clamp":
        limits = {k: lit(ctx[k]) for k in ("min", "max") if ctx[k] is not None}
        return Emission(call(f"{x}.clamp", **limits))
    assert function in _TORCH_FUNCTIONS, function
    return Emission(f"torch.{function}({x})")


def constant_op(ctx: EmitContext) -> Emission:
    """``x * 0.125``, ``1.0 - x``: the operator with the constant written in."""
    left, symbol, right = ctx["op"].split()  # one of the catalogue's "x + c" forms
    operands = {"x": ctx.arg(), "c": lit(ctx["value"])}
    return Emission(f"{operands[left]} {symbol} {operands[right]}")


def cast(ctx: EmitContext) -> Emission:
    """``x.to(torch.float16)``."""
    return Emission(f"{ctx.arg()}.to(torch.{ctx['dtype']})")


def where(ctx: EmitContext) -> Emission:
    """``torch.where(condition, a, b)``."""
    return Emission(call("torch.where", ctx.arg("condition"), ctx.arg("in1"), ctx.arg("in2")))


_REDUCE_METHODS = {"sum": "sum", "mean": "mean", "max": "amax", "min": "amin", "prod": "prod"}


def reduce(ctx: EmitContext) -> Emission:
    """``x.mean(dim=(2, 3), keepdim=True)``; max and min are ``amax``/``amin`` (values only);
    the norms as the expressions that define them (``x.abs().sum(...)``)."""
    dims, op, x = tuple(ctx["dims"]), ctx["op"], ctx.arg()
    kwargs = {"dim": lit(dims[0]) if len(dims) == 1 else lit(dims)}
    if ctx["keepdim"]:
        kwargs["keepdim"] = lit(ctx["keepdim"])
    if op == "l2":
        return Emission(call("torch.linalg.vector_norm", x, **kwargs))
    if op == "logsumexp":
        return Emission(call("torch.logsumexp", x, **kwargs))
    if op == "l1":
        return Emission(call(f"{x}.abs().sum", **kwargs))
    if op == "sum_square":
        return Emission(call(f"{x}.square().sum", **kwargs))
    if op == "log_sum":
        return Emission(call(f"{x}.sum", **kwargs) + ".log()")
    return Emission(call(f"{x}.{_REDUCE_METHODS[op]}", **kwargs))


def einsum(ctx: EmitContext) -> Emission:
    """``torch.einsum("bij,bjk->bik", a, b)``."""
    equation = lit(ctx["equation"].replace(" ", ""))
    return Emission(call("torch.einsum", equation, ctx.arg("in1"), ctx.arg("in2")))


def resize(ctx: EmitContext) -> Emission:
    """``F.interpolate(x, scale_factor=2.0)`` (or ``size=``), with the mode torch names."""
    mode = ctx["mode"]
    if mode == "linear":
        mode = {3: "linear", 4: "bilinear", 5: "trilinear"}[ctx.inputs["in"].rank]
    kwargs = {}
    if ctx["size"] is not None:
        size = tuple(ctx["size"])
        kwargs["size"] = lit(size[0]) if len(size) == 1 else lit(size)
    else:
        kwargs["scale_factor"] = lit(ctx["scale_factor"])
    if mode != "nearest":
        kwargs["mode"] = lit(mode)
    if ctx["align_corners"]:
        kwargs["align_corners"] = lit(ctx["align_corners"])
    return Emission(call("F.interpolate", ctx.arg(), **kwargs))


EMITTERS = {
    "math": math,
    "constant_op": constant_op,
    "cast": cast,
    "where": where,
    "reduce": reduce,
    "einsum": einsum,
    "resize": resize,
}

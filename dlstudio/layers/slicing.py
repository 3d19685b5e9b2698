"""Taking tensors apart and changing their dimensions: Split, Slice, Squeeze, Unsqueeze,
Transpose, Expand and Tile."""

from __future__ import annotations

from dlstudio.core.tensor_spec import Dim, TensorSpec
from dlstudio.layers.registry import register
from dlstudio.layers.rules import add_dim, mul_dims
from dlstudio.layers.spec import (
    MAX_PORTS,
    Fix,
    LayerType,
    ParamSpec,
    PortSpec,
    ShapeContext,
    ShapeResult,
    shape_text,
)


def axis(ctx: ShapeContext, x: TensorSpec, param: str, extra: int = 0) -> int:
    """Parameter ``param`` as a dimension of ``x`` counted from 0 (negative counts from the
    end; ``extra`` positions past the end are allowed, as Unsqueeze's). The batch axis is
    refused: these layers work on each example."""
    dim, rank = ctx[param], x.rank + extra
    if not -rank <= dim < rank:
        raise ctx.fail(
            f"has {param}={dim}, but the {x.rank}-D input {shape_text(x)} allows "
            f"{-rank}..{rank - 1}"
        )
    dim %= rank
    if dim == 0 and x.shape and x.shape[0] == "N":
        raise ctx.fail(
            f"has {param}={ctx[param]}, the batch dimension of {shape_text(x)}; it works on "
            "each example: use a dimension from 1 on"
        )
    return dim


def _dim_param(name: str, default: int, text: str) -> ParamSpec:
    return ParamSpec(name, "int", default, text, minimum=-8, maximum=8)


# ------------------------------------------------------------------------ split
def _split_sizes(ctx: ShapeContext, x: TensorSpec, dim: int) -> list[int]:
    pieces, sizes, size = ctx["outputs"], ctx["sizes"], x.shape[dim]
    if sizes is not None:
        if len(sizes) != pieces:
            raise ctx.fail(
                f"lists {len(sizes)} sizes {tuple(sizes)} but has {pieces} outputs",
                Fix.set_param(f"set outputs to {len(sizes)}", "outputs", len(sizes)),
            )
        if any(s < 1 for s in sizes):
            raise ctx.fail(f"sizes {tuple(sizes)} must each be at least 1")
    if not isinstance(size, int):
        raise ctx.fail(
            f"splits dimension {dim} of {shape_text(x)}, whose size {size} is not fixed; "
            "split a dimension of fixed size"
        )
    if sizes is not None:
        if sum(sizes) != size:
            raise ctx.fail(
                f"sizes {tuple(sizes)} add up to {sum(sizes)}, but dimension {dim} of "
                f"{shape_text(x)} is {size}"
            )
        return list(sizes)
    chunk = -(-size // pieces)  # torch.chunk: pieces of ceil(size / k), the last smaller
    last = size - chunk * (pieces - 1)
    if last < 1:
        raise ctx.fail(
            f"cannot cut dimension {dim} of {shape_text(x)} (size {size}) into {pieces} "
            f"pieces of {chunk}: set outputs to at most {-(-size // chunk)} or give sizes"
        )
    return [chunk] * (pieces - 1) + [last]


def _split_shape(ctx: ShapeContext) -> ShapeResult:
    x = ctx.input()
    dim = axis(ctx, x, "dim")
    sizes = _split_sizes(ctx, x, dim)
    outputs = {}
    for i, size in enumerate(sizes, start=1):
        shape = list(x.shape)
        shape[dim] = size
        outputs[f"out{i}"] = x.with_shape(tuple(shape))
    return ShapeResult(outputs)


register(
    LayerType(
        id="split",
        label="Split",
        category="Reshape",
        summary="Cuts a tensor into pieces along a dimension: one output per piece.",
        explanation=(
            "Cuts the input along `dim` into `outputs` pieces, in order: of the given `sizes`, "
            "or, without sizes, as torch.chunk does (pieces of ceil(size / outputs), the last "
            "one smaller when the size does not divide). GPT-2 projects each position once to "
            "3 x d features and splits them into queries, keys and values."
        ),
        formula="out1, out2, ... = x.split(sizes, dim)  (or x.chunk(outputs, dim))",
        infer=_split_shape,
        params=(
            ParamSpec(
                "outputs", "int", 2, "Number of pieces (output ports).", minimum=2, maximum=64
            ),
            _dim_param("dim", -1, "Dimension to cut (-1 = last)."),
            ParamSpec(
                "sizes",
                "dims",
                None,
                "Size of each piece; empty cuts equal pieces (torch.chunk).",
                optional=True,
            ),
        ),
        outputs=(PortSpec("out1"), PortSpec("out2")),
        variadic_outputs="outputs",
        name_prefix="split",
        key_params=("outputs", "dim"),
    )
)
assert MAX_PORTS >= 64


# ------------------------------------------------------------------------ slice
def _slice_length(ctx: ShapeContext, size: Dim, dim: int, x: TensorSpec) -> Dim:
    start, end, step = ctx["start"], ctx["end"], ctx["step"]
    if isinstance(size, int):
        length = len(range(size)[slice(start, end, step)])
        if length < 1:
            raise ctx.fail(
                f"takes [{_slice_text(start, end, step)}] of dimension {dim} of "
                f"{shape_text(x)} (size {size}), which is empty"
            )
        return length
    # A symbolic length: the forms whose size is an expression of it (the rest need numbers).
    if step == 1 and start >= 0 and (end is None or end < 0):
        return add_dim(size, -start + (end or 0))
    if step == 1 and start < 0 and end is None:
        return -start
    raise ctx.fail(
        f"takes [{_slice_text(start, end, step)}] of dimension {dim} of {shape_text(x)}, whose "
        f"size {size} is not fixed; with a free size only [a:], [a:-b] and [-a:] are known"
    )


def _slice_text(start: int, end: int | None, step: int) -> str:
    text = f"{start or ''}:{'' if end is None else end}"
    return text + (f":{step}" if step != 1 else "")


def _slice_shape(ctx: ShapeContext) -> ShapeResult:
    x = ctx.input()
    dim = axis(ctx, x, "dim")
    shape = list(x.shape)
    shape[dim] = _slice_length(ctx, x.shape[dim], dim, x)
    return ShapeResult({"out": x.with_shape(tuple(shape))})


register(
    LayerType(
        id="slice",
        label="Slice",
        category="Reshape",
        summary="Keeps a range of one dimension, as x[..., start:end:step].",
        explanation=(
            "Keeps the positions start, start + step, ... before end along `dim`, as Python "
            "slicing does: negative start or end count from the end, an empty end means to "
            "the end. Language models drop the last step of their predictions with [:-1]; "
            "strided slices take every other position."
        ),
        formula="y = x[:, ..., start:end:step]  (along dim)",
        infer=_slice_shape,
        params=(
            _dim_param("dim", 1, "Dimension to slice."),
            ParamSpec(
                "start", "int", 0, "First position (negative: from the end).", minimum=-(2**31)
            ),
            ParamSpec(
                "end",
                "int",
                None,
                "Position to stop before (negative: from the end); empty: to the end.",
                optional=True,
                minimum=-(2**31),
            ),
            ParamSpec("step", "int", 1, "Distance between kept positions.", minimum=1),
        ),
        name_prefix="slice",
        key_params=("dim", "start", "end"),
    )
)


# ----------------------------------------------------------- squeeze, unsqueeze
def _squeeze_shape(ctx: ShapeContext) -> ShapeResult:
    x = ctx.input()
    dim = axis(ctx, x, "dim")
    if x.shape[dim] != 1:
        raise ctx.fail(
            f"removes dimension {dim} of {shape_text(x)}, which must have size 1 but has "
            f"{x.shape[dim]}"
        )
    return ShapeResult({"out": x.with_shape(x.shape[:dim] + x.shape[dim + 1 :])})


register(
    LayerType(
        id="squeeze",
        label="Squeeze",
        category="Reshape",
        summary="Removes a dimension of size 1: (N, C, 1) -> (N, C).",
        explanation=(
            "Drops dimension `dim`, which must have size 1; the values are unchanged. Undoes "
            "Unsqueeze, e.g. after a pooling that left a length of 1."
        ),
        formula="y = x.squeeze(dim)",
        infer=_squeeze_shape,
        params=(_dim_param("dim", -1, "Dimension of size 1 to remove."),),
        name_prefix="squeeze",
        key_params=("dim",),
    )
)


def _unsqueeze_shape(ctx: ShapeContext) -> ShapeResult:
    x = ctx.input()
    dim = axis(ctx, x, "dim", extra=1)
    return ShapeResult({"out": x.with_shape((*x.shape[:dim], 1, *x.shape[dim:]))})


register(
    LayerType(
        id="unsqueeze",
        label="Unsqueeze",
        category="Reshape",
        summary="Inserts a dimension of size 1: (N, C) -> (N, C, 1).",
        explanation=(
            "Adds a dimension of size 1 at position `dim` (negative counts from the end of the "
            "result), so a tensor broadcasts against a bigger one: an attention mask (N, T) "
            "becomes (N, 1, 1, T) to cover every head and query."
        ),
        formula="y = x.unsqueeze(dim)",
        infer=_unsqueeze_shape,
        params=(_dim_param("dim", -1, "Position of the new dimension in the result."),),
        name_prefix="unsqueeze",
        key_params=("dim",),
    )
)


# --------------------------------------------------------------------- transpose
def _transpose_shape(ctx: ShapeContext) -> ShapeResult:
    x = ctx.input()
    a, b = axis(ctx, x, "dim0"), axis(ctx, x, "dim1")
    shape = list(x.shape)
    shape[a], shape[b] = shape[b], shape[a]
    return ShapeResult({"out": x.with_shape(tuple(shape))})


register(
    LayerType(
        id="transpose",
        label="Transpose",
        category="Reshape",
        summary="Swaps two dimensions, e.g. keys (N, H, T, D) -> (N, H, D, T).",
        explanation=(
            "Exchanges dimensions dim0 and dim1 and leaves the others in place; Permute "
            "reorders them all. Attention multiplies queries by transposed keys."
        ),
        formula="y = x.transpose(dim0, dim1)",
        infer=_transpose_shape,
        params=(
            _dim_param("dim0", -2, "One dimension to swap."),
            _dim_param("dim1", -1, "The other dimension."),
        ),
        name_prefix="transpose",
        key_params=("dim0", "dim1"),
    )
)


# ------------------------------------------------------------------------ expand
def _expand_shape(ctx: ShapeContext) -> ShapeResult:
    x, target = ctx.input(), list(ctx["shape"])
    like = ctx.inputs.get("like")
    if len(target) < x.rank:
        raise ctx.fail(
            f"shape {tuple(target)} has {len(target)} sizes, fewer than the {x.rank} "
            f"dimensions of {shape_text(x)}"
        )
    new = len(target) - x.rank
    result: list[Dim] = []
    for i, want in enumerate(target):
        have = x.shape[i - new] if i >= new else None
        if i == 0 and like is not None:
            if have not in (None, 1):
                raise ctx.fail(
                    f"takes its first size from like's batch, so the input's first size must "
                    f"be 1, but {shape_text(x)} has {have}"
                )
            result.append(like.shape[0])
        elif want == -1 and have is not None:
            result.append(have)
        elif want < 1:
            raise ctx.fail(f"shape {tuple(target)}: sizes must be at least 1, or -1 to keep one")
        elif have in (None, 1, want):
            result.append(want)
        else:
            raise ctx.fail(
                f"cannot expand {shape_text(x)} to {tuple(target)}: dimension {i - new} has "
                f"size {have}, and only sizes of 1 can grow (use -1 to keep it)"
            )
    return ShapeResult({"out": x.with_shape(tuple(result))})


register(
    LayerType(
        id="expand",
        label="Expand",
        category="Reshape",
        summary="Repeats dimensions of size 1 to a bigger size without copying.",
        explanation=(
            "Gives each size-1 dimension the size in `shape` (-1 keeps a dimension as it is; "
            "extra leading sizes add dimensions), showing the same values many times without "
            "copying them. With a tensor wired to `like`, the first size is like's batch size: "
            "ViT expands its learned class token (1, 1, D) to (N, 1, D)."
        ),
        formula="y = x.expand(*shape)",
        infer=_expand_shape,
        inputs=(
            PortSpec("in"),
            PortSpec("like", "Optional: a tensor whose batch size the first size takes.", True),
        ),
        params=(ParamSpec("shape", "dims", (-1, -1), "Target sizes; -1 keeps a dimension."),),
        name_prefix="expand",
        key_params=("shape",),
    )
)


# -------------------------------------------------------------------------- tile
def _tile_shape(ctx: ShapeContext) -> ShapeResult:
    x, repeats = ctx.input(), list(ctx["repeats"])
    if len(repeats) < x.rank or any(r < 1 for r in repeats):
        raise ctx.fail(
            f"repeats {tuple(repeats)} needs one count of at least 1 per dimension of "
            f"{shape_text(x)} ({x.rank})"
        )
    shape = (1,) * (len(repeats) - x.rank) + x.shape
    return ShapeResult(
        {"out": x.with_shape(tuple(mul_dims([d, r]) for d, r in zip(shape, repeats, strict=True)))}
    )


register(
    LayerType(
        id="tile",
        label="Tile",
        category="Reshape",
        summary="Repeats the whole tensor along each dimension (torch's repeat).",
        explanation=(
            "Lays `repeats[i]` copies of the input side by side along each dimension i, batch "
            "included (1 keeps a dimension); extra leading counts add dimensions. Unlike "
            "Expand it copies the values and any size can be repeated."
        ),
        formula="y = x.repeat(*repeats)",
        infer=_tile_shape,
        params=(ParamSpec("repeats", "dims", (1, 2), "Copies along each dimension."),),
        name_prefix="tile",
        key_params=("repeats",),
    )
)

"""Reshaping: Flatten, Reshape, Permute and RepeatVector."""

from __future__ import annotations

from math import prod

from dlstudio.layers.registry import register
from dlstudio.layers.rules import mul_dims
from dlstudio.layers.spec import (
    LayerType,
    ParamSpec,
    ShapeContext,
    ShapeResult,
    shape_text,
)


def _normal_dim(ctx: ShapeContext, dim: int, rank: int, what: str) -> int:
    if not -rank <= dim < rank:
        raise ctx.fail(f"has {what}={dim} but the input has {rank} dimensions")
    return dim % rank


def _flatten_shape(ctx: ShapeContext) -> ShapeResult:
    x = ctx.input()
    start = _normal_dim(ctx, ctx["start_dim"], x.rank, "start_dim")
    end = _normal_dim(ctx, ctx["end_dim"], x.rank, "end_dim")
    if start > end:
        raise ctx.fail(f"has start_dim {ctx['start_dim']} after end_dim {ctx['end_dim']}")
    merged = mul_dims(x.shape[start : end + 1])
    return ShapeResult({"out": x.with_shape((*x.shape[:start], merged, *x.shape[end + 1 :]))})


register(
    LayerType(
        id="flatten",
        label="Flatten",
        category="Reshape",
        summary="Joins dimensions into one: (N, 16, 5, 5) -> (N, 400).",
        explanation=(
            "Lays the values of each example out as one vector so a Dense layer can take them, as "
            "between the convolutional and the fully connected part of LeNet. No parameters; the "
            "values are unchanged, only the shape."
        ),
        formula="y = x.reshape(N, -1)",
        infer=_flatten_shape,
        params=(
            ParamSpec(
                "start_dim",
                "int",
                1,
                "First dimension to merge (1 keeps the batch).",
                minimum=-8,
                maximum=8,
            ),
            ParamSpec("end_dim", "int", -1, "Last dimension to merge.", minimum=-8, maximum=8),
        ),
        name_prefix="flatten",
    )
)


def _reshape_shape(ctx: ShapeContext) -> ShapeResult:
    x = ctx.input()
    target = list(ctx["shape"])
    if any(isinstance(d, str) for d in target):
        raise ctx.fail("takes numbers only in its target shape (use -1 for one inferred size)")
    if any(d == 0 or d < -1 for d in target) or target.count(-1) > 1:
        raise ctx.fail(f"target {tuple(target)} must hold sizes >= 1 and at most one -1")
    rest = x.shape[1:]
    if all(isinstance(d, int) for d in rest):
        total = prod(rest)  # type: ignore[arg-type]
        known = prod(d for d in target if d != -1)
        if -1 in target:
            if total % known:
                raise ctx.fail(
                    f"cannot reshape {shape_text(x)} ({total} values per example) "
                    f"to {tuple(target)}: {total} is not divisible by {known}"
                )
            target[target.index(-1)] = total // known
        elif known != total:
            raise ctx.fail(
                f"cannot reshape {shape_text(x)} ({total} values per example) to "
                f"{tuple(target)} ({known} values)"
            )
    elif -1 in target:
        # The symbolic sizes stay whole: -1 is their product times what the fixed sizes leave.
        static = prod(d for d in rest if isinstance(d, int))
        known = prod(d for d in target if d != -1)
        if static % known:
            raise ctx.fail(
                f"cannot infer -1 in {tuple(ctx['shape'])} from the symbolic input "
                f"{shape_text(x)}: its fixed sizes ({static} values) are not divisible by {known}"
            )
        symbols = [d for d in rest if not isinstance(d, int)]
        target[target.index(-1)] = mul_dims([*symbols, static // known])
    return ShapeResult({"out": x.with_shape((x.shape[0], *target))})


register(
    LayerType(
        id="reshape",
        label="Reshape",
        category="Reshape",
        summary="Gives each example a new shape with the same number of values.",
        explanation=(
            "Re-reads the values of each example in a new shape, e.g. a 784-vector as a 1x28x28 "
            "image. The batch dimension is kept; one size may be -1 and is inferred."
        ),
        formula="y = x.reshape(N, *shape)",
        infer=_reshape_shape,
        params=(
            ParamSpec(
                "shape", "dims", (1, 28, 28), "Target shape without the batch; one entry may be -1."
            ),
        ),
        name_prefix="reshape",
        key_params=("shape",),
    )
)


def _permute_shape(ctx: ShapeContext) -> ShapeResult:
    x = ctx.input()
    dims = ctx["dims"]
    if sorted(dims) != list(range(x.rank)):
        raise ctx.fail(
            f"dims {tuple(dims)} must be an ordering of 0..{x.rank - 1} for the "
            f"{x.rank}-D input {shape_text(x)}"
        )
    return ShapeResult({"out": x.with_shape(tuple(x.shape[d] for d in dims))})


register(
    LayerType(
        id="permute",
        label="Permute",
        category="Reshape",
        summary="Reorders dimensions, e.g. (N, C, T) -> (N, T, C).",
        explanation=(
            "Swaps axes without changing values: move channels last to feed a sequence layer, or "
            "time to the channel axis for Conv1d. dims lists the input dimension for each output "
            "position, batch included (0)."
        ),
        formula="y = x.permute(*dims)",
        infer=_permute_shape,
        params=(
            ParamSpec(
                "dims", "dims", (0, 2, 1), "New order of the dimensions, batch (0) included."
            ),
        ),
        name_prefix="permute",
        key_params=("dims",),
    )
)


def _repeat_shape(ctx: ShapeContext) -> ShapeResult:
    x = ctx.input()
    if x.rank != 2:
        raise ctx.fail(
            f"needs a vector per example (N, features) but gets {shape_text(x)}; "
            "an LSTM before it should return only its last step"
        )
    return ShapeResult({"out": x.with_shape((x.shape[0], ctx["times"], x.shape[1]))})


register(
    LayerType(
        id="repeat_vector",
        label="RepeatVector",
        category="Reshape",
        summary="Repeats a vector T times: (N, F) -> (N, T, F), to feed a decoder RNN.",
        explanation=(
            "In the classic encoder-decoder, the encoder LSTM's last output summarises the input; "
            "RepeatVector copies it to every output time step so the decoder LSTM can unroll the "
            "answer from it, one step per output symbol."
        ),
        formula="y[:, t, :] = x  for t = 1..times",
        infer=_repeat_shape,
        params=(
            ParamSpec(
                "times",
                "int",
                4,
                "Number of time steps (output length).",
                minimum=1,
                maximum=100_000,
            ),
        ),
        name_prefix="repeat",
        key_params=("times",),
    )
)


def _identity_shape(ctx: ShapeContext) -> ShapeResult:
    return ShapeResult({"out": ctx.input()})


register(
    LayerType(
        id="identity",
        label="Identity",
        category="Reshape",
        summary="Passes its input through unchanged.",
        explanation=(
            "Returns its input as it is. Imported models use it where a layer was switched off "
            "(torchvision's heads replaced by nn.Identity for feature extraction), and it keeps "
            "a named place in a drawing for a layer you mean to add later."
        ),
        formula="y = x",
        infer=_identity_shape,
        name_prefix="identity",
    )
)

"""Sequence reductions (SelectStep, MeanOverTime) and the sequence-input check shared by the
recurrent and attention layers."""

from __future__ import annotations

from math import prod

from dlstudio.core.tensor_spec import TensorSpec
from dlstudio.layers.registry import register
from dlstudio.layers.rules import is_float, mul_dims
from dlstudio.layers.spec import (
    Fix,
    LayerType,
    ParamSpec,
    ShapeContext,
    ShapeResult,
    StatContext,
    shape_text,
)


def sequence_input(ctx: ShapeContext, port: str = "in", from_vector: bool = True) -> TensorSpec:
    """The float sequence ``(N, T, features)`` arriving on ``port``, or a :class:`ShapeError`
    that says how to turn what arrives into one.

    ``from_vector``: offer RepeatVector / Reshape for a vector per example (N, F); right for a
    recurrent layer, not for attention, where a 1-feature sequence is rarely what was meant.
    """
    x = is_float(ctx, port)
    if x.rank == 3:
        return x
    on = "" if port == "in" else f" on {port}"
    wanted = f"needs a sequence (N, T, features){on} but gets {shape_text(x)}"
    if x.rank == 2 and not from_vector:
        raise ctx.fail(
            f"{wanted}, one vector per example: feed it a sequence, such as the output of an "
            "Embedding or of a recurrent layer with return_sequences on",
            port=port,
        )
    if x.rank == 2:
        features = x.shape[1]
        fixes = [Fix.insert(f"insert RepeatVector before {ctx.name}", "repeat_vector", port)]
        hint = f": insert RepeatVector before {ctx.name} to repeat the vector over T time steps"
        if isinstance(features, int):
            fixes.append(
                Fix.insert(
                    f"insert Reshape to ({features}, 1) before {ctx.name}",
                    "reshape",
                    port,
                    shape=(features, 1),
                )
            )
            hint += (
                f", or Reshape to ({features}, 1) to read its {features} features as "
                f"{features} time steps of 1 feature"
            )
        raise ctx.fail(wanted + hint, *fixes, port=port)
    if x.rank > 3:
        flat = (*x.shape[:2], mul_dims(x.shape[2:]))
        raise ctx.fail(
            f"{wanted}: insert Flatten(start_dim=2) before {ctx.name} to make it "
            f"{shape_text(x.with_shape(flat))}, then Permute (0, 2, 1) if the positions rather "
            "than the channels should be the time steps",
            Fix.insert(
                f"insert Flatten(start_dim=2) before {ctx.name}", "flatten", port, start_dim=2
            ),
            port=port,
        )
    raise ctx.fail(f"{wanted}: give each example a time axis and a feature axis", port=port)


def _time_axis_input(ctx: ShapeContext, x: TensorSpec) -> TensorSpec:
    if x.rank < 3:
        raise ctx.fail(
            f"needs a sequence (N, T, features) but gets {shape_text(x)}, which has no time "
            "axis to reduce (it is already one vector per example)"
        )
    return x


def _select_shape(ctx: ShapeContext) -> ShapeResult:
    x = _time_axis_input(ctx, ctx.input())
    steps = x.shape[1]
    if ctx["which"] == "index" and isinstance(steps, int):
        index = ctx["index"]
        if not -steps <= index < steps:
            raise ctx.fail(
                f"has index {index} but the sequence {shape_text(x)} has only {steps} time "
                f"steps (valid indices: {-steps} to {steps - 1}): set index to -1 (the last step)",
                Fix.set_param("set index to -1 (the last step)", "index", -1),
            )
    return ShapeResult({"out": x.with_shape((x.shape[0], *x.shape[2:]))})


register(
    LayerType(
        id="select_step",
        label="SelectStep",
        category="Sequence",
        summary="Keeps one time step of a sequence: (N, T, E) -> (N, E).",
        explanation=(
            "Picks a single position of every sequence: 'last' (x[:, -1]) after a recurrent "
            "layer that returns sequences, 'first' (x[:, 0]) for the class token of BERT or ViT, "
            "or 'index' for x[:, index] (negative indices count from the end). Values are "
            "unchanged; no parameters. For a bidirectional RNN the last step holds the backward "
            "direction's output after only one step, so prefer the RNN's own return_sequences "
            "off (or its state output) there. On a sequence carrying the padding mask of an "
            "Input with a padding id, 'last' is each sequence's last real step."
        ),
        formula="y = x[:, t],  t = 0 (first), -1 (last) or index",
        infer=_select_shape,
        params=(
            ParamSpec(
                "which",
                "choice",
                "last",
                "Which time step to keep: the last, the first, or the one given by index.",
                choices=("last", "first", "index"),
            ),
            ParamSpec(
                "index",
                "int",
                0,
                "The time step kept when which is 'index' (negative counts from the end).",
                minimum=-100_000,
                maximum=100_000,
            ),
        ),
        name_prefix="step",
        key_params=("which",),
    )
)


def _mean_shape(ctx: ShapeContext) -> ShapeResult:
    x = _time_axis_input(ctx, is_float(ctx))
    return ShapeResult({"out": x.with_shape((x.shape[0], *x.shape[2:]))})


def _mean_macs(ctx: StatContext) -> int:
    return prod(ctx.in_shape())


register(
    LayerType(
        id="mean_over_time",
        label="MeanOverTime",
        category="Sequence",
        summary="Averages a sequence over its time steps: (N, T, E) -> (N, E).",
        explanation=(
            "Averages the vectors of all time steps (dimension 1), giving one vector per "
            "sequence that a Dense classifier can take: global average pooling over time. A "
            "simple, robust alternative to keeping only the last step of an RNN or a class "
            "token of a Transformer. When the sequence carries the padding mask of an Input with a "
            "padding id, only the real steps are averaged; otherwise padding positions are "
            "averaged in too. No parameters."
        ),
        formula="y[n] = (1/T) * sum over t of x[n, t]",
        infer=_mean_shape,
        count_macs=_mean_macs,
        name_prefix="mean",
    )
)

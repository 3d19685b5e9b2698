"""Element-wise activations and (log-)softmax."""

from __future__ import annotations

from dlstudio.layers.registry import register
from dlstudio.layers.rules import is_float
from dlstudio.layers.spec import LayerType, ParamSpec, ShapeContext, ShapeResult


def same_shape(ctx: ShapeContext) -> ShapeResult:
    """An element-wise activation's rule: the input's shape, a float input required."""
    return ShapeResult({"out": is_float(ctx)})


def _dim_shape(ctx: ShapeContext) -> ShapeResult:
    x = is_float(ctx)
    if not -x.rank <= ctx["dim"] < x.rank:
        raise ctx.fail(
            f"has dim={ctx['dim']} but the input {x} has only {x.rank} dimensions",
        )
    return ShapeResult({"out": x})


_DIM = ParamSpec(
    "dim",
    "int",
    -1,
    "Dimension that sums to one (-1: the last, the classes).",
    minimum=-8,
    maximum=8,
)

_ACTIVATIONS = (
    (
        "relu",
        "ReLU",
        "Keeps positive values, zeroes negative ones.",
        "The default non-linearity of deep networks: cheap, and its gradient does not vanish for "
        "positive inputs. A unit whose input is always negative stops learning ('dead ReLU').",
        "y = max(0, x)",
        (),
    ),
    (
        "leaky_relu",
        "LeakyReLU",
        "Like ReLU, but negative values keep a small slope.",
        "Lets a small gradient through for negative inputs so units cannot die.",
        "y = x if x > 0 else negative_slope * x",
        (
            ParamSpec(
                "negative_slope",
                "float",
                0.01,
                "Slope for negative inputs.",
                minimum=0.0,
                maximum=1.0,
            ),
        ),
    ),
    (
        "gelu",
        "GELU",
        "Smooth ReLU used in Transformers (BERT, GPT).",
        "Weights each input by the probability that a standard normal is below it; smooth "
        "everywhere. The feed-forward blocks of BERT and GPT use it. approximate='tanh' uses "
        "the cheaper tanh formula GPT-2 was trained with (differs by at most about 1e-3).",
        "y = x * Phi(x);  tanh: y = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))",
        (
            ParamSpec(
                "approximate",
                "choice",
                "none",
                "none: the exact GELU (BERT); tanh: the tanh approximation (GPT-2).",
                choices=("none", "tanh"),
            ),
        ),
    ),
    (
        "tanh",
        "Tanh",
        "Squashes values to (-1, 1).",
        "Zero-centred squashing function; used inside RNN and LSTM cells. Saturates for large "
        "|x|, where gradients vanish.",
        "y = (e^x - e^-x) / (e^x + e^-x)",
        (),
    ),
    (
        "sigmoid",
        "Sigmoid",
        "Squashes values to (0, 1): probabilities and gates.",
        "Maps any value to (0, 1); used for binary outputs and as the gates of LSTM and GRU "
        "cells. For training a binary classifier prefer BCE-with-logits on the raw output.",
        "y = 1 / (1 + e^-x)",
        (),
    ),
    (
        "relu6",
        "ReLU6",
        "ReLU capped at 6 (MobileNet).",
        "Like ReLU, but values above 6 are clipped to 6. MobileNet V1/V2 use it because the "
        "bounded range survives low-precision arithmetic well.",
        "y = min(max(0, x), 6)",
        (),
    ),
    (
        "silu",
        "SiLU",
        "x times its sigmoid, also called Swish (EfficientNet, LLaMA).",
        "A smooth, non-monotonic ReLU: each value is scaled by its own sigmoid. EfficientNet and "
        "the feed-forward blocks of many language models use it.",
        "y = x * sigmoid(x)",
        (),
    ),
    (
        "hardswish",
        "Hardswish",
        "A cheap piecewise approximation of SiLU (MobileNet V3).",
        "Replaces the sigmoid of SiLU by a clipped straight line, so it costs no exponentials; "
        "MobileNet V3 uses it on phones.",
        "y = x * min(max(x + 3, 0), 6) / 6",
        (),
    ),
    (
        "hardsigmoid",
        "Hardsigmoid",
        "A piecewise-linear sigmoid (MobileNet V3 squeeze-excitation).",
        "A clipped straight line through (0, 0.5) instead of the sigmoid's curve: 0 below -3, 1 "
        "above 3. Cheap gates for squeeze-and-excitation blocks.",
        "y = min(max(x / 6 + 1/2, 0), 1)",
        (),
    ),
)


def register_activations(
    table: tuple[tuple[str, str, str, str, str, tuple[ParamSpec, ...]], ...],
) -> None:
    """Register element-wise activations given as (id, label, summary, explanation, formula,
    parameters): each keeps its input's shape and needs a float input."""
    for layer_id, label, summary, explanation, formula, params in table:
        register(
            LayerType(
                id=layer_id,
                label=label,
                category="Activation",
                summary=summary,
                explanation=explanation,
                formula=formula,
                infer=same_shape,
                params=params,
                name_prefix=layer_id,
            )
        )


register_activations(_ACTIVATIONS)

register(
    LayerType(
        id="softmax",
        label="Softmax",
        category="Activation",
        summary="Turns scores into probabilities that sum to one.",
        explanation=(
            "Exponentiates and normalises so the outputs along `dim` are positive and sum to one. "
            "For training with cross-entropy leave it out: the loss applies log-softmax to the raw "
            "scores itself, more stably."
        ),
        formula="y_i = exp(x_i) / sum_j exp(x_j)",
        infer=_dim_shape,
        params=(_DIM,),
        name_prefix="softmax",
    )
)

register(
    LayerType(
        id="log_softmax",
        label="LogSoftmax",
        category="Activation",
        summary="Log of softmax: log-probabilities, numerically stable.",
        explanation=(
            "Computes log(softmax(x)) in one stable step. Pair it with a negative log-likelihood "
            "loss (word2vec's skip-gram output uses it)."
        ),
        formula="y_i = x_i - log sum_j exp(x_j)",
        infer=_dim_shape,
        params=(_DIM,),
        name_prefix="log_softmax",
    )
)

"""More element-wise activations: ELU, CELU, SELU, Softplus, Softsign, Mish, ThresholdedReLU
and a hard sigmoid with its own slope and offset (the forms ONNX files name)."""

from __future__ import annotations

from dlstudio.layers.activations import register_activations
from dlstudio.layers.spec import ParamSpec

SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805
"""torch's SELU constants (the self-normalising values of Klambauer et al.)."""


def _float(name: str, default: float, help_text: str) -> ParamSpec:
    return ParamSpec(name, "float", default, help_text, minimum=-1e6, maximum=1e6)


_ACTIVATIONS = (
    (
        "elu",
        "ELU",
        "Exponential linear unit: smooth negative values that saturate at -alpha.",
        "Like ReLU for positive values; negative values follow alpha (e^x - 1), so the mean "
        "activation is nearer zero and the gradient never vanishes completely.",
        "y = x if x > 0 else alpha (e^x - 1)",
        (_float("alpha", 1.0, "The negative saturation value."),),
    ),
    (
        "celu",
        "CELU",
        "Continuously differentiable ELU.",
        "ELU with the exponent divided by alpha, so the derivative is continuous at 0 for every "
        "alpha.",
        "y = max(0, x) + min(0, alpha (e^(x / alpha) - 1))",
        (
            ParamSpec(
                "alpha", "float", 1.0, "The negative saturation value.", minimum=1e-6, maximum=1e6
            ),
        ),
    ),
    (
        "selu",
        "SELU",
        "Scaled ELU: keeps activations normalised in deep plain networks.",
        "ELU scaled by gamma, with the constants of self-normalising networks by default: "
        "layers keep zero mean and unit variance without batch normalisation.",
        "y = gamma (x if x > 0 else alpha (e^x - 1))",
        (
            _float("alpha", SELU_ALPHA, "The negative saturation value (before scaling)."),
            _float("gamma", SELU_SCALE, "The scale applied to every value."),
        ),
    ),
    (
        "softplus",
        "Softplus",
        "A smooth ReLU: log(1 + e^x).",
        "Always positive and smooth everywhere; used where a value must stay positive (a "
        "standard deviation) and inside Mish.",
        "y = log(1 + e^x)",
        (),
    ),
    (
        "softsign",
        "Softsign",
        "Squashes values to (-1, 1) like tanh, but polynomially.",
        "x / (1 + |x|): a cheaper tanh-like curve whose tails approach +-1 more slowly.",
        "y = x / (1 + |x|)",
        (),
    ),
    (
        "mish",
        "Mish",
        "x times tanh(softplus(x)) (YOLOv4).",
        "A smooth, non-monotonic ReLU close to SiLU; YOLOv4's backbone uses it.",
        "y = x tanh(log(1 + e^x))",
        (),
    ),
    (
        "thresholded_relu",
        "ThresholdedReLU",
        "Keeps values above a threshold, zeroes the rest.",
        "ReLU with the cut moved from 0 to alpha: values at or below alpha become 0.",
        "y = x if x > alpha else 0",
        (_float("alpha", 1.0, "The threshold."),),
    ),
    (
        "scaled_hardsigmoid",
        "HardSigmoid (slope)",
        "A clipped straight line alpha x + beta, limited to [0, 1].",
        "The hard sigmoid with its own slope and offset (ONNX's HardSigmoid, default slope 0.2); "
        "with alpha 1/6 and beta 0.5 it is torch's Hardsigmoid.",
        "y = min(max(alpha x + beta, 0), 1)",
        (
            _float("alpha", 0.2, "The slope."),
            _float("beta", 0.5, "The offset."),
        ),
    ),
)

register_activations(_ACTIVATIONS)

"""Why the model predicted what it did: Grad-CAM, gradient saliency, integrated gradients, and
for token models gradient x input and attention rollout.

Each method returns a map in [0, 1] over the input (pixels, or tokens), computed through the
compiled module itself with hooks on its own submodules, so the numbers are the model's.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from dlstudio.compile.build import CompiledModel
from dlstudio.core.errors import DLStudioError

IMAGE_METHODS = ("gradcam", "saliency", "ig")
TOKEN_METHODS = ("gradxinput", "rollout", "saliency", "ig")


class ExplainError(DLStudioError):
    """The method does not apply to this model or example (no convolution, no token input)."""


@dataclass(frozen=True)
class Explanation:
    """A map over the input and the prediction it explains."""

    method: str
    heat: np.ndarray
    """(H, W) for images, (T,) for tokens; in [0, 1]."""
    predicted: int
    target: int
    """The class explained (the prediction unless another was asked for)."""
    probabilities: np.ndarray
    layer: str | None = None
    """The convolution Grad-CAM used (its module path)."""


def _logits(module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> torch.Tensor:
    out = module(*inputs)
    out = out[0] if isinstance(out, tuple | list) else out
    if out.dim() != 2:
        raise ExplainError(
            f"explanations need a model that outputs one score per class, (N, K); this one "
            f"outputs {tuple(out.shape)}"
        )
    return out


def _unit(values: np.ndarray) -> np.ndarray:
    values = np.nan_to_num(np.asarray(values, dtype=np.float64))
    high = values.max() if values.size else 0.0
    return values / high if high > 0 else np.zeros_like(values)


def probabilities(logits: torch.Tensor) -> np.ndarray:
    """Class probabilities of the first sample: softmax unless the scores already are
    (log-)probabilities."""
    row = logits[0].detach().double()
    if torch.all(row <= 0) and abs(float(row.exp().sum()) - 1) < 1e-3:
        return row.exp().numpy()
    if torch.all(row >= 0) and abs(float(row.sum()) - 1) < 1e-3:
        return row.numpy()
    return torch.softmax(row, 0).numpy()


def conv_layers(module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> list[str]:
    """Module paths of the 2-D convolutions, in the order the forward pass runs them."""
    order: list[str] = []
    handles = []
    for path, sub in module.named_modules():
        if isinstance(sub, nn.Conv2d):
            handles.append(sub.register_forward_hook(lambda *_a, p=path: order.append(p)))
    try:
        with torch.no_grad():
            module(*inputs)
    finally:
        for h in handles:
            h.remove()
    return list(dict.fromkeys(order))


def gradcam(
    compiled: CompiledModel,
    inputs: tuple[torch.Tensor, ...],
    target: int | None = None,
    layer: str | None = None,
) -> Explanation:
    """Grad-CAM (Selvaraju et al., 2017) on ``layer`` (a module path; the last convolution by
    default): ReLU of the feature maps weighted by their mean gradients, upsampled to the
    input."""
    module = compiled.module.eval()
    convs = conv_layers(module, inputs)
    if not convs:
        raise ExplainError("Grad-CAM needs a 2-D convolution; this model has none (try saliency)")
    layer = layer or convs[-1]
    try:
        sub = module.get_submodule(layer)
    except AttributeError:
        raise ExplainError(
            f"no layer {layer!r} in the model; its convolutions: {', '.join(convs)}"
        ) from None
    kept: dict[str, torch.Tensor] = {}

    def keep(_m, _i, output: torch.Tensor) -> None:
        output.retain_grad()
        kept["maps"] = output

    handle = sub.register_forward_hook(keep)
    try:
        with torch.enable_grad():
            logits = _logits(module, inputs)
            predicted = int(logits[0].argmax())
            target = predicted if target is None else target
            module.zero_grad(set_to_none=True)
            logits[0, target].backward()
    finally:
        handle.remove()
    maps = kept["maps"]
    assert maps.grad is not None, "the hook kept the feature maps' gradient"
    weights = maps.grad[0].mean(dim=(1, 2))
    cam = torch.relu((weights[:, None, None] * maps[0]).sum(0)).detach()
    size = inputs[0].shape[-2:]
    cam = nn.functional.interpolate(cam[None, None], size=size, mode="bilinear")[0, 0]
    return Explanation(
        "gradcam", _unit(cam.numpy()), predicted, target, probabilities(logits), layer
    )


def _input_gradient(
    module: nn.Module, inputs: tuple[torch.Tensor, ...], target: int | None
) -> tuple[torch.Tensor, int, int, torch.Tensor]:
    x = inputs[0].detach().clone().float().requires_grad_(True)
    with torch.enable_grad():
        logits = _logits(module, (x, *inputs[1:]))
        predicted = int(logits[0].argmax())
        target = predicted if target is None else target
        (grad,) = torch.autograd.grad(logits[0, target], x)
    return grad, predicted, target, logits


def saliency(
    compiled: CompiledModel, inputs: tuple[torch.Tensor, ...], target: int | None = None
) -> Explanation:
    """Gradient saliency (Simonyan et al., 2013): |d score / d input|, largest over channels."""
    if not inputs[0].is_floating_point():
        return _token_gradient("saliency", compiled, inputs, target)
    grad, predicted, target, logits = _input_gradient(compiled.module.eval(), inputs, target)
    heat = grad[0].abs()
    heat = heat.amax(0) if heat.dim() == 3 else heat
    return Explanation("saliency", _unit(heat.numpy()), predicted, target, probabilities(logits))


def integrated_gradients(
    compiled: CompiledModel,
    inputs: tuple[torch.Tensor, ...],
    target: int | None = None,
    steps: int = 32,
) -> Explanation:
    """Integrated gradients (Sundararajan et al., 2017) from an all-zero baseline: the input
    times the mean gradient along the straight path, summed over channels (absolute)."""
    if not inputs[0].is_floating_point():
        return _token_gradient("ig", compiled, inputs, target, steps)
    module = compiled.module.eval()
    x = inputs[0].detach().float()
    _, predicted, chosen, logits = _input_gradient(module, inputs, target)
    total = torch.zeros_like(x)
    for k in range(1, steps + 1):
        point = (x * k / steps,)
        grad, *_ = _input_gradient(module, (*point, *inputs[1:]), chosen)
        total += grad
    attribution = (x * total / steps)[0]
    heat = attribution.abs().sum(0) if attribution.dim() == 3 else attribution.abs()
    return Explanation("ig", _unit(heat.numpy()), predicted, chosen, probabilities(logits))


def _token_gradient(
    method: str,
    compiled: CompiledModel,
    inputs: tuple[torch.Tensor, ...],
    target: int | None,
    steps: int = 1,
) -> Explanation:
    """Token models: the gradient at the first embedding's output; ``gradxinput`` (and ``ig``
    along the path from zero embeddings) attributes to each token, ``saliency`` takes the
    gradient's norm per token."""
    module = compiled.module.eval()
    embedding = next((m for m in module.modules() if isinstance(m, nn.Embedding)), None)
    if embedding is None:
        raise ExplainError("token explanations need an Embedding layer; this model has none")
    scale = {"value": 1.0}
    kept: dict[str, torch.Tensor] = {}

    def scaled(_m, _i, output: torch.Tensor) -> torch.Tensor:
        output = output * scale["value"]
        output.retain_grad()
        kept["embedded"] = output
        return output

    with torch.no_grad():
        first = _logits(module, inputs)
    predicted = int(first[0].argmax())
    target = predicted if target is None else target
    handle = embedding.register_forward_hook(scaled)
    total = torch.zeros(0)
    try:
        for k in range(1, steps + 1):
            scale["value"] = k / steps
            with torch.enable_grad():
                logits = _logits(module, inputs)
                module.zero_grad(set_to_none=True)
                logits[0, target].backward()
            embedded_grad = kept["embedded"].grad
            assert embedded_grad is not None, "the hook kept the embedding's gradient"
            grad = embedded_grad[0]
            total = grad if k == 1 else total + grad
    finally:
        handle.remove()
    with torch.no_grad():
        embedded = embedding(inputs[0])[0]
    mean_grad = total / steps
    # saliency: the gradient's size per token; otherwise gradient x input (integrated over
    # the path from zero embeddings when steps > 1)
    per_token = (mean_grad * embedded).sum(-1).abs()
    heat = mean_grad.norm(dim=-1) if method == "saliency" else per_token
    return Explanation(method, _unit(heat.numpy()), predicted, target, probabilities(first))


def gradient_x_input(
    compiled: CompiledModel, inputs: tuple[torch.Tensor, ...], target: int | None = None
) -> Explanation:
    """Gradient x input per token: how much each token's embedding pushes the score."""
    return _token_gradient("gradxinput", compiled, inputs, target)


def attention_rollout(
    graph, compiled: CompiledModel, inputs: tuple[torch.Tensor, ...], target: int | None = None
) -> Explanation:
    """Attention rollout (Abnar and Zuidema, 2020): each self-attention's head-averaged map
    with the residual added (0.5 A + 0.5 I, rows renormalised), multiplied through the layers;
    a token's score is the attention all positions pay to it, averaged."""
    from dlstudio.compile.attention_maps import AttentionProbe

    probe = AttentionProbe(graph, compiled.module)
    maps = [
        m
        for m in probe.maps(tuple(x[0] for x in inputs))
        if m.weights.shape[1] == m.weights.shape[2]
    ]
    if not maps:
        raise ExplainError("attention rollout needs self-attention layers; this model has none")
    length = maps[0].weights.shape[1]
    rollout = np.eye(length)
    for attention in maps:
        if attention.weights.shape[1] != length:
            continue
        mixed = 0.5 * attention.mean() + 0.5 * np.eye(length)
        mixed /= mixed.sum(axis=1, keepdims=True)
        rollout = mixed @ rollout
    with torch.no_grad():
        logits = _logits(compiled.module.eval(), inputs)
    predicted = int(logits[0].argmax())
    heat = rollout.mean(axis=0)
    tokens = inputs[0].shape[-1]
    if heat.shape[0] != tokens:  # a class token in front: what it gathers from the tokens
        heat = rollout[0, heat.shape[0] - tokens :]
    return Explanation(
        "rollout",
        _unit(heat),
        predicted,
        predicted if target is None else target,
        probabilities(logits),
    )


def explain(
    project, example, method: str, target: int | None = None, layer: str | None = None
) -> Explanation:
    """Run ``method`` on a pinned example of an opened project (see ``lens.project``).

    One explanation at a time: each method hooks the model's modules and back-propagates
    through its parameters, so two at once on one model (a dialog's earlier method still
    running on a worker while the next dialog starts) would read each other's hooks and
    gradients."""
    with _ONE_AT_A_TIME:
        return _explain(project, example, method, target, layer)


_ONE_AT_A_TIME = threading.Lock()


def _explain(project, example, method: str, target: int | None, layer: str | None) -> Explanation:
    compiled, inputs = project.compiled, example.inputs
    tokens = not inputs[0].is_floating_point()
    if tokens and method == "gradcam":
        raise ExplainError("Grad-CAM needs an image model; for tokens use gradxinput or rollout")
    if not tokens and method in ("gradxinput", "rollout"):
        raise ExplainError(f"{method} explains token models; for images use gradcam or saliency")
    if method == "gradcam":
        return gradcam(compiled, inputs, target, layer)
    if method == "saliency":
        return saliency(compiled, inputs, target)
    if method == "ig":
        return integrated_gradients(compiled, inputs, target)
    if method == "gradxinput":
        return gradient_x_input(compiled, inputs, target)
    if method == "rollout":
        return attention_rollout(project.graph, compiled, inputs, target)
    raise ExplainError(f"unknown method {method!r}")

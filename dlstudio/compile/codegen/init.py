"""Weight initialisation of the model a drawing reproduces (``metadata["init"]``).

PyTorch's layers initialise themselves; the models people reproduce then re-initialise in their
own way, and a reproduction should too: torchvision's ResNets draw convolutions from
``kaiming_normal_(mode="fan_out")`` and set every norm to weight 1, bias 0; GPT-2 (and nanoGPT)
draw every Linear and Embedding weight from normal(0, 0.02) with zero biases. The lines are the
ones those projects write, placed at the end of the model's ``__init__``, so the generated file
and the compiled module start from the same weights for the same seed.
"""

from __future__ import annotations

from dlstudio.compile.errors import CompileError
from dlstudio.core.graph import LayerGraph

INIT_KEY = "init"

_TORCHVISION_RESNET = """
# torchvision's ResNet initialisation.
for m in self.modules():
    if isinstance(m, nn.Conv2d):
        nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
    elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
        nn.init.constant_(m.weight, 1)
        nn.init.constant_(m.bias, 0)
"""

_GPT2 = """
# GPT-2's initialisation (as nanoGPT): weights normal(0, 0.02), biases zero.
for m in self.modules():
    if isinstance(m, (nn.Linear, nn.Embedding)):
        nn.init.normal_(m.weight, mean=0.0, std=0.02)
    if isinstance(m, nn.Linear) and m.bias is not None:
        nn.init.zeros_(m.bias)
    if isinstance(getattr(m, "in_proj_weight", None), torch.Tensor):  # fused q, k, v
        nn.init.normal_(m.in_proj_weight, mean=0.0, std=0.02)
"""

SCHEMES = {"torchvision_resnet": _TORCHVISION_RESNET, "gpt2": _GPT2}
"""Scheme name (``metadata["init"]``) -> the lines it adds to the model's ``__init__``."""


def init_lines(graph: LayerGraph, indent: str) -> list[str]:
    """The initialisation lines the graph asks for (none without ``metadata["init"]``);
    :class:`CompileError` for a name that is not a known scheme."""
    scheme = graph.metadata.get(INIT_KEY)
    if scheme in (None, "", "pytorch"):
        return []
    if not isinstance(scheme, str) or scheme not in SCHEMES:
        known = ", ".join(["pytorch", *SCHEMES])
        raise CompileError(
            graph.name,
            [(None, f'metadata "init" is {scheme!r}; use one of {known} (or leave it out)')],
        )
    body = SCHEMES[scheme].strip("\n").splitlines()
    return [""] + [f"{indent}{line}" if line else "" for line in body]

"""Random model inputs of the right shape and dtype at a chosen batch size and length."""

from __future__ import annotations

import torch

from dlstudio.compile.codegen.inputs import InputDescription
from dlstudio.core.tensor_spec import bind_dim


def make_inputs(
    inputs: list[InputDescription],
    batch_size: int,
    bindings: dict[str, int],
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, ...]:
    """One tensor per input: float32 normal noise, or int64 ids below the input's vocabulary."""
    sizes = {"N": batch_size, **bindings}
    tensors = []
    for description in inputs:
        shape = []
        for dim in description.spec.shape:
            size = bind_dim(dim, sizes)
            if size is None:
                raise ValueError(
                    f"input {description.name} has the size {dim!r}, which no example length "
                    f"binds (known: {sorted(sizes)})"
                )
            shape.append(size)
        if description.vocab is not None:
            tensors.append(torch.randint(0, description.vocab, shape, generator=generator))
        else:
            tensors.append(torch.randn(shape, generator=generator))
    return tuple(tensors)

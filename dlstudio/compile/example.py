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
    """One tensor per input: normal noise (floats), 0 and 1 (other integers, bool), or int64
    ids below the input's vocabulary
    (with a padding id: real ids, then padding from a random length on, except in the first
    sequence, which is full)."""
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
        if description.vocab is not None and description.padding_id is not None:
            tensors.append(_padded_ids(shape, description.vocab, description.padding_id, generator))
        elif description.vocab is not None:
            tensors.append(torch.randint(0, description.vocab, shape, generator=generator))
        else:
            tensors.append(_values(shape, description.spec.dtype, generator))
    return tuple(tensors)


def _padded_ids(
    shape: list[int], vocab: int, pad: int, generator: torch.Generator | None
) -> torch.Tensor:
    if vocab < 2:
        return torch.full(shape, pad, dtype=torch.int64)
    ids = torch.randint(0, vocab - 1, shape, generator=generator)
    ids = ids + (ids >= pad).long()  # every id but the padding id
    if len(shape) != 2:
        return ids
    lengths = torch.randint(1, shape[1] + 1, (shape[0],), generator=generator)
    lengths[0] = shape[1]
    padded = torch.arange(shape[1]).unsqueeze(0) >= lengths.unsqueeze(1)
    return ids.masked_fill(padded, pad)


def _values(shape: list[int], dtype: str, generator: torch.Generator | None) -> torch.Tensor:
    """Normal noise in a float dtype; 0s and 1s in an integer or bool one."""
    if dtype.startswith("float"):
        return torch.randn(shape, generator=generator).to(getattr(torch, dtype))
    ones = torch.randint(0, 2, shape, generator=generator)
    return ones.bool() if dtype == "bool" else ones.to(getattr(torch, dtype))

"""Checking a data set against a model's inputs and outputs before any training starts."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from dlstudio.core.tensor_spec import TensorSpec, format_shape
from dlstudio.train.config import CLASS_LOSSES
from dlstudio.train.data.base import Dataset

ExpectedInput = TensorSpec | tuple[tuple[Any, ...], str]
"""A model input: its shape with the batch symbol (``("N", 1, 28, 28)``) and dtype."""


def _as_spec(item: ExpectedInput) -> TensorSpec:
    if isinstance(item, TensorSpec):
        return item
    shape, dtype = item
    return TensorSpec(tuple(shape), dtype)


def _dims_fit(expected: tuple[Any, ...], got: tuple[int, ...], bound: dict[str, int]) -> bool:
    if len(expected) != len(got):
        return False
    for want, have in zip(expected, got, strict=True):
        if isinstance(want, int):
            if want != have:
                return False
        elif want in bound and bound[want] != have:
            return False
        else:
            bound[str(want)] = have
    return True


def check_inputs(
    dataset: Dataset,
    expected: Sequence[ExpectedInput],
    input_names: Sequence[str] | None = None,
) -> list[str]:
    """One message per mismatch between the data set's inputs and the model's, with the fix.

    ``expected`` lists each model input's shape (batch ``"N"`` first, symbols such as ``"T"``
    allowed) and dtype. Example message: ``digits gives (N, 1, 8, 8) but Input expects
    (N, 1, 28, 28): turn on resize to 28x28``.
    """
    if input_names:
        # Tokenized text names its inputs (input_ids, attention_mask, ...): feed them by name.
        dataset.select_inputs(list(input_names))
    specs = [_as_spec(e) for e in expected]
    names = list(input_names or [f"input {i + 1}" for i in range(len(specs))])
    problems: list[str] = []
    if len(specs) != len(dataset.input_specs):
        have = ", ".join(dataset.input_names) or str(len(dataset.input_specs))
        problems.append(
            f"{dataset.name} gives {len(dataset.input_specs)} input(s) ({have}) but the model has "
            f"{len(specs)} Input node(s); "
            + (
                "add Input nodes for the missing ones"
                if len(specs) < len(dataset.input_specs)
                else "remove the extra Input nodes or choose a data set that feeds them"
            )
        )
        return problems
    bound: dict[str, int] = {}
    for index, (spec, data_spec) in enumerate(zip(specs, dataset.input_specs, strict=True)):
        label = names[index] if index < len(names) else f"input {index + 1}"
        data_shape = ("N", *data_spec.shape)
        got = format_shape(data_shape)
        want = format_shape(tuple(spec.shape))
        expected_shape = tuple(spec.shape)
        if expected_shape and expected_shape[0] == "N":
            expected_shape = expected_shape[1:]
        if not _dims_fit(expected_shape, tuple(data_spec.shape), bound):
            hint = dataset.fix_hint(index, tuple(spec.shape)) if dataset.fix_hint else None
            fix = hint or _generic_fix(tuple(spec.shape), data_shape)
            problems.append(f"{dataset.name} gives {got} but {label} expects {want}: {fix}")
        elif spec.dtype != data_spec.dtype:
            problems.append(
                f"{dataset.name} gives {data_spec.dtype} {got} but {label} expects {spec.dtype}: "
                + (
                    "these are token ids; set the Input dtype to int64 and feed an Embedding"
                    if data_spec.dtype == "int64"
                    else f"set the Input dtype to {data_spec.dtype}"
                )
            )
    return problems


def _generic_fix(expected: tuple[Any, ...], data: tuple[Any, ...]) -> str:
    if len(expected) != len(data):
        return f"set the Input shape to {format_shape(data)} and reshape inside the model"
    return f"set the Input shape to {format_shape(data)}"


def check_target(dataset: Dataset, loss: str, output: ExpectedInput | None = None) -> list[str]:
    """Whether the loss fits the targets, and (given the model's output spec) the class count."""
    problems = []
    if loss in CLASS_LOSSES and dataset.target_kind in ("values", "binary"):
        problems.append(
            f"{dataset.name} has number targets but the loss is {loss}: set loss to "
            + ("mse" if dataset.target_kind == "values" else "bce_with_logits")
        )
    if loss in ("mse", "bce_with_logits") and dataset.target_kind in ("class", "class_sequence"):
        problems.append(
            f"{dataset.name} has class targets but the loss is {loss}: set loss to cross_entropy"
        )
    shape_problem = _target_shape_problem(dataset, loss, output)
    if shape_problem:
        problems.append(shape_problem)
    scores, classes = _scores_and_classes(dataset, loss, output)
    if scores is not None and scores < classes:
        problems.append(
            f"the model outputs {scores} scores per prediction but {dataset.name} has {classes} "
            f"classes, so classes {scores}..{classes - 1} could never be predicted: set the last "
            f"layer's output size to {classes}"
        )
    return problems


def _target_shape_problem(dataset: Dataset, loss: str, output: ExpectedInput | None) -> str | None:
    """The loss's own shape rule (``compute_loss``) applied to the output spec and the targets,
    so what the first batch would refuse is said before training. Symbolic sizes fit anything."""
    if output is None:
        return None
    out = tuple(_as_spec(output).shape[1:])
    target = tuple(int(d) for d in dataset.data.target.shape[1:])

    def fits(model: tuple[Any, ...], data: tuple[int, ...]) -> bool:
        pairs = zip(model, data, strict=False)
        return len(model) == len(data) and all(not isinstance(m, int) or m == d for m, d in pairs)

    if loss in CLASS_LOSSES:
        if len(out) == len(target) + 1 and fits(out[:-1], target):
            return None
        fix = "the output needs one score per class as its last dimension"
    else:
        if fits(out, target) or not all(isinstance(d, int) for d in out):
            return None
        if math.prod(out) == math.prod(target):  # (N, 1) against (N,): reshaped, as train does
            return None
        fix = "make the last layer give one value per target"
    return (
        f"{loss}: the model outputs {format_shape(('N', *out))} but the targets are "
        f"{format_shape(('N', *target))}; {fix}"
    )


def target_warnings(dataset: Dataset, loss: str, output: ExpectedInput | None = None) -> list[str]:
    """What trains but is probably not meant: more scores per prediction than classes (as
    PyTorch and Keras, the extra classes are allowed; they are never the target)."""
    scores, classes = _scores_and_classes(dataset, loss, output)
    if scores is None or scores <= classes:
        return []
    return [
        f"the model outputs {scores} scores per prediction but {dataset.name} has {classes} "
        f"classes: scores {classes}..{scores - 1} belong to no class (training pushes them "
        f"down); set the last layer's output size to {classes} unless that is intended"
    ]


def _scores_and_classes(
    dataset: Dataset, loss: str, output: ExpectedInput | None
) -> tuple[int | None, int]:
    classes = dataset.num_classes
    if dataset.target_kind == "class_sequence" and not classes:
        classes = dataset.vocab_size  # next-token targets are token ids
    if output is None or loss not in CLASS_LOSSES or not classes:
        return None, 0
    spec = _as_spec(output)
    last = spec.shape[-1] if spec.shape else None
    return (last if isinstance(last, int) else None), int(classes)

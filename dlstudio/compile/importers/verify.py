"""Proving an import: the built project and the model it came from run on the same inputs, and
every output must agree to within 1e-4 of that output's scale.

Shared by every importer, so it knows nothing of torch or ONNX: a *runner* is a callable that
takes the input arrays (numpy, in input order) and returns the output arrays (in output order).
The PyTorch side wraps an ``nn.Module``, the ONNX side an onnxruntime session.

    sets = example_sets(specs)                       # two batch sizes, two lengths
    check = compare(run_source, run_built, sets, output_names)
    if not check.ok:
        check.first_departure = first_departure(source_values, built_values)  # optional

``first_departure`` takes intermediate values by name from both sides (module paths for PyTorch,
node names for ONNX), in the order they were computed, and names the first that departs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

RELATIVE_TOLERANCE = 1e-4
"""An output matches when its largest difference is at most this times its scale."""
BATCHES = (1, 3)
"""The two batch sizes every import is checked at (the example run itself uses 2)."""

MASK_ROLE = "padding_mask"
"""An input's ``role`` when it is a padding mask (1 at real tokens, 0 at padding)."""

Runner = Callable[[Sequence[np.ndarray]], Sequence[np.ndarray]]
"""Input arrays in input order -> output arrays in output order."""


class ExampleSpec(Protocol):
    """What :func:`example_sets` needs of an input: ``InputSpec`` of the PyTorch importer has it.

    ``shape`` is one sample's shape (ints, or names such as ``"T"`` for a length)."""

    shape: tuple[int | str, ...]
    dtype: str
    seq_len: int
    vocab_size: int


@dataclass(frozen=True)
class InputSet:
    """One set of example inputs and its description (``batch 3, length 9``)."""

    label: str
    arrays: list[np.ndarray]


@dataclass(frozen=True)
class OutputCheck:
    """One output over every input set: its largest difference and the scale it is judged by."""

    name: str
    difference: float
    """Largest absolute difference over every input set."""
    scale: float
    """Largest absolute value of the source's output (the tolerance is relative to it)."""
    worst: str = ""
    """Label of the input set where the difference was largest."""

    @property
    def tolerance(self) -> float:
        """The largest difference allowed: :data:`RELATIVE_TOLERANCE` of the scale."""
        return RELATIVE_TOLERANCE * self.scale

    @property
    def ok(self) -> bool:
        """True when the output matches."""
        return bool(self.difference <= self.tolerance)

    def line(self) -> str:
        """``logits: largest difference 3.1e-07 (scale 4.2, allowed 4.2e-04)``."""
        verdict = "matches" if self.ok else "DIFFERS"
        where = f" at {self.worst}" if self.worst and not self.ok else ""
        return (
            f"{self.name}: {verdict}, largest difference {self.difference:.3g}{where} "
            f"(scale {self.scale:.3g}, allowed {self.tolerance:.3g})"
        )


@dataclass
class Verification:
    """The outcome of :func:`compare`; ``ok`` only when every output matches on every set."""

    outputs: list[OutputCheck] = field(default_factory=list)
    sets: list[str] = field(default_factory=list)
    """Labels of the input sets that were run."""
    error: str = ""
    """Why the comparison could not run (the built project failed, shapes differ...)."""
    first_departure: str = ""
    """The first intermediate value (module path, node name) that departs, when known."""
    departure_detail: str = ""

    @property
    def ok(self) -> bool:
        """True when every output matched on every input set."""
        return not self.error and bool(self.outputs) and all(o.ok for o in self.outputs)

    def lines(self) -> list[str]:
        """The report, for the command line and the window."""
        lines = []
        if self.sets:
            lines.append(f"checked against the source on: {'; '.join(self.sets)}")
        if self.error:
            lines.append(f"not verified: {self.error}")
        lines.extend(o.line() for o in self.outputs)
        if self.first_departure:
            detail = f" ({self.departure_detail})" if self.departure_detail else ""
            lines.append(f"first departure: {self.first_departure}{detail}")
        return lines

    def metadata(self) -> dict[str, Any]:
        """Plain JSON for the project's ``metadata["import_check"]``."""
        data: dict[str, Any] = {
            "ok": self.ok,
            "relative_tolerance": RELATIVE_TOLERANCE,
            "inputs": list(self.sets),
            "outputs": {
                o.name: {
                    "largest_difference": float(o.difference),
                    "scale": float(o.scale),
                    "ok": o.ok,
                }
                for o in self.outputs
            },
        }
        if self.error:
            data["error"] = self.error
        if self.first_departure:
            data["first_departure"] = self.first_departure
        return data


def example_sets(
    specs: Sequence[ExampleSpec], batches: Sequence[int] = BATCHES, seed: int = 0
) -> list[InputSet]:
    """Random inputs at each batch size (seeded: the same every time). Symbolic lengths take
    the spec's ``seq_len`` in the first set and a shorter length in the second, so a model that
    only works at the length it was captured with is caught."""
    rng = np.random.default_rng(seed)
    sets = []
    symbolic = any(isinstance(d, str) for s in specs for d in s.shape)
    for index, batch in enumerate(batches):
        arrays, length = [], 0
        for spec in specs:
            length = spec.seq_len if index == 0 else max(2, spec.seq_len // 2 + 1)
            shape = [batch] + [d if isinstance(d, int) else length for d in spec.shape]
            if getattr(spec, "role", "") == MASK_ROLE:
                arrays.append(padding_mask(batch, shape[1]))
            elif spec.dtype.startswith("int"):
                high = spec.vocab_size if spec.vocab_size > 0 else 2
                ids = rng.integers(0, high, size=shape).astype(np.int64)
                pad = getattr(spec, "pad_id", None)
                if pad is not None and len(shape) == 2:  # padded as a tokenizer pads
                    ids[padding_mask(batch, shape[1]) == 0] = pad
                arrays.append(ids)
            else:
                arrays.append(rng.standard_normal(shape).astype(np.float32))
        label = f"batch {batch}" + (f", length {length}" if symbolic else "")
        sets.append(InputSet(label, arrays))
    return sets


def padding_mask(batch: int, length: int) -> np.ndarray:
    """An example padding mask (batch, length) of int64: row ``r`` has its first ``n_r`` steps
    1 and the rest 0, the rows from whole to one step (a single row is a quarter padding), so
    every set has padding and lengths differ between rows."""
    if batch == 1:
        valid = [length - max(1, length // 4)]
    else:
        valid = [length - (r * (length - 1)) // (batch - 1) for r in range(batch)]
    steps = np.arange(length)[None, :]
    return (steps < np.array(valid)[:, None]).astype(np.int64)


def difference(want: np.ndarray, got: np.ndarray) -> tuple[float, float]:
    """(largest absolute difference, scale) of two arrays; ``inf`` when the shapes differ or
    the built side has NaNs the source does not."""
    want = np.asarray(want)
    got = np.asarray(got)
    scale = float(np.max(np.abs(want))) if want.size else 0.0
    if not np.isfinite(scale):
        finite = np.abs(want[np.isfinite(want)])
        scale = float(finite.max()) if finite.size else 0.0
    if want.shape != got.shape:
        return float("inf"), scale
    if not want.size:
        return 0.0, scale
    diff = np.abs(want.astype(np.float64) - got.astype(np.float64))
    same_special = (want == got) | (np.isnan(want) & np.isnan(got))
    diff = np.where(same_special, 0.0, diff)
    diff = np.where(np.isnan(diff), np.inf, diff)
    return float(diff.max()), scale


def compare(
    source: Runner,
    built: Runner,
    sets: Sequence[InputSet],
    names: Sequence[str] | None = None,
) -> Verification:
    """Run both on every input set and keep, per output, the largest difference. An exception
    from either side becomes ``error`` with its own words (never a traceback)."""
    check = Verification(sets=[s.label for s in sets])
    worst: dict[int, OutputCheck] = {}
    for input_set in sets:
        outs = []
        for side, runner in (("the source model", source), ("the imported project", built)):
            try:
                outs.append([np.asarray(a) for a in runner(input_set.arrays)])
            except Exception as exc:
                check.error = f"{side} failed on {input_set.label}: {describe(exc)}"
                return check
        want, got = outs
        if len(want) != len(got):
            check.error = f"the source gives {len(want)} output(s), the imported project {len(got)}"
            return check
        for i, (w, g) in enumerate(zip(want, got, strict=True)):
            diff, scale = difference(w, g)
            name = names[i] if names and i < len(names) else f"output{i + 1}"
            if w.shape != g.shape and not check.error:  # the first set where it shows
                check.error = (
                    f"{name} has shape {tuple(g.shape)} in the imported project, "
                    f"{tuple(w.shape)} in the source ({input_set.label})"
                )
            previous = worst.get(i)
            if previous is None or diff > previous.difference:
                scale = max(scale, previous.scale) if previous else scale
                worst[i] = OutputCheck(name, diff, scale, input_set.label)
            elif scale > previous.scale:
                worst[i] = OutputCheck(name, previous.difference, scale, previous.worst)
    check.outputs = [worst[i] for i in sorted(worst)]
    return check


def first_departure(
    source_values: Mapping[str, np.ndarray], built_values: Mapping[str, np.ndarray]
) -> tuple[str, str]:
    """The first name (in ``source_values``' order) present on both sides whose values differ
    by more than the tolerance, and how much; ``("", "")`` when none does."""
    for name, want in source_values.items():
        if name not in built_values:
            continue
        diff, scale = difference(want, built_values[name])
        if diff > RELATIVE_TOLERANCE * scale:
            if diff == float("inf") and np.shape(want) != np.shape(built_values[name]):
                shapes = f"shape {np.shape(built_values[name])}, source {np.shape(want)}"
                return name, shapes
            return name, f"largest difference {diff:.3g}, scale {scale:.3g}"
    return "", ""


def describe(exc: BaseException) -> str:
    """An exception in its own words, on one line: ``RuntimeError: mat1 and mat2 ...``."""
    text = " ".join(str(exc).split())
    if len(text) > 400:
        text = text[:400] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__

"""Choosing the example from what the user asked for: a sample, a class, an image or text."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dlstudio.lens.examples import (
    Example,
    ExampleError,
    dataset_example,
    image_example,
    text_example,
)
from dlstudio.lens.project import OpenProject
from dlstudio.train.data.hf_tokenizer import load_project_tokenizer


@dataclass(frozen=True)
class PinRequest:
    """One way of naming an example; at most one field is set (none: sample 0)."""

    sample: int | None = None
    class_index: int | None = None
    image: Path | None = None
    text: str | None = None


def pin_example(project: OpenProject, request: PinRequest) -> Example:
    """The example ``request`` names, fitted to the project's first Input."""
    specs = project.compiled.input_specs
    if request.image is not None:
        return image_example(request.image, specs[0])
    if request.text is not None:
        tokenizer = load_project_tokenizer(project.graph.metadata, project.path)
        return text_example(request.text, project.compiled, project.dataset, tokenizer)
    if project.dataset is None:
        raise ExampleError(
            f"no data set to take a sample from ({project.data_problem}); pick one in the "
            "Training panel, or pin an image file or typed text instead"
        )
    return dataset_example(project.dataset, request.sample, request.class_index)

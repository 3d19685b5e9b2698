"""A project's whole experiment as one standalone training script, in sections.

The sections (settings, model, data, loss and metrics, optimizer and schedule, training) are
the script's parts in reading order; the notebook is the same sections as cells, so the two
always hold the same code.
"""

from __future__ import annotations

import ast
import json
import math
import textwrap
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from dlstudio.analysis import analyze
from dlstudio.compile.codegen import generate
from dlstudio.compile.codegen.names import comment_text
from dlstudio.core.graph import LayerGraph
from dlstudio.core.source import parse_source
from dlstudio.train.config import TrainConfig
from dlstudio.train.errors import TrainError
from dlstudio.train.experiment import loop_text
from dlstudio.train.experiment.bundle import sort_imports
from dlstudio.train.experiment.data_text import data_section
from dlstudio.train.freezing import frozen_module_names
from dlstudio.train.session import resolve_run, target_padding

_CHOICES = {
    "optimizer": ("sgd", "adam", "adamw"),
    "schedule": ("none", "step", "cosine", "onecycle"),
    "device": ("auto", "cpu", "cuda", "mps"),
    "mixed_precision": ("auto", "off", "bf16", "fp16"),
}
# Stored settings the script takes as flags (loss and metric are written into its code).
_SETTINGS = (
    "dataset",
    "dataset_options",
    "optimizer",
    "lr",
    "momentum",
    "weight_decay",
    "schedule",
    "warmup_steps",
    "step_size",
    "gamma",
    "epochs",
    "batch_size",
    "val_fraction",
    "seed",
    "grad_clip",
    "early_stopping_patience",
    "deterministic",
    "compile",
)
_IMPORTS = [
    "import argparse",
    "import copy",
    "import json",
    "import math",
    "import os",
    "import random",
    "from collections.abc import Callable",
    "from dataclasses import dataclass, field, fields",
    "from pathlib import Path",
    "from typing import Any",
    "import numpy as np",
    "import torch",
    "import torch.nn as nn",
    "import torch.nn.functional as F",
]


@dataclass(frozen=True)
class Section:
    """One part of the experiment: a title, a few sentences for people, and its code."""

    title: str
    text: str
    code: str


@dataclass(frozen=True)
class Experiment:
    """The whole script, in parts: docstring, imports, sections, and how it starts."""

    name: str
    docstring: str
    imports: list[str]
    sections: list[Section]
    config: TrainConfig
    embedded: bool

    @property
    def code(self) -> str:
        """The sections' code, as one text (what the notebook's cells hold too)."""
        return "\n\n\n".join(s.code for s in self.sections)

    @property
    def script(self) -> str:
        """The standalone ``train.py``."""
        head = f'"""{self.docstring}\n"""\n\nfrom __future__ import annotations\n\n'
        imports = "\n".join(self.imports)
        main = 'if __name__ == "__main__":\n    main()\n'
        return f"{head}{imports}\n\n\n{self.code}\n\n\n{main}"


def build_experiment(
    graph: LayerGraph,
    project_path: str | Path | None = None,
    embed_data: bool = False,
    overrides: dict[str, Any] | None = None,
) -> Experiment:
    """The experiment of ``graph``: its model, its data set and training settings (with
    ``overrides``, as ``train`` takes them). Raises :class:`TrainError` (a
    :class:`~dlstudio.core.errors.DLStudioError`) for settings or data that cannot train."""
    base_dir = Path(project_path).resolve().parent if project_path else None
    config, dataset = resolve_run(
        graph.metadata.get("training"), base_dir=base_dir, **dict(overrides or {})
    )
    code = generate(graph)
    model_imports, model_code = _split_model_source(code.source)
    data = data_section(str(config.dataset), embed_data, config.dataset_options)
    stem = Path(project_path).stem if project_path else code.class_name.lower()
    padding = _target_padding(code, graph)
    sections = [
        Section("Settings", _SETTINGS_TEXT, _settings_code(config, f"{stem}_run")),
        Section("The model", _model_text(code.class_name), model_code),
        Section("The data", _data_text(dataset.summary(), data.embedded), data.code),
        Section(
            "Loss and metrics",
            _LOSS_TEXT.format(loss=config.loss, metric=config.metric),
            loop_text.loss_code(config.loss, config.ignore_index)
            + "\n\n\n"
            + loop_text.metrics_code(config.loss, config.metric)
            + (
                "\n\n\n" + loop_text.fill(loop_text.PADDING, padding=repr(padding))
                if padding
                else ""
            ),
        ),
        Section("Optimizer and schedule", _OPTIM_TEXT, loop_text.OPTIM),
        Section(
            "Training",
            _TRAIN_TEXT,
            loop_text.RUNNING
            + "\n\n\n"
            + _train_code(code.class_name, graph, code.attrs, padding)
            + "\n\n\n"
            + _MAIN,
        ),
    ]
    imports = sort_imports([*_IMPORTS, *model_imports, *data.imports])
    experiment = Experiment(
        code.class_name,
        _docstring(code.class_name, graph.name, config, data.embedded),
        _merge_from_imports(imports),
        sections,
        config,
        data.embedded,
    )
    _check_names(experiment, model_code)
    return experiment


def _split_model_source(source: str) -> tuple[list[str], str]:
    """The generated file's imports, and its code without docstring, imports and ``__main__``."""
    head, body = source.split("\n\n\n", 1)
    imports = [line for line in head.splitlines() if line.startswith(("import ", "from "))]
    blocks = body.rstrip("\n").split("\n\n\n")
    if blocks[-1].startswith('if __name__ == "__main__":'):
        blocks = blocks[:-1]
    return imports, "\n\n\n".join(blocks)


def _merge_from_imports(lines: list[str]) -> list[str]:
    """``from m import a`` and ``from m import b`` become ``from m import a, b``."""
    out: list[str] = []
    merged: dict[str, int] = {}
    for line in lines:
        if line.startswith("from ") and " import " in line:
            module, names = line[5:].split(" import ", 1)
            if module in merged:
                position = merged[module]
                parts = out[position].split(" import ", 1)[1].split(", ") + names.split(", ")
                out[position] = f"from {module} import {', '.join(sorted(set(parts)))}"
                continue
            merged[module] = len(out)
        out.append(line)
    return out


def _check_names(experiment: Experiment, model_code: str) -> None:
    """A model named like one of the script's functions (``train``) would replace it."""
    model = {name for n in parse_source(model_code).body for name in _names(n)}
    rest = (
        "\n".join(line for line in experiment.imports if line)
        + "\n"
        + "\n\n\n".join(s.code for s in experiment.sections if s.title != "The model")
    )
    clash = sorted(model & {name for n in parse_source(rest).body for name in _names(n)})
    if clash:
        raise TrainError(
            f"the model's code defines {', '.join(clash)}, which the training script needs for "
            "its own code; rename the model (or its blocks) and export again"
        )


def _names(node: ast.stmt) -> list[str]:
    """The names a top-level statement defines (a class, a function, an assignment, imports)."""
    if isinstance(node, ast.FunctionDef | ast.ClassDef):
        return [node.name]
    if isinstance(node, ast.Assign):
        return [t.id for t in node.targets if isinstance(t, ast.Name)]
    if isinstance(node, ast.Import | ast.ImportFrom):
        return [(a.asname or a.name).split(".")[0] for a in node.names]
    return []


def _target_padding(code: Any, graph: LayerGraph) -> tuple[int, int] | None:
    """What :func:`dlstudio.train.session.target_padding` finds for the compiled graph."""
    analysis = analyze(graph)
    outputs = [analysis.nodes[n.id].inputs["in"] for n in graph if n.type_id == "output"]
    return target_padding(SimpleNamespace(code=code, output_specs=outputs))  # type: ignore[arg-type]


def _settings_code(config: TrainConfig, out: str) -> str:
    lines = [
        "@dataclass",
        "class TrainSettings:",
        '    """The project\'s training settings; each is also a flag (python train.py --help)."""',
        "",
    ]
    for name in _SETTINGS:
        value = getattr(config, name)
        if name == "dataset_options":
            options = _plain(value, "dataset_options")
            lines.append(
                f"    dataset_options: dict = field(default_factory=lambda: {literal(options)})"
            )
            continue
        kind = type(value).__name__
        lines.append(f"    {name}: {kind} = {literal(value)}")
    lines += [
        "    # Run-time settings.",
        '    device: str = "auto"  # auto: CUDA, then Apple MPS, then the CPU',
        '    mixed_precision: str = "auto"  # on CUDA: bf16 where the GPU has it, else fp16',
        "    threads: int = 0  # CPU threads for torch; 0 leaves torch's choice",
        f"    out: str = {literal(out)}  # metrics.jsonl, checkpoint.pt and weights.pt go here",
        '    resume: str = ""  # a checkpoint.pt of this script to continue from',
        "    log_every: int = 20  # print the loss every this many steps (0: never)",
    ]
    choices = [f"    {literal(k)}: {literal(v)}," for k, v in _CHOICES.items()]
    return "\n".join([*lines, "", "", "CHOICES = {", *choices, "}", "", "", _PARSE_ARGS])


def literal(value: Any) -> str:
    """Python source for a plain value, strings in double quotes as the rest of the file."""
    if isinstance(value, str):
        return json.dumps(value)  # JSON's string escapes are Python's too
    if isinstance(value, list | tuple):
        items = ", ".join(literal(v) for v in value)
        return (
            f"({items}{',' if len(value) == 1 else ''})"
            if isinstance(value, tuple)
            else f"[{items}]"
        )
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, float) and not math.isfinite(value):
        return f'float("{value}")'
    if value is None or isinstance(value, bool | int | float):
        return repr(value)
    raise TrainError(f"{value!r} cannot be written into a script; use plain values")


def _plain(value: Any, where: str) -> Any:
    """JSON-like values only (numbers, text, true/false, lists, mappings), so ``repr`` is code."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_plain(v, where) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _plain(v, where) for k, v in value.items()}
    raise TrainError(f"{where}: {value!r} cannot be written into a script; use plain values")


def _train_code(model: str, graph: LayerGraph, attrs: dict[str, str], padding: Any) -> str:
    frozen = frozen_module_names(graph, attrs)
    freeze = hold = ""
    if frozen:
        freeze = (
            f"    frozen = [model.get_submodule(name) for name in {literal(frozen)}]  # Trainable off\n"
            "    for module in frozen:\n"
            "        module.requires_grad_(False)\n"
        )
        hold = (
            "        for module in frozen:  # frozen BatchNorm keeps its running statistics\n"
            "            for sub in module.modules():\n"
            "                if isinstance(sub, nn.modules.batchnorm._NormBase):\n"
            "                    sub.eval()\n"
        )
    padding_call = ""
    if padding:
        padding_call = (
            "    train_split = ignore_padded_targets(train_split)\n"
            "    val_split = ignore_padded_targets(val_split)\n"
        )
    return loop_text.fill(
        loop_text.TRAIN, model=model, freeze=freeze, hold=hold, padding_call=padding_call
    )


def _docstring(model: str, name: str, config: TrainConfig, embedded: bool) -> str:
    safe = comment_text(name)[:60]
    needs = "torch and NumPy" + (
        " (the data set's loader is written below)" if embedded else " and an installed dlstudio"
    )
    about = (
        f"Trains {model} on {config.dataset} with {config.optimizer}, lr {config.lr}, "
        f"{config.epochs} epochs of batch {config.batch_size}, seed {config.seed}: the "
        f'experiment of the DL Studio project "{safe}". With the same seed, on the CPU, it '
        "repeats `python -m dlstudio train` loss for loss. Needs "
        f"{needs}. Every setting is a flag: python train.py --help."
    )
    return f"Training script for {model}.\n\n" + "\n".join(textwrap.wrap(about, 95))


_PARSE_ARGS = '''\
def parse_args(argv: list[str] | None = None) -> TrainSettings:
    """The settings, each changed by its flag: --lr 0.01, --epochs 3, --no-compile, ..."""
    parser = argparse.ArgumentParser(description="Train the model with the project's settings.")
    defaults = TrainSettings()
    for item in fields(TrainSettings):
        value = getattr(defaults, item.name)
        flag = "--" + item.name.replace("_", "-")
        if isinstance(value, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=value)
        elif isinstance(value, dict):
            parser.add_argument(flag, type=json.loads, default=value, metavar="JSON")
        else:
            choices = CHOICES.get(item.name)
            parser.add_argument(flag, type=type(value), default=value, choices=choices)
    return TrainSettings(**vars(parser.parse_args(argv)))'''

_MAIN = '''\
def main(argv: list[str] | None = None) -> nn.Module:
    """Read the flags and train; returns the trained model."""
    return train(parse_args(argv))'''

_SETTINGS_TEXT = (
    "The project's training settings. Every one is also a command-line flag "
    "(`python train.py --lr 0.01 --epochs 3`); in the notebook, change them in "
    "`parse_args([...])` in the last cell."
)
_LOSS_TEXT = (
    "The loss is **{loss}**; the reported metric is **{metric}**. Both are computed the way "
    "DL Studio computes them, so the numbers match the Training panel's."
)
_OPTIM_TEXT = (
    "The optimizer updates only the trainable parameters (layers with Trainable off stay as "
    "they are). The learning rate at each step is `lr` times a factor: a linear warm-up, then "
    "the schedule (step, cosine or one-cycle)."
)
_TRAIN_TEXT = (
    "The loop: the same seed gives the same initial weights, the same order of samples in "
    "every epoch and the same dropout, so on the CPU the losses repeat DL Studio's run step by "
    "step. Each epoch writes its losses to `metrics.jsonl` and a checkpoint (`--resume` "
    "continues from it); the end writes `weights.pt`, whose keys are the model's module paths."
)


def _model_text(model: str) -> str:
    return (
        f"`{model}` is the same code as `python -m dlstudio export --python`: the weights of a "
        "DL Studio run load into it by name."
    )


def _data_text(summary: str, embedded: bool) -> str:
    where = (
        "DL Studio's own loader, written into this file"
        if embedded
        else "DL Studio's own loader (`dlstudio.train.data`)"
    )
    return f"{summary}. It is read by {where}, and split into training and validation samples by the seed."

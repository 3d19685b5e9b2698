"""Setting up a run from a project: settings, data set and trainer, shared by GUI and CLI."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

from torch import nn

from dlstudio.core.tensor_spec import TensorSpec
from dlstudio.train.config import TrainConfig
from dlstudio.train.data import Dataset, load_dataset
from dlstudio.train.data_paths import resolve_training_paths
from dlstudio.train.distributed.context import DistContext
from dlstudio.train.errors import TrainError
from dlstudio.train.events import Callback, RunControl
from dlstudio.train.freezing import frozen_in_module, frozen_module_names
from dlstudio.train.trainer import Trainer


class CompiledModelLike(Protocol):
    """What the trainer needs of ``dlstudio.compile.CompiledModel``."""

    module: nn.Module
    input_specs: list[TensorSpec]
    input_names: list[str]
    output_specs: list[TensorSpec]
    node_attrs: dict[str, str]


def resolve_run(
    training: dict[str, Any] | None, base_dir: str | Path | None = None, **overrides: Any
) -> tuple[TrainConfig, Dataset]:
    """Settings and data set for a run from ``graph.metadata["training"]`` plus overrides.

    Relative data paths in ``training`` are relative to ``base_dir`` (the project file's folder);
    a data set given in ``overrides`` (typed by the user) is taken as it is.

    A data set named in ``overrides`` that differs from the project's does not inherit the
    project's ``dataset_options``. Task, loss and metric come from the data set when neither
    the project nor the overrides set them (so ``--dataset sine`` trains with MSE).

    ``tokenizer`` in ``overrides`` is the project's own tokenizer folder
    (:func:`~dlstudio.train.data.hf_tokenizer.project_tokenizer_folder`): text data sets are
    tokenized with it unless their options name another. It is not stored in the settings.
    """
    project_tokenizer = overrides.pop("tokenizer", None)
    if training is not None and not isinstance(training, dict):
        raise TrainError(
            f"metadata.training must be a mapping of settings, got {type(training).__name__} "
            f"{_short(training)}; fix it in the project file or reset it in the Training panel"
        )
    meta = resolve_training_paths(training or {}, Path(base_dir) if base_dir else None)
    for key in ("dataset_options",):
        if meta.get(key) is not None and not isinstance(meta[key], dict):
            raise TrainError(
                f"metadata.training.{key} must be a mapping of option names to values, got "
                f"{type(meta[key]).__name__} {_short(meta[key])}"
            )
    if overrides.get("dataset_options") is not None and not isinstance(
        overrides["dataset_options"], dict
    ):
        raise TrainError("dataset_options must be a mapping of option names to values")
    name = overrides.get("dataset") or meta.get("dataset")
    if name is not None and not isinstance(name, str):
        raise TrainError(f"the data set must be a name or a path, got {_short(name)}")
    if not name:
        raise TrainError(
            "no data set chosen: pick one in the Training panel or pass --dataset NAME|PATH "
            "(see `python -m dlstudio datasets`)"
        )
    options = dict(meta.get("dataset_options") or {}) if name == meta.get("dataset") else {}
    options.update(overrides.pop("dataset_options", None) or {})
    load_options = dict(options)
    if project_tokenizer and not options.get("tokenizer") and not _is_builtin_name(name):
        load_options["tokenizer"] = str(project_tokenizer)
    dataset = load_dataset(name, load_options)
    explicit = {k for k, v in overrides.items() if v is not None} | set(meta)
    for key in ("task", "loss", "metric"):
        if key not in explicit:
            overrides[key] = getattr(dataset, key)
    overrides.update(dataset=str(name), dataset_options=options)
    return TrainConfig.from_metadata(meta, **overrides), dataset


def _is_builtin_name(name: str) -> bool:
    from dlstudio.train.data import list_datasets

    return name in {info.name for info in list_datasets()}


def resolve_project_run(
    metadata: dict[str, Any] | None, base_dir: str | Path | None = None, **overrides: Any
) -> tuple[TrainConfig, Dataset]:
    """:func:`resolve_run` for a whole project: its training settings and the tokenizer it
    carries (``metadata.tokenizer``, a folder beside the project file, read from ``base_dir``).
    Every place that loads a project's data set goes through here, so an imported Hugging Face
    model's texts are tokenized the same way everywhere."""
    from dlstudio.train.data.hf_tokenizer import project_tokenizer_folder

    metadata = metadata if isinstance(metadata, dict) else {}
    if overrides.get("tokenizer") is None:
        # project_tokenizer_folder takes the project file; any name in its folder will do. An
        # unsaved project (a model just imported in the window) names its tokenizer by an
        # absolute path, which needs no folder.
        project = Path(base_dir) / "project.json" if base_dir is not None else None
        tokenizer = project_tokenizer_folder(metadata, project)
        if project is None and tokenizer is not None and not Path(tokenizer).is_absolute():
            tokenizer = None  # relative to a project file there is not
        if tokenizer is not None:
            overrides["tokenizer"] = tokenizer
    return resolve_run(metadata.get("training"), base_dir, **overrides)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_training_fits(compiled: CompiledModelLike, config: TrainConfig) -> None:
    """Refuse (:class:`~dlstudio.core.errors.ModelTooLargeError`) a run whose weights, gradients,
    optimizer state and activations at the batch size cannot fit on the chosen device."""
    analysis = getattr(compiled, "analysis", None)
    if analysis is None:
        return
    from dlstudio.compile.limits import check_fits
    from dlstudio.train.devices import resolve_device

    check_fits(
        analysis,
        "train",
        name=getattr(getattr(compiled, "code", None), "class_name", ""),
        device=resolve_device(config.device),
        batch_size=config.batch_size,
        optimizer=config.optimizer,
    )


def target_padding(compiled: CompiledModelLike) -> tuple[int, int] | None:
    """(input position, padding id) of the padded Input whose mask reaches the first output,
    or None (see :attr:`Trainer.target_padding`)."""
    specs = list(getattr(compiled, "output_specs", None) or [])
    code = getattr(compiled, "code", None)
    if not specs or specs[0].mask is None or code is None:
        return None
    for position, description in enumerate(code.inputs):
        if description.node_id == specs[0].mask and description.padding_id is not None:
            return position, int(description.padding_id)
    return None


def make_trainer(
    compiled: CompiledModelLike,
    config: TrainConfig,
    callbacks: Iterable[Callback] = (),
    control: RunControl | None = None,
    checkpoint_dir: str | Path | None = None,
    graph: Any = None,
    dist: DistContext | None = None,
) -> Trainer:
    """A Trainer for a compiled graph, checking data against its Input and Output nodes and
    refusing a model that cannot fit in memory (:func:`check_training_fits`).

    Frozen nodes stay frozen: their submodules keep every parameter and statistic. They are
    the submodules the compiled code froze (inside blocks too), and with ``graph`` (the graph
    compiled) the frozen nodes' submodules found through ``compiled.node_attrs``.
    """
    check_training_fits(compiled, config)
    outputs = list(getattr(compiled, "output_specs", None) or [])
    frozen: list[str] = []
    if graph is not None:
        frozen = frozen_module_names(graph, getattr(compiled, "node_attrs", None) or {})
    frozen += [name for name in frozen_in_module(compiled.module) if name not in frozen]
    return Trainer(
        compiled.module,
        config,
        callbacks=callbacks,
        control=control,
        checkpoint_dir=checkpoint_dir,
        expected_inputs=list(compiled.input_specs),
        input_names=list(compiled.input_names),
        expected_output=outputs[0] if outputs else None,
        frozen=frozen,
        dist=dist,
        target_padding=target_padding(compiled),
    )

"""Finding the model to import: ``package.module:callable``, ``file.py[:Name]`` or ``.onnx``."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
import types
from pathlib import Path
from typing import Any

from torch import nn

from dlstudio.compile.importers.errors import ImportFailed
from dlstudio.compile.importers.fx_import import InputSpec


def is_onnx(source: str) -> bool:
    """True for a path ending in ``.onnx``."""
    return source.lower().endswith(".onnx")


def load_model(source: str) -> nn.Module:
    """The module ``source`` names, built by calling it without arguments if it is a class or
    function. Running a ``.py`` file runs its code, as ``python file.py`` would."""
    target, _, attr = source.partition(":")
    if target.endswith(".py") or Path(target).suffix == ".py":
        namespace = _load_file(Path(target))
        obj = _find(namespace, attr, target)
    else:
        if target.split(".")[0] in USES_TORCHVISION:
            prepare_torchvision()
        try:
            namespace = importlib.import_module(target)
        except Exception as exc:
            raise ImportFailed(
                f"cannot import {target!r} ({type(exc).__name__}: {exc}); give "
                "package.module:callable, or a file.py:ClassName"
            ) from exc
        obj = _find(namespace, attr, target)
    return _instantiate(obj, source)


USES_TORCHVISION = frozenset({"torchvision", "timm", "transformers"})
"""Packages whose import imports torchvision."""
TORCHVISION_NOTICE = (
    "notice: torchvision's compiled operators do not load against this torch; "
    "its model definitions are loaded without them"
)


def prepare_torchvision() -> None:
    """Make ``import torchvision`` work where its compiled operators do not load.

    The torchvision build paired with this torch may be a CUDA one: registering its operators in
    ``torchvision._meta_registrations`` fails against the CPU torch ("operator torchvision::nms
    does not exist"), and with it the whole import. The model definitions are pure Python and
    need none of them, so after such a failure an empty module stands in for that one and the
    import is tried again, with a one-line notice."""
    name = "torchvision._meta_registrations"
    if "torchvision" in sys.modules or importlib.util.find_spec("torchvision") is None:
        return  # loaded already, or not installed (the ordinary import error says so)
    try:
        importlib.import_module("torchvision")
        return
    except Exception as exc:
        reason = " ".join(str(exc).split())
    for loaded in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[loaded]
    sys.modules[name] = types.ModuleType(name)
    print(f"{TORCHVISION_NOTICE} ({reason})", file=sys.stderr)


def _load_file(path: Path) -> Any:
    if not path.exists():
        raise ImportFailed(f"{path} does not exist")
    name = f"dlstudio_import_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportFailed(f"{path} is not a Python file that can be loaded")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look classes up here
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise ImportFailed(f"running {path} failed: {type(exc).__name__}: {exc}") from exc
    return module


def _find(namespace: Any, attr: str, where: str) -> Any:
    if attr:
        obj = namespace
        for part in attr.split("."):
            if not hasattr(obj, part):
                raise ImportFailed(f"{where} has no {attr!r}")
            obj = getattr(obj, part)
        return obj
    classes = [
        v
        for v in vars(namespace).values()
        if inspect.isclass(v)
        and issubclass(v, nn.Module)
        and v.__module__ == namespace.__name__
        and not _is_helper_class(v)
    ]
    if len(classes) != 1:
        names = ", ".join(c.__name__ for c in classes) or "none"
        raise ImportFailed(
            f"say which model to import from {where}: {where}:ClassName (its nn.Module "
            f"classes: {names})"
        )
    return classes[0]


def _is_helper_class(cls: type) -> bool:
    # Exported DL Studio files define helper modules before the model; the model is the one
    # no other class in the file uses, which is also the last one defined.
    from dlstudio.compile.emitters import HELPERS

    return cls.__name__ in HELPERS


def _instantiate(obj: Any, source: str) -> nn.Module:
    if isinstance(obj, nn.Module):
        return obj
    if not callable(obj):
        raise ImportFailed(f"{source} is neither an nn.Module nor something that builds one")
    try:
        model = obj()
    except TypeError as exc:
        raise ImportFailed(
            f"{source} needs arguments to build the model ({exc}); wrap it in a function "
            "that takes none"
        ) from exc
    except Exception as exc:  # the factory's own failure: its words, never a traceback
        raise ImportFailed(
            f"{source}() raised {type(exc).__name__}: {' '.join(str(exc).split())}"
        ) from exc
    if not isinstance(model, nn.Module):
        raise ImportFailed(f"{source}() returned a {type(model).__name__}, not an nn.Module")
    return model


def guess_inputs(model: nn.Module) -> list[InputSpec]:
    """An input for models whose first layer says what it takes: images for a Conv2d (224 x 224),
    vectors for a Linear, token ids for an Embedding."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            return [InputSpec((m.in_channels, 224, 224))]
        if isinstance(m, nn.Conv1d):
            return [InputSpec((m.in_channels, "T"), seq_len=64)]
        if isinstance(m, nn.Embedding):
            return [InputSpec(("T",), "int64", seq_len=16, vocab_size=m.num_embeddings)]
        if isinstance(m, nn.Linear):
            return [InputSpec((m.in_features,))]
        if isinstance(m, (nn.LSTM, nn.GRU, nn.RNN)):
            return [InputSpec(("T", m.input_size), seq_len=16)]
    raise ImportFailed(
        "cannot tell what the model takes; give --input-shape (one sample, without the batch)"
    )

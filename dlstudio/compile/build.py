"""Graph -> source -> ``exec`` -> ``nn.Module``: the module trained is the file exported."""

from __future__ import annotations

import linecache
import types
from dataclasses import dataclass, field
from pathlib import Path

import torch

from dlstudio.analysis import AnalysisResult, analyze
from dlstudio.analysis.memory import estimate_memory
from dlstudio.compile.codegen import GeneratedCode, generate
from dlstudio.compile.errors import CompileError
from dlstudio.compile.limits import check_fits
from dlstudio.compile.weights import WeightsMismatchError, load_weights
from dlstudio.core.blocks import BLOCK_TYPE
from dlstudio.core.collector import collector_paused
from dlstudio.core.errors import DLStudioError, ModelTooLargeError
from dlstudio.core.graph import LayerGraph
from dlstudio.core.source import compile_source
from dlstudio.core.tensor_spec import TensorSpec


@dataclass
class CompiledModel:
    """A graph compiled to a module, with the source it came from (see docs/contracts.md)."""

    module: torch.nn.Module
    source: str
    input_specs: list[TensorSpec]
    """One per Input node, in document order; shapes start with the symbolic batch ``N``."""
    input_names: list[str]
    """Sanitised Input node names (the ONNX input names; forward() may call a lone input x)."""
    output_names: list[str]
    output_specs: list[TensorSpec]
    code: GeneratedCode | None = field(default=None, repr=False)
    analysis: AnalysisResult | None = field(default=None, repr=False)

    @property
    def node_attrs(self) -> dict[str, str]:
        """Node id -> identifier used for its submodule and ``state_dict`` prefix."""
        return dict(self.code.attrs) if self.code else {}


def load_generated(code: GeneratedCode, module_name: str | None = None) -> types.ModuleType:
    """Execute generated source as a fresh module (never as ``__main__``)."""
    name = module_name or f"dlstudio_generated_{code.class_name.lower()}"
    filename = f"<dlstudio-generated {code.class_name}>"
    # Registered so tracebacks and torch's exporters can show the generated lines.
    linecache.cache[filename] = (len(code.source), None, code.source.splitlines(True), filename)
    module = types.ModuleType(name)
    module.__file__ = filename
    # dont_inherit: the generated file must not pick up this module's __future__ flags.
    exec(compile_source(code.source, filename), module.__dict__)
    return module


def compile_graph(
    graph: LayerGraph,
    analysis: AnalysisResult | None = None,
    base_dir: str | Path | None = None,
) -> CompiledModel:
    """Compile ``graph``; raises :class:`~dlstudio.compile.errors.CompileError` naming every
    node with a problem if the analysis found errors.

    Block instances that name a ``weights`` file get those weights (a relative path is read
    from ``base_dir``, the project's folder)."""
    with collector_paused():  # see dlstudio.core.collector: thousands of modules, no cycles
        return _compile(graph, analysis, base_dir)


def _compile(
    graph: LayerGraph, analysis: AnalysisResult | None, base_dir: str | Path | None
) -> CompiledModel:
    if analysis is None:
        analysis = analyze(graph)
    code = generate(graph, analysis)
    check_fits(analysis, "compile", graph.name)
    namespace = load_generated(code)
    try:
        module = getattr(namespace, code.class_name)()
    except MemoryError:
        estimate = estimate_memory(analysis, "compile")
        raise ModelTooLargeError(
            f"cannot compile {graph.name!r}: out of memory while creating its weights (about "
            f"{estimate.describe()}); make the model smaller",
            needed=estimate.total_bytes,
            available=0,
        ) from None
    load_instance_weights(graph, module, code.attrs, base_dir)
    outputs = [analysis.nodes[node.id].inputs["in"] for node in graph if node.type_id == "output"]
    return CompiledModel(
        module=module,
        source=code.source,
        input_specs=[i.spec for i in code.inputs],
        input_names=[i.name for i in code.inputs],
        output_names=list(code.output_names),
        output_specs=outputs,
        code=code,
        analysis=analysis,
    )


def load_instance_weights(
    graph: LayerGraph,
    module: torch.nn.Module,
    attrs: dict[str, str],
    base_dir: str | Path | None,
) -> None:
    """Load each top-level block instance's ``weights`` file into its submodule; every tensor
    must fit, else :class:`CompileError` names the instance and what did not."""
    for node in graph:
        path = node.params.get("weights") if node.type_id == BLOCK_TYPE else None
        if not path:
            continue
        file = Path(path)
        if not file.is_absolute() and base_dir is not None:
            file = Path(base_dir) / file
        try:
            load_weights(module.get_submodule(attrs[node.id]), file, fit="all")
        except WeightsMismatchError as exc:
            problems = "; ".join(exc.report.messages()[:5]) or "no tensor matched"
            message = f"{node.name}: the weights in {file} do not fit the block: {problems}"
            raise CompileError(graph.name, [(node.name, message)]) from exc
        except DLStudioError as exc:
            raise CompileError(graph.name, [(node.name, f"{node.name}: {exc}")]) from exc

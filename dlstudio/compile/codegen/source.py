"""Graph -> readable PyTorch source, as pure string work (no torch import).

The text follows the shape of a hand-written model file: docstring, imports, a config
dataclass with the model's hyper-parameters and example input sizes, the helper classes in use, one ``nn.Module`` whose
submodules are declared in the order forward() uses them, and a ``__main__`` smoke test.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field, replace

from dlstudio.analysis import AnalysisResult, analyze
from dlstudio.compile.codegen.blocks import BlockClasses, BlockCode
from dlstudio.compile.codegen.config import config_class, hyper_parameters
from dlstudio.compile.codegen.format import INDENT, signature_lines, statement_lines
from dlstudio.compile.codegen.init import init_lines
from dlstudio.compile.codegen.inputs import InputDescription, describe_inputs
from dlstudio.compile.codegen.names import (
    NameAllocator,
    assignment_lines,
    class_name,
    comment_text,
    identifier_base,
    module_ref,
)
from dlstudio.compile.codegen.plan import STRUCTURAL, ForwardPlan, plan_forward
from dlstudio.compile.codegen.script_text import (
    example_inputs_text,
    main_text,
    return_lines,
    symbol_fields_of,
    vocab_fields_of,
)
from dlstudio.compile.codegen.tying import tied_weight_lines
from dlstudio.compile.emitters import EMITTERS, HELPERS, helper_closure
from dlstudio.compile.errors import CompileError
from dlstudio.core.blocks import BLOCK_TYPE
from dlstudio.core.collector import collector_paused
from dlstudio.core.graph import LayerGraph, LayerNode
from dlstudio.layers import UnknownLayerError, get_layer_type


@dataclass(frozen=True)
class GeneratedCode:
    """The generated source and what callers need to use it."""

    source: str
    class_name: str
    config_name: str
    inputs: list[InputDescription]
    """One per Input node in document order, named by the sanitised node name."""
    output_names: list[str]
    """Sanitised Output node names, in the order forward() returns them."""
    attrs: dict[str, str]
    """Node id -> its identifier (the submodule ``self.<attr>``, the state_dict prefix)."""
    node_names: dict[str, str]
    """Identifier -> the node's name in the drawing, for messages."""
    symbol_fields: dict[str, str]
    """Symbolic size (``"T"``) -> the config field holding its example value."""
    line_nodes: dict[int, str]
    """Line number (1-based) of each forward() line -> the node's name, for error messages."""
    blocks: dict[str, BlockCode] = field(default_factory=dict)
    """Block class name -> where its inner nodes are (``lines`` 1-based in ``source``); an
    inlined chain is keyed by its definition's name in brackets, ``"[downsample]"``."""


def generate_source(graph: LayerGraph, analysis: AnalysisResult | None = None) -> str:
    """The PyTorch source of ``graph``; :class:`CompileError` if the graph has errors."""
    return generate(graph, analysis).source


def generate(graph: LayerGraph, analysis: AnalysisResult | None = None) -> GeneratedCode:
    """Generate the source of ``graph`` (analysing it first unless ``analysis`` is given)."""
    with collector_paused():  # see dlstudio.core.collector
        return _generate(graph, analysis)


def _generate(graph: LayerGraph, analysis: AnalysisResult | None) -> GeneratedCode:
    if analysis is None:
        analysis = analyze(graph)
    check_compilable(graph, analysis)
    model = class_name(graph.name)
    if model in HELPERS or f"{model}Config" in HELPERS:
        model = f"{model}Model"  # never shadow a helper class the model needs
    config = f"{model}Config"
    allocator = NameAllocator({model, config, *HELPERS})
    attrs = {
        node.id: allocator.allocate(node.name, _prefix(node), node.type_id not in _IO)
        for node in graph
    }
    block_classes = BlockClasses(graph, analysis, {model, config, *HELPERS})
    inputs = describe_inputs(graph, analysis, attrs)
    symbol_fields = symbol_fields_of(inputs)
    vocab_fields = vocab_fields_of(inputs)
    hyper = hyper_parameters(
        graph,
        analysis,
        attrs,
        {"batch_size", *symbol_fields.values(), *vocab_fields.values()},
        lambda node_id, name: block_classes.reads_parameter(analysis.nodes[node_id], name),
    )
    block_classes.read_from_config(hyper.params, hyper.repeats)
    plan = plan_forward(graph, analysis, attrs, allocator, block_classes.emit)
    output_names = [attrs[n.id] for n in graph if n.type_id == "output"]
    blocks = []
    if symbol_fields or vocab_fields or hyper:
        blocks.append(
            config_class(config, analysis.bindings, symbol_fields, inputs, vocab_fields, hyper)
        )
    else:
        config = ""  # only the batch size: example_inputs(batch_size) needs no config class
    helpers = _helpers_used(plan)
    helpers += [h for h in block_classes.helpers if h not in helpers]
    blocks += [h.source.strip("\n") for h in helper_closure(helpers)]
    blocks += block_classes.sources
    model_text, statements = _model_class(
        graph, analysis, model, plan, inputs, config if hyper else ""
    )
    before_model = blocks[:]
    blocks += [
        model_text,
        example_inputs_text(config, inputs, symbol_fields, vocab_fields),
        main_text(config, model, output_names),
    ]
    text = "\n\n\n".join(blocks) + "\n"
    head = _module_docstring(graph, model, inputs) + "\n\n" + _imports(text)
    text = head + "\n\n\n" + text
    node_names = {attrs[node.id]: node.name for node in graph}
    # The class's first line: every part before it is followed by two blank lines.
    start = 1 + sum(part.count("\n") + 3 for part in [head, *before_model])
    names = [graph.node(s.node_id).name for s in plan.steps]
    line_nodes = _forward_lines(start, statements, names)
    return GeneratedCode(
        text,
        model,
        config,
        inputs,
        output_names,
        attrs,
        node_names,
        symbol_fields,
        line_nodes,
        _block_codes(text, block_classes.codes),
    )


_IO = ("input", "output")


def _prefix(node: LayerNode) -> str:
    if node.type_id == BLOCK_TYPE:
        return identifier_base(str(node.params.get("block", "block")).lower(), "block")
    return get_layer_type(node.type_id).prefix


def _forward_lines(
    start: int, statements: list[tuple[int, int]], step_names: list[str]
) -> dict[int, str]:
    """Line number (from 1) of each line of the model's forward() -> the node it computes.

    ``start`` is the class's first line; ``statements`` gives each step's statement as its
    first and last line within the class (one line, or several when a long call wraps; a
    comment moved above a long statement is not part of it)."""
    out: dict[int, str] = {}
    for (first, last), name in zip(statements, step_names, strict=True):
        for number in range(start + first, start + last + 1):
            out[number] = name
    return out


def _block_codes(text: str, codes: list[BlockCode]) -> dict[str, BlockCode]:
    """The block classes' forward() lines as line numbers of the whole source."""
    lines = text.splitlines()
    found: dict[str, BlockCode] = {}
    for code in codes:
        if code.inline:
            found[f"[{code.definition}]"] = code
            continue
        start = next(
            i for i, line in enumerate(lines) if line.startswith(f"class {code.class_name}(")
        )
        absolute = {start + 1 + offset: node for offset, node in code.lines.items()}
        found[code.class_name] = replace(code, lines=absolute)
    return found


def check_compilable(graph: LayerGraph, analysis: AnalysisResult) -> None:
    """Raise :class:`CompileError` listing every problem that blocks compiling, by node."""
    names = {node.id: node.name for node in graph}
    problems = [(names.get(d.node_id or ""), d.message) for d in analysis.errors]
    inner = [n for d in graph.blocks.values() for n in d.graph]
    for node in [*graph, *inner]:
        if node.type_id in STRUCTURAL or node.type_id == BLOCK_TYPE:
            continue
        try:
            layer = get_layer_type(node.type_id)
        except UnknownLayerError:
            continue  # already reported by the analysis
        if node.type_id not in EMITTERS:
            problems.append(
                (
                    node.name,
                    f"{node.name} ({layer.label}): the compiler has no PyTorch code for layer "
                    f"type {node.type_id!r} yet; replace the node with another layer",
                )
            )
    if not problems and not any(n.type_id == "output" for n in graph):
        problems.append((None, "the graph has no Output node: add one after the last layer"))
    if problems:
        raise CompileError(graph.name, problems)


# ----------------------------------------------------------------------------- parts
def _module_docstring(graph: LayerGraph, model: str, inputs: list[InputDescription]) -> str:
    symbols = sorted({s for i in inputs for s in i.symbols})
    sizes = "N is the batch size" + "".join(f", {s} a sequence length" for s in symbols)
    about = (
        "Plain PyTorch, needing only torch. Shape comments in forward() give each tensor's size "
        f"({sizes}). Run this file to build the model and pass one random batch through it."
    )
    return "\n".join(
        [
            *_first_docstring_line(model, comment_text(graph.name)[:50]),
            "",
            *textwrap.wrap(about, 99),
            '"""',
        ]
    )


def _first_docstring_line(model: str, name: str) -> list[str]:
    line = f'"""{model}: the network drawn in DL Studio as "{name}".'
    if len(line) <= 100:
        return [line]
    return [f'"""{model}:', f'the network drawn in DL Studio as "{name}".']


def _imports(body: str) -> str:
    stdlib = []
    if _uses_module(body, "math"):
        stdlib.append("import math")
    if "@dataclass" in body:
        stdlib.append("from dataclasses import dataclass")
    third = ["import torch", "import torch.nn as nn"]
    if _uses_module(body, "F"):
        third.append("import torch.nn.functional as F")
    return "\n".join([*stdlib, "", *third] if stdlib else third)


def _uses_module(body: str, name: str) -> bool:
    """True when ``body`` has ``name.`` not preceded by a dot or a word character (``math.pi``,
    not ``self.math.pi`` or ``xmath.pi``). A search for the text itself, then a look at the
    character before: a regular expression with a look-behind tests every position of a
    large model's source, which took longer than the rest of its imports."""
    needle = name + "."
    start = body.find(needle)
    while start != -1:
        before = body[start - 1] if start else ""
        if not (before == "." or re.fullmatch(r"\w", before)):
            return True
        start = body.find(needle, start + 1)
    return False


def _helpers_used(plan: ForwardPlan) -> list[str]:
    names: list[str] = []
    for step in plan.steps:
        names += [h for h in step.emission.helpers if h not in names]
    return names


def _model_class(
    graph: LayerGraph,
    analysis: AnalysisResult,
    model: str,
    plan: ForwardPlan,
    inputs: list[InputDescription],
    config: str,
) -> tuple[str, list[tuple[int, int]]]:
    """The model class, and where each step's forward() statement is: its first and last
    line, counted from the class's first line (0). With ``config`` its constructor takes the
    hyper-parameters from it."""
    outputs = []
    for node in graph:
        if node.type_id == "output":
            outputs.append(str(analysis.nodes[node.id].inputs.get("in", "?")))
    ins = ", ".join(str(i.spec) for i in inputs)
    summary = f"{ins} -> {', '.join(outputs)}; {analysis.total_params:,} parameters."
    lines = [f"class {model}(nn.Module):"]
    if len(summary) <= 88:
        lines += [f'{INDENT}"""{comment_text(summary)}"""', ""]
    else:  # several inputs or outputs: one line each
        lines += [
            f'{INDENT}"""{model}: {analysis.total_params:,} parameters.',
            "",
            *textwrap.wrap(
                f"Inputs: {comment_text(ins)}", 96, initial_indent=INDENT, subsequent_indent=INDENT
            ),
            *textwrap.wrap(
                f"Outputs: {comment_text(', '.join(outputs))}",
                96,
                initial_indent=INDENT,
                subsequent_indent=INDENT,
            ),
            f'{INDENT}"""',
            "",
        ]
    if config:
        lines += [
            f"{INDENT}def __init__(self, config: {config} | None = None) -> None:",
            f"{INDENT * 2}super().__init__()",
            f"{INDENT * 2}config = {config}() if config is None else config",
        ]
    else:
        lines += [f"{INDENT}def __init__(self) -> None:", f"{INDENT * 2}super().__init__()"]
    for step in plan.steps:
        if step.emission.module is None:
            continue
        lines += assignment_lines(INDENT * 2, step.attr, step.emission.module)
        if not graph.node(step.node_id).trainable:
            lines.append(
                f"{INDENT * 2}{module_ref(step.attr)}.requires_grad_(False)  # frozen in the drawing"
            )
    lines += tied_weight_lines(graph, analysis, {s.node_id: s.attr for s in plan.steps}, INDENT * 2)
    lines += init_lines(graph, INDENT * 2)
    returns = "torch.Tensor"
    if len(plan.returns) > 1:
        returns = f"tuple[{', '.join(['torch.Tensor'] * len(plan.returns))}]"
    params = ["self", *(f"{a}: torch.Tensor" for a in plan.args)]
    lines += ["", *signature_lines(INDENT, "def forward", params, f" -> {returns}:")]
    statements = []
    for step in plan.steps:
        code = f"{', '.join(step.targets)} = {step.emission.forward}"
        written = statement_lines(INDENT * 2, code, comment_text(step.comment))
        above = 1 if len(written) > 1 and written[0].lstrip().startswith("#") else 0
        statements.append((len(lines) + above, len(lines) + len(written) - 1))
        lines += written
    lines += return_lines(INDENT * 2, plan.returns)
    return "\n".join(lines), statements

"""The text of one block class: signature, docstring, submodules and forward()."""

from __future__ import annotations

import re
import textwrap

from dlstudio.compile.codegen.format import INDENT, statement_lines, wrap_call
from dlstudio.compile.codegen.names import assignment_lines, comment_text, module_ref
from dlstudio.compile.codegen.plan import STRUCTURAL, ForwardPlan
from dlstudio.compile.emitters import lit
from dlstudio.core.blocks import BlockDefinition
from dlstudio.core.graph import LayerGraph

_PY_TYPES = {"int": "int", "float": "float", "bool": "bool", "choice": "str"}
_LINE = 100
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(])")


def class_text(
    name: str, definition: BlockDefinition, plan: ForwardPlan, comments: list[str]
) -> tuple[str, dict[int, str]]:
    """The source of one block class: an ``nn.Sequential`` for a numbered chain, an
    ``nn.ModuleList`` with a ``forward`` for numbered layers taking more than the chain's
    tensor, else an ``nn.Module`` with ``__init__`` and ``forward`` (``comments``: one shape
    per step); and the
    line (0-based, in that text) of each forward() step -> its node id (none for a chain)."""
    doc = _docstring(definition.description or f"The {definition.name} block.")
    graph = definition.graph
    init = _init_signature(definition)
    if is_numbered_chain(graph, plan):
        lines = [f"class {name}(nn.Sequential):", *doc, ""]
        lines += [*init, f"{INDENT * 2}super().__init__("]
        for step, comment in zip(plan.steps, comments, strict=True):
            call = wrap_call(f"{INDENT * 3}", step.emission.module or "", 90)
            note = f"  # {comment_text(comment)}"
            if len(call) == 1 and len(call[0]) + 1 + len(note) > 100:
                lines.append(f"{INDENT * 3}#{note[3:]}")  # the shape above a long line
                lines.append(call[0] + ",")
            else:
                call[-1] += "," + note
                lines += call
        lines.append(f"{INDENT * 2})")
        for index, step in enumerate(plan.steps):
            if not graph.node(step.node_id).trainable:
                lines.append(f"{INDENT * 2}self[{index}].requires_grad_(False)  # frozen")
        return "\n".join(lines), {}
    numbered = is_numbered_list(graph, plan)
    if numbered:
        lines = [f"class {name}(nn.ModuleList):", *doc, ""]
        lines += [*init, f"{INDENT * 2}super().__init__(", f"{INDENT * 3}["]
        for step in plan.steps:
            call = wrap_call(f"{INDENT * 4}", step.emission.module or "", 90)
            call[-1] += ","
            lines += call
        lines += [f"{INDENT * 3}]", f"{INDENT * 2})"]
        for index, step in enumerate(plan.steps):
            if not graph.node(step.node_id).trainable:
                lines.append(f"{INDENT * 2}self[{index}].requires_grad_(False)  # frozen")
    else:
        lines = [f"class {name}(nn.Module):", *doc, ""]
        lines += [*init, f"{INDENT * 2}super().__init__()"]
    for step in plan.steps if not numbered else ():
        if step.emission.module is None:
            continue
        lines += assignment_lines(INDENT * 2, step.attr, step.emission.module)
        if not graph.node(step.node_id).trainable:
            lines.append(f"{INDENT * 2}{module_ref(step.attr)}.requires_grad_(False)  # frozen")
    args = "".join(f", {a}: torch.Tensor" for a in plan.args)
    returns = "torch.Tensor"
    if len(plan.returns) > 1:
        returns = f"tuple[{', '.join(['torch.Tensor'] * len(plan.returns))}]"
    lines += ["", f"{INDENT}def forward(self{args}) -> {returns}:"]
    step_lines: dict[int, str] = {}
    for index, (step, comment) in enumerate(zip(plan.steps, comments, strict=True)):
        forward = step.emission.forward
        if numbered:  # the submodule is the list's item
            forward = forward.replace(f"{module_ref(step.attr)}(", f"self[{index}](", 1)
        code = f"{', '.join(step.targets)} = {forward}"
        written = statement_lines(INDENT * 2, code, comment_text(comment), _LINE)
        # The statement's first line (a shape comment above a long one comes before it).
        first = next(i for i, text in enumerate(written) if not text.lstrip().startswith("#"))
        step_lines[len(lines) + first] = step.node_id
        lines += written
    lines.append(f"{INDENT * 2}return {', '.join(plan.returns)}")
    return "\n".join(lines), step_lines


def _docstring(description: str) -> list[str]:
    """The class docstring: the description's first sentence, wrapped to the line length."""
    text = " ".join(description.split())
    first = comment_text(_SENTENCE_END.split(text, maxsplit=1)[0])
    one_line = f'{INDENT}"""{first}"""'
    if len(one_line) <= _LINE:
        return [one_line]
    body = textwrap.wrap(first, _LINE - len(INDENT) - 3)
    if len(body) == 1:  # fits beside one pair of quotes but not both
        return [f'{INDENT}"""{body[0]}', f'{INDENT}"""']
    return [
        f'{INDENT}"""{body[0]}',
        *(f"{INDENT}{line}" for line in body[1:-1]),
        f'{INDENT}{body[-1]}"""',
    ]


def _init_signature(definition: BlockDefinition) -> list[str]:
    """``def __init__(self, channels: int = 64) -> None:``, wrapped as ruff format would."""
    params = [f"{p.name}: {_PY_TYPES[p.kind]} = {lit(p.default)}" for p in definition.params]
    line = f"{INDENT}def __init__({', '.join(['self', *params])}) -> None:"
    if len(line) <= _LINE:
        return [line]
    inner = f"{INDENT * 2}{', '.join(['self', *params])}"
    if len(inner) <= _LINE:
        return [f"{INDENT}def __init__(", inner, f"{INDENT}) -> None:"]
    return [
        f"{INDENT}def __init__(",
        *(f"{INDENT * 2}{p}," for p in ["self", *params]),
        f"{INDENT}) -> None:",
    ]


def is_numbered_chain(graph: LayerGraph, plan: ForwardPlan) -> bool:
    """Inner layers named 0, 1, ... in a straight line, each a plain submodule call: the class
    is an ``nn.Sequential`` (torchvision's ``downsample``), so its keys are ``0.weight``."""
    inner = [n for n in graph if n.type_id not in STRUCTURAL]
    if not inner or [n.name for n in inner] != [str(i) for i in range(len(inner))]:
        return False
    if len(plan.args) != 1 or len(plan.returns) != 1 or len(plan.steps) != len(inner):
        return False
    variable = plan.args[0]
    for step, node in zip(plan.steps, inner, strict=True):
        emission = step.emission
        if step.node_id != node.id or emission.module is None:
            return False
        if emission.forward != f"{module_ref(step.attr)}({variable})" or len(step.targets) != 1:
            return False
        variable = step.targets[0]
    return plan.returns == [variable]


def is_numbered_list(graph: LayerGraph, plan: ForwardPlan) -> bool:
    """Inner layers named 0, 1, ..., each a submodule called once, that are not a plain chain
    (each also takes another of the block's inputs: BERT's layers take the attention mask): the
    class is an ``nn.ModuleList`` with a ``forward()``, so its keys are ``0.weight`` as the
    source's ``nn.ModuleList`` has them."""
    inner = [n for n in graph if n.type_id not in STRUCTURAL]
    if not inner or [n.name for n in inner] != [str(i) for i in range(len(inner))]:
        return False
    if len(plan.steps) != len(inner) or is_numbered_chain(graph, plan):
        return False
    for step, node in zip(plan.steps, inner, strict=True):
        call = f"{module_ref(step.attr)}("
        forward = step.emission.forward
        if step.node_id != node.id or step.emission.module is None or not step.enabled:
            return False
        if not forward.startswith(call) or forward.count(module_ref(step.attr)) != 1:
            return False
    return True

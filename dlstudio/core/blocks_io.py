"""Block definitions in the project file (``"blocks"``, format version 2) and their checks.

The same checks guard edits (:func:`block_problems`): a document the editor produces always
loads again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dlstudio.core.blocks import (
    BLOCK_TYPE,
    MAX_NESTING,
    PARAM_KINDS,
    BlockDefinition,
    BlockParam,
    check_definition_name,
    check_param_name,
    condition_problem,
    find_recursion,
    instance_settings,
    nesting_depth,
    resolve_inner_params,
    used_definitions,
)
from dlstudio.core.errors import GraphEditError
from dlstudio.core.expressions import ExpressionError, is_expression, names, parse
from dlstudio.core.graph import LayerGraph, LayerNode

GraphReader = Callable[..., None]
GraphWriter = Callable[[LayerGraph], dict[str, Any]]


def blocks_to_json(graph: LayerGraph, graph_json: GraphWriter) -> list[dict[str, Any]]:
    """The ``blocks`` list: each definition's name, parameters, nodes and edges."""
    out = []
    for definition in graph.blocks.values():
        params = []
        for p in definition.params:
            item: dict[str, Any] = {"name": p.name, "kind": p.kind, "default": p.default}
            if p.minimum is not None:
                item["minimum"] = p.minimum
            if p.maximum is not None:
                item["maximum"] = p.maximum
            if p.choices:
                item["choices"] = list(p.choices)
            if p.help:
                item["help"] = p.help
            params.append(item)
        entry: dict[str, Any] = {"name": definition.name}
        if definition.description:
            entry["description"] = definition.description
        entry["params"] = params
        entry.update(graph_json(definition.graph))
        out.append(entry)
    return out


def read_blocks(r: Any, data: Any, node_checker: Any, read_graph: GraphReader) -> dict:
    """Read the ``blocks`` list into definitions by name (``r`` is the file's field reader)."""
    r.expect(isinstance(data, list), "blocks", "blocks must be a list of block definitions")
    r.expect(len(data) <= 10_000, "blocks", "a project holds at most 10,000 block definitions")
    blocks: dict[str, BlockDefinition] = {}
    for i, item in enumerate(data):
        at = f"blocks[{i}]"
        r.expect(isinstance(item, dict), at, "each block definition must be a JSON object")
        name = r.string(item.get("name"), f"{at}.name", required=True)
        problem = check_definition_name(name)
        r.expect(problem is None, f"{at}.name", problem or "")
        r.expect(name not in blocks, f"{at}.name", f"the block name {name!r} is used twice")
        description = r.string(item.get("description", ""), f"{at}.description")
        params_data = item.get("params", [])
        r.expect(isinstance(params_data, list), f"{at}.params", "params must be a list")
        params: list[BlockParam] = []
        for j, p in enumerate(params_data):
            params.append(_read_param(r, p, f"{at}.params[{j}]", {q.name for q in params}))
        graph = LayerGraph(name)
        read_graph(r, graph, item, f"{at}.", node_checker)
        graph.revision = 0
        blocks[name] = BlockDefinition(name, graph, tuple(params), description)
    return blocks


def _read_param(r: Any, data: Any, at: str, taken: set[str]) -> BlockParam:
    r.expect(isinstance(data, dict), at, "each block parameter must be a JSON object")
    name = r.string(data.get("name"), f"{at}.name", required=True)
    problem = check_param_name(name)
    r.expect(problem is None, f"{at}.name", problem or "")
    r.expect(name not in taken, f"{at}.name", f"the parameter {name!r} is declared twice")
    kind = data.get("kind")
    r.expect(kind in PARAM_KINDS, f"{at}.kind", f"kind must be one of {', '.join(PARAM_KINDS)}")
    bounds = {}
    for key in ("minimum", "maximum"):
        if data.get(key) is not None:
            r.number(data[key], f"{at}.{key}")
            bounds[key] = data[key]
    choices: tuple[Any, ...] = ()
    if kind == "choice":
        raw = data.get("choices")
        r.expect(
            isinstance(raw, list) and 0 < len(raw) <= 64,
            f"{at}.choices",
            "a choice parameter lists between 1 and 64 choices",
        )
        choices = tuple(r.param_value(c, f"{at}.choices[{k}]") for k, c in enumerate(raw))
    help_text = r.string(data.get("help", ""), f"{at}.help")
    spec = BlockParam(name, kind, None, help_text, choices=choices, **bounds)
    default = r.param_value(data.get("default"), f"{at}.default")
    try:
        default = spec.check(default)
    except GraphEditError as exc:
        r.fail(f"{at}.default", str(exc))
    return BlockParam(name, kind, default, help_text, choices=choices, **bounds)


def check_blocks(r: Any, root: LayerGraph) -> None:
    """Fail on the first block problem: recursion, missing definitions, bad parameters, unknown
    ports, expressions that refer to parameters a block does not have."""
    problems = block_problems(root)
    if problems:
        location, message = problems[0]
        r.fail(location, message)


def block_problems(root: LayerGraph) -> list[tuple[str, str]]:
    """Every block problem of the document as (location in the file, message)."""
    cycle = find_recursion(root.blocks)
    if cycle:
        shown = (
            cycle if len(cycle) <= 12 else [*cycle[:10], f"... {len(cycle) - 11} more", cycle[-1]]
        )
        path = " -> ".join(shown)
        return [
            (
                "blocks",
                f"block {cycle[0]} contains itself ({path}); blocks cannot nest in "
                "themselves: replace the inner instance with other layers",
            )
        ]
    depth = nesting_depth(root.blocks, list(used_definitions(root)))
    if depth > MAX_NESTING:
        return [
            (
                "blocks",
                f"blocks nest {depth} levels deep (a block inside a block ...); at most "
                f"{MAX_NESTING} are allowed: ungroup some of the inner blocks",
            )
        ]
    problems: list[tuple[str, str]] = []
    graphs: list[tuple[str, LayerGraph, BlockDefinition | None]] = [("", root, None)]
    for i, definition in enumerate(root.blocks.values()):
        graphs.append((f"blocks[{i}].", definition.graph, definition))
    for prefix, graph, owner in graphs:
        _check_graph(root, prefix, graph, owner, problems)
    return problems


def _check_graph(root, prefix, graph, owner, problems) -> None:
    index = {node_id: i for i, node_id in enumerate(graph.nodes)}
    ports: dict[str, tuple[set[str], set[str]]] = {}
    for node in graph:
        at = f"{prefix}nodes[{index[node.id]}]"
        if node.when is not None:
            problem = condition_problem(node.when, owner)
            if problem:
                problems.append((f"{at}.when", f"{node.name}: {problem}"))
        if owner is not None:
            for key, value in node.params.items():
                for k, item in enumerate(value if isinstance(value, tuple) else (value,)):
                    if not is_expression(item):
                        continue
                    where = f"{at}.params.{key}" + (f"[{k}]" if isinstance(value, tuple) else "")
                    problem = _expression_problem(item, owner)
                    if problem:
                        problems.append((where, f"{node.name}: {problem}"))
        if node.type_id != BLOCK_TYPE:
            continue
        try:
            checked = node
            if owner is not None:  # expressions stand for the outer block's defaults here
                params = resolve_inner_params(node, owner.defaults())
                checked = LayerNode(node.id, node.type_id, node.name, params)
            settings = instance_settings(checked, root.blocks)
        except (GraphEditError, ExpressionError) as exc:
            problems.append((f"{at}.params", str(exc)))
            continue
        ins = set(settings.definition.input_ports())
        outs = set(settings.definition.output_ports())
        if settings.repeat > 1 and (len(ins) != 1 or len(outs) != 1):
            problems.append(
                (
                    f"{at}.params.repeat",
                    f"{node.name}: only a block with one input and one output can repeat "
                    f"(block {settings.definition.name} has {len(ins)} and {len(outs)})",
                )
            )
        ports[node.id] = (ins, outs)
    for i, edge in enumerate(graph.edges):
        for ref, key, side in ((edge.src, "from", 1), (edge.dst, "to", 0)):
            if ref.node in ports and ref.port not in ports[ref.node][side]:
                node = graph.node(ref.node)
                known = ", ".join(sorted(ports[ref.node][side])) or "none"
                kind = "output" if side else "input"
                problems.append(
                    (
                        f"{prefix}edges[{i}].{key}.port",
                        f"block instance {node.name} has no {kind} port {ref.port!r} "
                        f"(its {kind}s: {known})",
                    )
                )


def _expression_problem(text: str, owner: BlockDefinition) -> str | None:
    try:
        tree = parse(text)
    except ExpressionError as exc:
        return str(exc)
    unknown = names(tree) - {p.name for p in owner.params}
    if unknown:
        known = ", ".join(p.name for p in owner.params) or "none"
        return (
            f"{text!r} refers to {', '.join(sorted(unknown))}, which block {owner.name} does not "
            f"have (its parameters: {known})"
        )
    return None

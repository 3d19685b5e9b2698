"""Undoable edits of the block hierarchy: group, ungroup, edit inside, rename, insert a project.

Every command here runs on the document (the root graph, which holds the definitions) and may
say which graph of the tree it edits (``where``: a definition's name, None for the top graph).
Undo stays one stack for the whole tree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dlstudio.core.blocks import (
    BLOCK_TYPE,
    BlockDefinition,
    check_definition_name,
    condition_holds,
    instance_settings,
    instances_of,
    resolve_inner_params,
)
from dlstudio.core.blocks_io import block_problems
from dlstudio.core.commands import AddNode, Command, Connect, MacroCommand, RemoveNode
from dlstudio.core.errors import GraphEditError
from dlstudio.core.expressions import ExpressionError
from dlstudio.core.graph import Edge, LayerGraph, LayerNode, PortRef

PortSpecs = Mapping[PortRef, tuple[tuple[Any, ...], str]]
"""The tensor on an output port: its shape without the batch, and its dtype (from the
analysis), so a new block's Input nodes declare what they will receive."""


def graph_at(root: LayerGraph, where: str | None) -> LayerGraph:
    """The graph a command edits: the document itself, or a definition's graph."""
    if where is None:
        return root
    if where not in root.blocks:
        raise GraphEditError(f"there is no block definition {where!r}")
    return root.blocks[where].graph


def _refuse_problems(root: LayerGraph) -> None:
    problems = block_problems(root)
    if problems:
        raise GraphEditError(problems[0][1])


class InDefinition(Command):
    """Apply ``command`` inside definition ``name``: every instance follows, one undo step.

    An edit that would break an instance (remove a port that is wired, refer to a parameter the
    block does not have) is refused and leaves everything as it was."""

    def __init__(self, name: str, command: Command) -> None:
        self.name = name
        self.command = command
        self.text = f"{command.text} in {name}"

    def do(self, graph: LayerGraph) -> None:
        self.command.do(graph_at(graph, self.name))
        try:
            _refuse_problems(graph)
        except GraphEditError:
            self.command.undo(graph_at(graph, self.name))
            raise
        graph.notify_blocks_changed(self.name)

    def undo(self, graph: LayerGraph) -> None:
        self.command.undo(graph_at(graph, self.name))
        graph.notify_blocks_changed(self.name)

    def merge_with(self, other: Command) -> bool:
        return (
            isinstance(other, InDefinition)
            and other.name == self.name
            and self.command.merge_with(other.command)
        )


class AddDefinition(Command):
    """Add a block definition to the document."""

    def __init__(self, definition: BlockDefinition) -> None:
        self.definition = definition
        self.text = f"add block {definition.name}"

    def do(self, graph: LayerGraph) -> None:
        problem = check_definition_name(self.definition.name)
        if problem:
            raise GraphEditError(problem)
        if self.definition.name in graph.blocks:
            raise GraphEditError(f"a block called {self.definition.name!r} already exists")
        graph.blocks[self.definition.name] = self.definition.copy()
        graph.notify_blocks_changed(self.definition.name)

    def undo(self, graph: LayerGraph) -> None:
        del graph.blocks[self.definition.name]
        graph.notify_blocks_changed(self.definition.name)


class RenameDefinition(Command):
    """Rename a definition; every instance follows."""

    def __init__(self, old: str, new: str) -> None:
        self.old = old
        self.new = new
        self.text = f"rename block {old} to {new}"

    def do(self, graph: LayerGraph) -> None:
        problem = check_definition_name(self.new)
        if problem:
            raise GraphEditError(problem)
        if self.new in graph.blocks:
            raise GraphEditError(f"a block called {self.new!r} already exists")
        self._rename(graph, self.old, self.new)

    def undo(self, graph: LayerGraph) -> None:
        self._rename(graph, self.new, self.old)

    @staticmethod
    def _rename(graph: LayerGraph, old: str, new: str) -> None:
        if old not in graph.blocks:
            raise GraphEditError(f"there is no block definition {old!r}")
        users = list(instances_of(graph, old))
        blocks = {}
        for name, definition in graph.blocks.items():
            if name == old:
                definition.name = new
                definition.graph.name = new
                blocks[new] = definition
            else:
                blocks[name] = definition
        graph.blocks = blocks
        for where, node in users:
            params = {**node.params, "block": new}
            graph_at(graph, where).update_node(node.id, params=params)
        graph.notify_blocks_changed(new)


class _Recorded(Command):
    """A command whose steps are worked out on first ``do`` and replayed on redo."""

    def __init__(self) -> None:
        self._macro: MacroCommand | None = None

    def plan(self, graph: LayerGraph) -> list[Command]:
        """The steps, computed against the document as it is now."""
        raise NotImplementedError

    def do(self, graph: LayerGraph) -> None:
        if self._macro is None:
            self._macro = MacroCommand(self.text, self.plan(graph))
        self._macro.do(graph)

    def undo(self, graph: LayerGraph) -> None:
        assert self._macro is not None
        self._macro.undo(graph)


class GroupIntoBlock(_Recorded):
    """Turn a selection into a new block definition and one instance of it. Wires that cross
    the selection become the block's ports."""

    def __init__(
        self,
        node_ids: Sequence[str],
        name: str,
        specs: PortSpecs,
        where: str | None = None,
        instance_name: str | None = None,
    ) -> None:
        super().__init__()
        self.node_ids = list(node_ids)
        self.name = name
        self.specs = dict(specs)
        self.where = where
        self.instance_name = instance_name
        self.text = f"group into {name}"

    def plan(self, graph: LayerGraph) -> list[Command]:
        target = graph_at(graph, self.where)
        chosen = [target.node(i) for i in self.node_ids]
        if not chosen:
            raise GraphEditError("select the layers to group first")
        if any(n.type_id in ("input", "output") for n in chosen):
            raise GraphEditError("Input and Output nodes cannot go into a block; leave them out")
        ids = {n.id for n in chosen}
        inner_edges = [e for e in target.edges if e.src.node in ids and e.dst.node in ids]
        incoming = [e for e in target.edges if e.dst.node in ids and e.src.node not in ids]
        outgoing = [e for e in target.edges if e.src.node in ids and e.dst.node not in ids]
        sources = list(dict.fromkeys(e.src for e in incoming))
        results = list(dict.fromkeys(e.src for e in outgoing))
        if not results:
            raise GraphEditError("nothing leaves the selection, so the block would have no output")
        sub = LayerGraph(self.name)
        xs = [n.position[0] for n in chosen]
        ys = [n.position[1] for n in chosen]
        top, bottom, left = min(ys), max(ys), min(xs)
        in_names = ["x"] if len(sources) == 1 else [f"in{i}" for i in range(1, len(sources) + 1)]
        out_names = (
            ["out"] if len(results) == 1 else [f"out{i}" for i in range(1, len(results) + 1)]
        )
        in_ids: dict[PortRef, str] = {}
        for k, (src, port_name) in enumerate(zip(sources, in_names, strict=True)):
            if src not in self.specs:
                raise GraphEditError(
                    f"the shape arriving from {target.node(src.node).name} is not known yet; "
                    "fix the problems before grouping"
                )
            shape, dtype = self.specs[src]
            node_id = sub.new_node_id("in")
            params = {"shape": tuple(shape), "dtype": dtype}
            sub.insert_node(
                LayerNode(node_id, "input", port_name, params, (left + 200.0 * k, top - 120.0))
            )
            in_ids[src] = node_id
        for node in chosen:
            sub.insert_node(node.clone())
        for edge in inner_edges:
            sub.insert_edge(edge)
        for edge in incoming:
            sub.insert_edge(Edge(PortRef(in_ids[edge.src], "out"), edge.dst))
        for k, (src, port_name) in enumerate(zip(results, out_names, strict=True)):
            node_id = sub.new_node_id("out")
            sub.insert_node(
                LayerNode(node_id, "output", port_name, {}, (left + 200.0 * k, bottom + 120.0))
            )
            sub.insert_edge(Edge(src, PortRef(node_id, "in")))
        definition = BlockDefinition(self.name, sub)
        instance_id = target.new_node_id("b")
        name = self.instance_name or target.unique_name(self.name.lower())
        centre = (sum(xs) / len(xs), sum(ys) / len(ys))
        instance = LayerNode(instance_id, BLOCK_TYPE, name, {"block": self.name}, centre)
        in_ports = definition.input_ports()
        port_of_source = dict(zip(sources, in_ports, strict=True))
        out_ports = definition.output_ports()
        port_of_result = dict(zip(results, out_ports, strict=True))
        steps: list[Command] = [AddDefinition(definition)]
        edit: list[Command] = [RemoveNode(n.id) for n in chosen]
        edit.append(AddNode(instance))
        for src, port in port_of_source.items():
            edit.append(Connect(Edge(src, PortRef(instance_id, port))))
        for edge in outgoing:
            edit.append(Connect(Edge(PortRef(instance_id, port_of_result[edge.src]), edge.dst)))
        steps += in_graph(self.where, edit)
        return steps


class UngroupBlock(_Recorded):
    """Replace an instance by the layers of its definition (every copy when it repeats), with
    the block's parameter values written into them."""

    def __init__(
        self, instance_id: str, where: str | None = None, path_names: bool = False
    ) -> None:
        super().__init__()
        self.instance_id = instance_id
        self.where = where
        self.path_names = path_names
        """Name the layers by their module path (``layer2.0.conv1``) instead of their own name."""
        self.text = "ungroup"

    def plan(self, graph: LayerGraph) -> list[Command]:
        target = graph_at(graph, self.where)
        instance = target.node(self.instance_id)
        if instance.type_id != BLOCK_TYPE:
            raise GraphEditError(f"{instance.name} is not a block instance")
        settings = instance_settings(instance, graph.blocks)
        definition = settings.definition
        self.text = f"ungroup {instance.name}"
        steps: list[Command] = [RemoveNode(instance.id)]
        taken = {n.name for n in target if n.id != instance.id}
        used_ids = set(target.nodes)
        feeding = {e.dst.port: e.src for e in target.edges_into(instance.id)}
        consumers = target.edges_out_of(instance.id)
        in_ports = {node_id: port for port, node_id in definition.input_ports().items()}
        out_ports = {node_id: port for port, node_id in definition.output_ports().items()}
        current_sources = dict(feeding)
        cx, cy = instance.position
        inner_nodes = [n for n in definition.graph if n.type_id not in ("input", "output")]
        if inner_nodes:
            ox = sum(n.position[0] for n in inner_nodes) / len(inner_nodes)
            oy = min(n.position[1] for n in inner_nodes)
        else:
            ox, oy = cx, cy
        height = max(n.position[1] for n in inner_nodes) - oy + 120.0 if inner_nodes else 120.0
        for copy in range(settings.repeat):
            ids: dict[str, str] = {}
            for node in inner_nodes:
                if not condition_holds(node, settings.values):
                    continue  # left out for these values: its input passes through
                try:
                    params = resolve_inner_params(node, settings.values)
                except ExpressionError as exc:
                    raise GraphEditError(f"{node.name}: {exc}") from None
                new_id = fresh_name(
                    f"{instance.id}_{node.id}" + (f"_{copy}" if copy else ""), used_ids
                )
                if self.path_names:
                    index = f".{copy}" if settings.repeat > 1 else ""
                    base = f"{instance.name}{index}.{node.name}"
                else:
                    base = node.name if settings.repeat == 1 else f"{node.name}_{copy}"
                name = base if base not in taken else fresh_name(f"{instance.name}_{base}", taken)
                taken.add(name)
                position = (
                    cx + node.position[0] - ox,
                    cy + node.position[1] - oy + copy * height,
                )
                clone = LayerNode(new_id, node.type_id, name, dict(params), position)
                clone.trainable = node.trainable and instance.trainable
                ids[node.id] = new_id
                steps.append(AddNode(clone))
            results: dict[str, PortRef] = {}
            source = _SourceResolver(definition.graph, in_ports, current_sources, ids)
            for edge in definition.graph.edges:
                dst_node = definition.graph.node(edge.dst.node)
                src = source(edge.src)
                if dst_node.type_id == "output":
                    if src is not None:
                        results[out_ports[dst_node.id]] = src
                    continue
                if src is None or dst_node.id not in ids:
                    continue
                steps.append(Connect(Edge(src, PortRef(ids[dst_node.id], edge.dst.port))))
            out = results.get("out")
            current_sources = {"in": out} if settings.repeat > 1 and out is not None else {}
        for edge in consumers:
            src = results.get(edge.src.port)
            if src is not None:
                steps.append(Connect(Edge(src, edge.dst)))
        return in_graph(self.where, steps)


class _SourceResolver:
    """Where an inner tensor comes from once the instance is ungrouped: an outer port for the
    block's inputs, the new layer for kept layers, and for a layer left out by its ``when``
    condition, whatever feeds it."""

    def __init__(
        self,
        inner: LayerGraph,
        in_ports: dict[str, str],
        outer: dict[str, PortRef],
        ids: dict[str, str],
    ) -> None:
        self.inner, self.in_ports, self.outer, self.ids = inner, in_ports, outer, ids

    def __call__(self, ref: PortRef) -> PortRef | None:
        for _ in range(len(self.inner.nodes) + 1):
            node = self.inner.node(ref.node)
            if node.type_id == "input":
                return self.outer.get(self.in_ports.get(node.id, ""))
            if node.id in self.ids:
                return PortRef(self.ids[node.id], ref.port)
            feeding = next(iter(self.inner.edges_into(node.id)), None)
            if feeding is None:
                return None
            ref = feeding.src
        return None


def fresh_name(base: str, used: set[str]) -> str:
    candidate, k = base, 2
    while candidate in used:
        candidate = f"{base}_{k}"
        k += 1
    used.add(candidate)
    return candidate


def in_graph(where: str | None, steps: list[Command]) -> list[Command]:
    if where is None:
        return steps
    return [InDefinition(where, MacroCommand("edit", steps))]


def flatten(root: LayerGraph) -> LayerGraph:
    """A copy of the model with every block instance replaced by its layers, named by their
    module paths (``layer2.0.conv1``), parameter expressions evaluated: the model as one graph."""
    flat = root.copy()
    while True:
        instance = next((n for n in flat if n.type_id == BLOCK_TYPE), None)
        if instance is None:
            break
        UngroupBlock(instance.id, path_names=True).do(flat)
    flat.blocks = {}
    return flat

"""Capturing a module with ``torch.export`` and rewriting its ATen graph as the torch-level fx
graph the importer walks (:mod:`.fx_import`).

``torch.export`` runs the Python (non-strict: as Python itself would), so it captures what
symbolic tracing cannot: Hugging Face models, ``nn.Transformer``, code that branches on sizes.
Its graph is made of ATen operations, each tagged with the module stack it ran in
(``nn_module_stack``). The rewrite regroups them:

- the operations of one call of a module we have a layer for (``nn.Conv2d``, our exported
  ``LSTM`` helper) become one ``call_module`` node with that call's own arguments, recorded by a
  forward pre-hook, so the module's mapper sees exactly what it would under torch.fx;
- the remaining operations become the torch function or tensor method with the same meaning
  (``aten.add.Tensor`` -> ``operator.add``, ``aten.select.int`` -> ``x[:, i]``); an ATen op with
  no such counterpart stays itself and becomes a placeholder named after it;
- parameters and buffers become ``get_attr`` nodes named by their ``state_dict`` keys.

Every new node keeps the module stack, so the hierarchy of blocks follows the source's modules.
"""

from __future__ import annotations

import operator
import warnings
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.fx as fx
from torch import nn

from dlstudio.compile.importers.aten_ops import translate
from dlstudio.compile.importers.errors import ImportFailed
from dlstudio.compile.importers.fx_export_values import (
    at,
    close,
    distance,
    export_failure,
    exported_values,
    fold_batch,
    is_positions,
    map_args,
    module_stack,
    named_tensors,
    position_rows,
    positions,
    record_calls,
    takes_one_tensor,
    tensors_in,
)
from dlstudio.compile.importers.padding_masks import find_padding_masks
from dlstudio.compile.importers.torch_helpers import helper_name
from dlstudio.compile.importers.torch_modules import CONTAINERS, module_mapper
from dlstudio.compile.importers.torch_subclasses import (
    base_call,
    base_class,
    leaf_target,
    outside_subclasses,
    stand_in,
)

aten = torch.ops.aten


def is_leaf(module: nn.Module) -> bool:
    """Modules kept whole: ours, those with a mapper, and childless torch.nn modules (which
    become one placeholder by name); containers and everything else are traced through."""
    if helper_name(module) is not None or module_mapper(module) is not None:
        return True
    if isinstance(module, CONTAINERS):
        return False
    return type(module).__module__.startswith("torch.nn") and not list(module.children())


def capture(model: nn.Module, examples: list[torch.Tensor]) -> fx.GraphModule:
    """The torch-level fx graph of ``model`` captured by ``torch.export`` (see the module doc),
    or :class:`ImportFailed` with the exception's own words."""
    try:
        # torch.export warns about modules that set tensor attributes in forward (nn.LSTM's
        # flat weights): harmless here, and not the user's to act on.
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.export.export(model, tuple(examples), strict=False)
    except Exception as exc:
        raise ImportFailed(export_failure(model, exc)) from exc
    return _Rewrite(model, program, examples).run()


@dataclass
class _Group:
    """The ATen operations of one call of a leaf module."""

    path: str
    call: int
    nodes: list[fx.Node] = field(default_factory=list)
    stack: dict = field(default_factory=dict)


class _Rewrite:
    def __init__(self, model: nn.Module, program, examples: list[torch.Tensor]) -> None:
        self.model = model
        self.program = program
        self.examples = examples
        self.graph = fx.Graph()
        self.env: dict[fx.Node, Any] = {}
        self.constants: dict[str, torch.Tensor] = {}
        self.modules = dict(model.named_modules())
        self._calls: dict[tuple[str, int], tuple[tuple, dict, Any]] | None = None
        self._values: dict[fx.Node, Any] | None = None

    # --------------------------------------------------------------- the walk
    def run(self) -> fx.GraphModule:
        signature = self.program.graph_signature
        owners = {**signature.inputs_to_parameters, **signature.inputs_to_buffers}
        owners.update(getattr(signature, "inputs_to_lifted_tensor_constants", {}))
        self.owned = set(owners)
        self.owners = owners
        self.standins = {p: m for p, m in self.modules.items() if p and base_class(m)}
        self.leaves: dict[str, nn.Module] = {}  # call_module target -> module
        groups = self._groups()
        group_of = {n: g for g in groups for n in g.nodes}
        self.group_of = group_of
        last_of = {g.nodes[-1]: g for g in groups}
        user_outputs = self._user_outputs()
        self.dynamic = self._dynamic()
        inputs = {n for n in self.program.graph.nodes if n.op == "placeholder"} - set(owners)
        masks = find_padding_masks(self.program.graph, inputs, self._node_values)
        for node in self.program.graph.nodes:
            if node in masks.skipped:
                continue  # built an attention mask that padding_mask stands for
            if node in masks.replaced:
                function, source, extra = masks.replaced[node]
                new = self.graph.call_function(function, (self.env[source], *extra))
                new.meta["nn_module_stack"] = module_stack(node.meta.get("nn_module_stack") or {})
                self.env[node] = new
            elif node.op == "placeholder":
                if node.name in owners:
                    self.env[node] = self._attr(owners[node.name])
                else:
                    new = self.graph.placeholder(node.name)
                    self.env[node] = new
            elif node.op == "output":
                outs = tuple(self.lookup(n) if isinstance(n, fx.Node) else n for n in user_outputs)
                self.graph.output(outs[0] if len(outs) == 1 else outs)
            elif node not in self.dynamic:
                continue  # computed from constants alone: folded where something uses it
            elif node in group_of:
                if node in last_of:
                    self._module_call(last_of[node], group_of)
            elif node.op == "call_function":
                self.env[node] = self._function(node)
            elif node.op == "get_attr":
                self.env[node] = self._attr(str(node.target))
        # The root holds only what the graph uses: the leaf modules, the tensors read, and the
        # constants the code made (a dict root: module paths may hold any character).
        root: dict[str, Any] = dict(self.constants)
        state = named_tensors(self.model)
        for node in self.graph.nodes:
            if node.op == "call_module":
                root[str(node.target)] = self.leaves[str(node.target)]
            elif node.op == "get_attr" and str(node.target) not in root:
                root[str(node.target)] = state[str(node.target)]
        return fx.GraphModule(root, self.graph, type(self.model).__name__)

    def _dynamic(self) -> set[fx.Node]:
        """The nodes whose values depend on the model's inputs."""
        dynamic: set[fx.Node] = set()
        for node in self.program.graph.nodes:
            if (node.op == "placeholder" and node.name not in self.owned) or any(
                arg in dynamic for arg in node.all_input_nodes
            ):
                dynamic.add(node)
        return dynamic

    def lookup(self, node: fx.Node) -> Any:
        """The new graph's value for ``node``; a value computed from constants alone (position
        ids, an all-ones mask) becomes a constant, taken from the example run."""
        if node in self.env:
            return self.env[node]
        table = self._position_table(node)
        if table is not None:
            self.env[node] = table
            return table
        viewed = self._viewed_parameter(node)
        if viewed is not None:
            self.env[node] = viewed
            return viewed
        if node.target is torch.ops.aten.expand.default:
            # a class token expanded to the batch: the pattern ClassToken is made of stays
            self.env[node] = self._function(node)
            return self.env[node]
        value = self._node_values()[node]
        if isinstance(value, torch.Tensor):
            value = fold_batch(value.detach())
            name = f"folded_{node.name}"
            self.constants[name] = value
            self.env[node] = self.graph.get_attr(name)
        else:
            self.env[node] = value
        return self.env[node]

    def _viewed_parameter(self, node: fx.Node) -> fx.Node | None:
        """A parameter read in another shape (timm's ``gamma.view(1, -1, 1, 1)``) stays that
        view of the parameter, so the parameter keeps its key and shape."""
        views = (aten.view.default, aten.reshape.default, aten._unsafe_view.default)
        if node.op != "call_function" or node.target not in (*views, aten.unsqueeze.default):
            return None
        source = node.args[0]
        parameters = self.program.graph_signature.inputs_to_parameters
        if not isinstance(source, fx.Node) or source.name not in parameters:
            return None
        shape = tuple(node.meta["val"].shape)
        view = self.graph.call_function(torch.reshape, (self._attr(parameters[source.name]), shape))
        view.meta["nn_module_stack"] = self._stack(node.meta.get("nn_module_stack") or {})
        return view

    def _position_table(self, node: fx.Node) -> fx.Node | None:
        """An nn.Embedding given the positions 0..T-1 (BERT's position_ids) read as the first
        T rows of its table, so the table keeps its key and size."""
        while (
            node.op == "call_function"
            and getattr(getattr(node.target, "overloadpacket", None), "__name__", "")
            in ("to", "_to_copy", "clone", "alias")
            and node.args
            and isinstance(node.args[0], fx.Node)
            and node not in self.group_of
        ):
            node = node.args[0]  # GPT-2's wpe(positions).to(device)
        group = self.group_of.get(node)
        if group is None or not isinstance(self.modules.get(group.path), nn.Embedding):
            return None
        members = set(group.nodes)
        ids = [
            a
            for n in group.nodes
            for a in n.all_input_nodes
            if a not in members and a.name not in self.owned
        ]
        values = self._node_values()
        if len(ids) != 1 or not is_positions(values.get(ids[0])):
            return None
        steps = int(values[ids[0]].shape[-1])
        weight = self.graph.get_attr(f"{group.path}.weight")
        rows = self.graph.call_function(position_rows, (weight, steps))
        rows.meta["nn_module_stack"] = self._stack(group.stack)
        return rows

    def _user_outputs(self) -> list[Any]:
        (output,) = [n for n in self.program.graph.nodes if n.op == "output"]
        values = list(output.args[0])
        kinds = [spec.kind.name for spec in self.program.graph_signature.output_specs]
        return [v for v, kind in zip(values, kinds, strict=True) if kind == "USER_OUTPUT"]

    def _attr(self, target: str) -> fx.Node:
        if target in self.program.constants:  # a tensor the code made: kept on the module
            name = "constant_" + "".join(c if c.isalnum() else "_" for c in target)
            self.constants[name] = self.program.constants[target]
            target = name
        return self.graph.get_attr(target)

    # ------------------------------------------------------------ leaf modules
    def _groups(self) -> list[_Group]:
        groups: dict[str, _Group] = {}
        for node in self.program.graph.nodes:
            if node.op != "call_function":
                continue
            stack = node.meta.get("nn_module_stack") or {}
            kept: dict = {}
            for key, (path, cls) in stack.items():
                kept[key] = (path, cls)
                module = self.modules.get(path)
                if path and module is not None and is_leaf(module):
                    if key not in groups:
                        call = int(key.rsplit("@", 1)[1]) if "@" in key else 0
                        groups[key] = _Group(path, call, stack=dict(kept))
                    groups[key].nodes.append(node)
                    break
        return list(groups.values())

    def _module_call(self, group: _Group, group_of: dict) -> None:
        members = set(group.nodes)
        outside = [n for n in group.nodes if any(u not in members for u in n.users) or not n.users]
        outside = [n for n in outside if n.users]
        inputs: list[fx.Node] = []
        for node in group.nodes:
            for arg in node.all_input_nodes:
                if arg in members or arg in inputs or arg.name in self.owned:
                    continue  # inside the call, seen already, or a parameter
                inputs.append(arg)
        tensor_inputs = [n for n in inputs if _is_tensor(n)]
        module = self.modules[group.path]
        simple = len(tensor_inputs) == 1 and len(outside) <= 1 and takes_one_tensor(module)
        if simple:
            args: tuple = (self.lookup(tensor_inputs[0]),)
            kwargs: dict = {}
        else:
            args, kwargs = self._recorded_arguments(group, tensor_inputs)
        target = self._target(group.path)
        self.leaves[target] = module
        call = self.graph.call_module(target, args, kwargs)
        call.meta["nn_module_stack"] = self._stack(group.stack)
        if len(outside) == 1 and simple:
            self.env[outside[0]] = call
            return
        if not outside:
            return
        for node in outside:
            path = self._output_position(group, node)
            value: fx.Node = call
            for index in path:
                value = self.graph.call_function(operator.getitem, (value, index))
                value.meta["nn_module_stack"] = self._stack(group.stack)
            self.env[node] = value

    def _recorded_arguments(self, group: _Group, candidates: list[fx.Node]) -> tuple[tuple, dict]:
        calls = self._recorded_calls()
        if (group.path, group.call) not in calls:
            raise ImportFailed(f"{group.path}: its call could not be matched with the capture")
        args, kwargs, _ = calls[(group.path, group.call)]
        values = self._node_values()

        def match(value: Any) -> Any:
            if isinstance(value, torch.Tensor):
                best = min(candidates, key=lambda n: distance(values.get(n), value), default=None)
                if best is not None and close(values.get(best), value):
                    return self.lookup(best)
                raise ImportFailed(
                    f"{group.path}: an argument of its call is not a value of the capture"
                )
            if isinstance(value, (tuple, list)):
                return type(value)(match(v) for v in value)
            if isinstance(value, dict):
                return {k: match(v) for k, v in value.items()}
            return value

        return match(tuple(args)), match(dict(kwargs))

    def _output_position(self, group: _Group, node: fx.Node) -> tuple[int, ...]:
        _, _, output = self._recorded_calls()[(group.path, group.call)]
        value = self._node_values().get(node)
        found = positions(output, value)
        if not found:
            raise ImportFailed(f"{group.path}: one of its outputs could not be located")
        if len(found) > 1:
            # Equal values in several places (an LSTM's last step and its state): the one the
            # next module was given, by identity in the eager run, is the one meant.
            given = self._given_to(node)
            for position in found:
                if id(at(output, position)) in given:
                    return position
        return found[0]

    def _given_to(self, node: fx.Node) -> set[int]:
        """Ids of the tensors the leaf calls using ``node`` were given in the eager run."""
        calls = self._recorded_calls()
        ids: set[int] = set()
        for user in node.users:
            stack = user.meta.get("nn_module_stack") or {}
            for key, (path, _cls) in stack.items():
                call = int(key.rsplit("@", 1)[1]) if "@" in key else 0
                if (path, call) in calls:
                    args, kwargs, _ = calls[(path, call)]
                    ids.update(id(t) for t in tensors_in((args, kwargs)))
        return ids

    def _recorded_calls(self) -> dict[tuple[str, int], tuple[tuple, dict, Any]]:
        """(path, call index) -> (args, kwargs, output) of every leaf module call."""
        if self._calls is None:
            leaves = {p: m for p, m in self.modules.items() if p and is_leaf(m)}
            self._calls = record_calls(self.model, leaves, self.examples)
        return self._calls

    def _node_values(self) -> dict[fx.Node, Any]:
        """Every node of the exported graph on the example inputs."""
        if self._values is None:
            self._values = exported_values(self.program, self.model, self.examples)
        return self._values

    # -------------------------------------------------------------- functions
    def _function(self, node: fx.Node) -> Any:
        stack = node.meta.get("nn_module_stack") or {}
        path = next(reversed(stack.values()))[0] if stack else ""
        source = node.args[0] if node.args else None
        if (
            path in self.standins
            and isinstance(source, fx.Node)
            and base_call(node, path, self.standins[path], self.owners)
        ):
            # a subclass's call of its base class's function: the base class, whole
            module, base = self.standins[path], base_class(self.standins[path])
            assert base is not None  # self.standins holds only modules with a base class
            self.leaves[path] = stand_in(module, base)
            new = self.graph.call_module(path, (self.lookup(source),), {})
            new.meta["nn_module_stack"] = self._stack(stack)
            return new
        args = map_args(node.args, self.lookup)
        kwargs = map_args(dict(node.kwargs), self.lookup)
        target, args, kwargs = translate(node.target, args, kwargs)
        new = self.graph.create_node(
            "call_method" if isinstance(target, str) else "call_function",
            target,
            tuple(args),
            kwargs,
            name=node.name,
        )
        new.meta["nn_module_stack"] = self._stack(stack)
        return new

    def _stack(self, stack: dict) -> dict:
        return module_stack(outside_subclasses(stack, self.standins))

    def _target(self, path: str) -> str:
        return leaf_target(path, self.standins)


def _is_tensor(node: fx.Node) -> bool:
    value = node.meta.get("val")
    return isinstance(value, torch.Tensor) or node.op == "placeholder"

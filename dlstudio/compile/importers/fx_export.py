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
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.fx as fx
from torch import nn

from dlstudio.compile.importers.aten_ops import translate
from dlstudio.compile.importers.errors import ImportFailed
from dlstudio.compile.importers.torch_helpers import helper_name
from dlstudio.compile.importers.torch_modules import CONTAINERS, MODULE_MAPPERS


def is_leaf(module: nn.Module) -> bool:
    """Modules kept whole: ours, those with a mapper, and childless torch.nn modules (which
    become one placeholder by name); containers and everything else are traced through."""
    if helper_name(module) is not None or type(module) in MODULE_MAPPERS:
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


def export_failure(model: nn.Module, exc: BaseException) -> str:
    """Why ``torch.export`` failed, in its own words, with the module path when it says one."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    first = lines[0] if lines else type(exc).__name__
    if len(first) > 300:
        first = first[:300] + "..."
    where = ""
    for line in lines:
        if 'File "' in line and "site-packages/torch/" not in line:
            where = f" (at {line.split('File ', 1)[1]})"
            break
    return f"torch.export could not capture {type(model).__name__}: {type(exc).__name__}: {first}{where}"


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
        groups = self._groups()
        group_of = {n: g for g in groups for n in g.nodes}
        last_of = {g.nodes[-1]: g for g in groups}
        user_outputs = self._user_outputs()
        for node in self.program.graph.nodes:
            if node.op == "placeholder":
                if node.name in owners:
                    self.env[node] = self._attr(owners[node.name])
                else:
                    new = self.graph.placeholder(node.name)
                    self.env[node] = new
            elif node.op == "output":
                outs = tuple(self.env[n] if isinstance(n, fx.Node) else n for n in user_outputs)
                self.graph.output(outs[0] if len(outs) == 1 else outs)
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
        state = {**dict(self.model.named_parameters()), **dict(self.model.named_buffers())}
        for node in self.graph.nodes:
            if node.op == "call_module":
                root[str(node.target)] = self.modules[str(node.target)]
            elif node.op == "get_attr" and str(node.target) not in root:
                root[str(node.target)] = state[str(node.target)]
        return fx.GraphModule(root, self.graph, type(self.model).__name__)

    def _user_outputs(self) -> list[Any]:
        (output,) = [n for n in self.program.graph.nodes if n.op == "output"]
        values = list(output.args[0])
        kinds = [spec.kind.name for spec in self.program.graph_signature.output_specs]
        return [v for v, kind in zip(values, kinds, strict=True) if kind == "USER_OUTPUT"]

    def _attr(self, target: str) -> fx.Node:
        if target in self.program.constants:  # a tensor the code made: kept on the module
            name = "_constant_" + "".join(c if c.isalnum() else "_" for c in target)
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
                if arg in members or arg in inputs or self.env[arg].op == "get_attr":
                    continue  # inside the call, seen already, or a parameter
                inputs.append(arg)
        tensor_inputs = [n for n in inputs if _is_tensor(n)]
        module = self.modules[group.path]
        simple = len(tensor_inputs) == 1 and len(outside) <= 1 and _takes_one_tensor(module)
        if simple:
            args: tuple = (self.env[tensor_inputs[0]],)
            kwargs: dict = {}
        else:
            args, kwargs = self._recorded_arguments(group, tensor_inputs)
        call = self.graph.call_module(group.path, args, kwargs)
        call.meta["nn_module_stack"] = _stack(group.stack)
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
                value.meta["nn_module_stack"] = _stack(group.stack)
            self.env[node] = value

    def _recorded_arguments(self, group: _Group, candidates: list[fx.Node]) -> tuple[tuple, dict]:
        calls = self._recorded_calls()
        if (group.path, group.call) not in calls:
            raise ImportFailed(f"{group.path}: its call could not be matched with the capture")
        args, kwargs, _ = calls[(group.path, group.call)]
        values = self._node_values()

        def match(value: Any) -> Any:
            if isinstance(value, torch.Tensor):
                best = min(candidates, key=lambda n: _distance(values.get(n), value), default=None)
                if best is not None and _close(values.get(best), value):
                    return self.env[best]
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
        found = _positions(output, value)
        if not found:
            raise ImportFailed(f"{group.path}: one of its outputs could not be located")
        if len(found) > 1:
            # Equal values in several places (an LSTM's last step and its state): the one the
            # next module was given, by identity in the eager run, is the one meant.
            given = self._given_to(node)
            for position in found:
                if id(_at(output, position)) in given:
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
                    ids.update(id(t) for t in _tensors_in((args, kwargs)))
        return ids

    def _recorded_calls(self) -> dict[tuple[str, int], tuple[tuple, dict, Any]]:
        """(path, call index) -> (args, kwargs, output) of every leaf module call, from one
        eager run with hooks."""
        if self._calls is not None:
            return self._calls
        calls: dict[tuple[str, int], tuple[tuple, dict, Any]] = {}
        counts: dict[str, int] = defaultdict(int)
        handles = []
        for path, module in self.modules.items():
            if not path or not is_leaf(module):
                continue

            def pre(_m, args, kwargs, path=path):
                calls[(path, counts[path])] = (args, kwargs, None)

            def post(_m, args, kwargs, output, path=path):
                key = (path, counts[path])
                calls[key] = (calls[key][0], calls[key][1], output)
                counts[path] += 1

            handles.append(module.register_forward_pre_hook(pre, with_kwargs=True))
            handles.append(module.register_forward_hook(post, with_kwargs=True))
        try:
            with torch.no_grad():
                self.model(*self.examples)
        finally:
            for handle in handles:
                handle.remove()
        self._calls = calls
        return calls

    def _node_values(self) -> dict[fx.Node, Any]:
        """Every node of the exported graph on the example inputs."""
        if self._values is not None:
            return self._values
        program = self.program
        state = {**dict(self.model.named_parameters()), **dict(self.model.named_buffers())}
        feeds = []
        user = iter(self.examples)
        for spec in program.graph_signature.input_specs:
            if spec.kind.name in ("PARAMETER", "BUFFER"):
                feeds.append(state[spec.target])
            elif spec.kind.name == "CONSTANT_TENSOR":
                feeds.append(program.constants[spec.target])
            else:
                feeds.append(next(user))
        values: dict[fx.Node, Any] = {}

        class _Keep(fx.Interpreter):
            def run_node(self, n: fx.Node) -> Any:
                value = super().run_node(n)
                values[n] = value
                return value

        with torch.no_grad():
            _Keep(program.graph_module).run(*feeds)
        self._values = values
        return values

    # -------------------------------------------------------------- functions
    def _function(self, node: fx.Node) -> Any:
        args = _map_args(node.args, self.env)
        kwargs = _map_args(dict(node.kwargs), self.env)
        target, args, kwargs = translate(node.target, args, kwargs)
        new = self.graph.create_node(
            "call_method" if isinstance(target, str) else "call_function",
            target,
            tuple(args),
            kwargs,
            name=node.name,
        )
        new.meta["nn_module_stack"] = _stack(node.meta.get("nn_module_stack") or {})
        return new


def _is_tensor(node: fx.Node) -> bool:
    value = node.meta.get("val")
    return isinstance(value, torch.Tensor) or node.op == "placeholder"


def _takes_one_tensor(module: nn.Module) -> bool:
    # Modules whose forward takes more than the input tensor, or returns a tuple, need the
    # recorded call: attention (query, key, value, masks), recurrent layers (hx).
    return (
        not isinstance(
            module,
            (
                nn.MultiheadAttention,
                nn.RNNBase,
                nn.TransformerEncoderLayer,
                nn.TransformerDecoderLayer,
            ),
        )
        and helper_name(module) is None
    )


def _distance(a: Any, b: Any) -> float:
    """Largest difference of two tensors; infinite when they cannot be the same value."""
    if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)):
        return float("inf")
    if a.shape != b.shape or a.dtype != b.dtype:
        return float("inf")
    if not a.numel():
        return 0.0
    if not a.is_floating_point():
        return 0.0 if torch.equal(a, b) else float("inf")
    return float((a.double() - b.double()).abs().max())


def _close(a: Any, b: Any) -> bool:
    """The same value, allowing for rounding: the eager run may take a fused kernel (the
    transformer layers' fast path in eval) where the capture took the plain operations."""
    distance = _distance(a, b)
    if distance == float("inf"):
        return False
    scale = float(b.abs().max()) if b.is_floating_point() and b.numel() else 0.0
    return distance <= 1e-4 * scale + 1e-6


def _positions(structure: Any, value: Any) -> list[tuple[int, ...]]:
    """Every index path in ``structure`` holding a tensor equal to ``value``."""
    if isinstance(structure, torch.Tensor):
        return [()] if _close(value, structure) else []
    if isinstance(structure, (tuple, list)):
        return [(i, *p) for i, item in enumerate(structure) for p in _positions(item, value)]
    return []


def _at(structure: Any, position: tuple[int, ...]) -> Any:
    for index in position:
        structure = structure[index]
    return structure


def _tensors_in(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in _tensors_in(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _tensors_in(v)]
    return []


def _stack(stack: dict) -> dict:
    """The module stack with class names only (``BasicBlock``), as torch.fx records it."""
    return {
        key: (path, _ClassName(str(cls).rsplit(".", 1)[-1] if isinstance(cls, str) else cls))
        for key, (path, cls) in stack.items()
    }


class _ClassName:
    """Stands for a class in a module stack: only its ``__name__`` is read."""

    def __init__(self, cls: Any) -> None:
        self.__name__ = cls if isinstance(cls, str) else getattr(cls, "__name__", str(cls))


def _map_args(value: Any, env: dict) -> Any:
    if isinstance(value, fx.Node):
        return env[value]
    if isinstance(value, (tuple, list)):
        return type(value)(_map_args(v, env) for v in value)
    if isinstance(value, dict):
        return {k: _map_args(v, env) for k, v in value.items()}
    return value

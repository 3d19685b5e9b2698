"""PyTorch module -> graph.

The module is captured (:func:`capture_graph`: ``torch.export``, rewritten by :mod:`.fx_export`
as a torch-level fx graph where known torch modules and our own exported helpers are whole calls;
``torch.fx`` tracing for DL Studio's own exported Python) and run once on an example input, so
every call's concrete inputs and output are known. Each tensor-producing call then becomes a
catalogue layer named by its module path; calls that only compute sizes (``x.shape[0]``,
``h // p``) fold to constants. What has no layer becomes a Placeholder and an issue in the report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.fx as fx
from torch import nn

from dlstudio.compile.importers.builder import GraphBuilder, TensorRef
from dlstudio.compile.importers.call import Call
from dlstudio.compile.importers.errors import ImportFailed
from dlstudio.compile.importers.fx_export import capture
from dlstudio.compile.importers.fx_trace import (
    InputSpec,
    Recorder,
    example_inputs,
    smallest_vocabulary,
    trace,
)
from dlstudio.compile.importers.hierarchy import regroup
from dlstudio.compile.importers.report import ImportResult
from dlstudio.compile.importers.torch_arith import BatchFolded, folded_batchnorm
from dlstudio.compile.importers.torch_functions import FUNCTIONS, METHODS
from dlstudio.compile.importers.torch_helpers import RETURNS_STATE, helper_name, map_helper
from dlstudio.compile.importers.torch_modules import module_mapper
from dlstudio.compile.importers.tying import tie_shared_weights
from dlstudio.compile.importers.values import Param, Tup, Unavailable, Unmapped


def import_module(
    model: nn.Module,
    inputs: list[InputSpec],
    name: str | None = None,
    source: str = "",
    blocks: bool = True,
) -> ImportResult:
    """Import ``model`` (put in eval mode) as a graph with its weights; see the module doc.

    With ``blocks`` its submodules become block instances (:mod:`.hierarchy`); without, every
    layer is one node of a flat graph named by its module path (``layer1_0_conv1``)."""
    model.eval()
    examples = example_inputs(model, inputs)
    gm = capture_graph(model, examples)
    recorder = Recorder(gm, meta=True)
    try:
        # Shapes are all the walk needs: on the meta device nothing is computed (resnet50 in
        # milliseconds). Should an operation lack a meta kernel, run for real instead.
        with torch.no_grad():
            try:
                recorder.run(*(t.to("meta") for t in examples))
            except Exception:
                recorder = Recorder(gm, meta=False)
                recorder.run(*examples)
    except Exception as exc:
        shapes = ", ".join(str(tuple(t.shape)) for t in examples)
        raise ImportFailed(
            f"{type(model).__name__} does not run on inputs of shape {shapes}: "
            f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}; "
            "check --input-shape"
        ) from exc
    walker = _Walker(gm, recorder.values, inputs, name or type(model).__name__, source)
    walker.hierarchy = blocks
    return tie_shared_weights(walker.run())


def capture_graph(model: nn.Module, examples: list[torch.Tensor]) -> fx.GraphModule:
    """The model's torch-level fx graph: captured by ``torch.export``; should that fail, by
    torch.fx symbolic tracing, and when both fail the error gives torch.export's reason.

    DL Studio's own exported Python is traced with torch.fx first: its helper modules stay
    whole there, with their calls as written (an LSTM helper returns its state twice, as the
    output and as the state, which no capture of values can tell apart)."""
    if any(helper_name(m) is not None for m in model.modules()):
        try:
            return trace(model)
        except ImportFailed:
            pass
    try:
        return capture(model, examples)
    except ImportFailed as exported:
        try:
            return trace(model)
        except ImportFailed:
            raise exported from None


class _Walker:
    def __init__(self, gm, values, inputs, name, source) -> None:
        self.gm = gm
        self.values = values
        self.inputs = inputs
        self.builder = GraphBuilder(name, source)
        self.builder.keep_numbers = True  # an nn.Sequential model's 0.weight
        # a symbolic length: attention heads are matched as a pattern (torch_heads.py)
        self.builder.symbolic = any(isinstance(d, str) for spec in inputs for d in spec.shape)
        self.env: dict[fx.Node, Any] = {}
        self.materialised: dict[int, TensorRef] = {}
        self.hierarchy = True

    def run(self) -> ImportResult:
        placeholders = 0
        for node in self.gm.graph.nodes:
            if node.op == "placeholder":
                self.env[node] = self._input(node, placeholders)
                placeholders += 1
            elif node.op == "get_attr":
                self.env[node] = Param(self._attr(node.target), node.target)
            elif node.op == "output":
                self._outputs(node.args[0])
            else:
                self.env[node] = self._call(node)
        result = self.builder.finish()
        return regroup(self.builder, result) if self.hierarchy else result

    # ------------------------------------------------------------------ nodes
    def _input(self, node: fx.Node, index: int) -> Any:
        if index >= len(self.inputs):
            if node.args:  # an optional argument left at its default
                return node.args[0]
            raise ImportFailed(
                f"forward() takes an input {node.name!r} but only {len(self.inputs)} input "
                "shape(s) were given; give one --input-shape per input"
            )
        spec = self.inputs[index]
        params: dict[str, Any] = {"shape": spec.shape, "dtype": spec.dtype}
        if any(isinstance(d, str) for d in spec.shape):
            params["seq_len"] = spec.seq_len
        if spec.dtype == "int64":
            params["vocab_size"] = spec.vocab_size or smallest_vocabulary(self.gm)
        name = spec.name or node.name
        return TensorRef(self.builder.add("input", name, params, local=name))

    def _attr(self, target: str) -> Any:
        obj: Any = self.gm
        for part in target.split("."):
            obj = getattr(obj, part)
        return obj

    def _outputs(self, value: Any) -> None:
        items = value if isinstance(value, (tuple, list)) else (value,)
        for i, item in enumerate(items, start=1):
            resolved = self._resolve(item)
            name = "output" if len(items) == 1 else f"output{i}"
            try:
                ref = self._call_view(None, name, name, (), {}).as_ref(resolved)
            except Unmapped as exc:
                self.builder.report("model output", name, "not imported", exc.detail)
                continue
            self.builder.add("output", name, {}, [("in", ref)], local=name)

    def _call(self, node: fx.Node) -> Any:
        out = self.values.get(node)
        args = tuple(self._resolve(a) for a in node.args)
        kwargs = {k: self._resolve(v) for k, v in node.kwargs.items()}
        if node.target is _getitem_target() and isinstance(args[0], Tup):
            return args[0].items[args[1]]
        if node.target is _getitem_target() and isinstance(args[0], _Hidden):
            hidden = args[0]
            if args[1] == -1 and not hidden.bidirectional:
                return TensorRef(hidden.node_id, hidden.port)
            return Unavailable("hidden state rows other than the last", hidden.where)
        if not _has_tensor(out) and node.op != "call_module":
            return out  # size arithmetic, asserts: a constant from here on
        where, name, op = self._describe(node)
        call = self._call_view(node, name, where, args, kwargs)
        call.scope, call.local = self._place(node)
        try:
            if node.op == "call_module":
                return self._module(node, call)
            mapper = (FUNCTIONS if node.op == "call_function" else METHODS).get(node.target)
            if mapper is None:
                raise Unmapped()
            return mapper(call)
        except Unmapped as exc:
            return self._placeholder(op, where, name, call, exc.detail)

    def _module(self, node: fx.Node, call: Call) -> Any:
        module = self.gm.get_submodule(node.target)
        helper = helper_name(module)
        if helper is not None:
            mapped = map_helper(module)
        elif module_mapper(module) is not None:
            mapped = module_mapper(module)(module)
        else:
            raise Unmapped()
        weights = mapped.weights
        if weights is None:
            weights = {k: v.detach() for k, v in module.state_dict().items()}
        params = mapped.params

        def add(wires: list[tuple[str, TensorRef]]) -> str:
            return self.builder.add(
                mapped.type_id, call.name, params, wires, weights, call.scope, call.local
            )

        if mapped.type_id == "batchnorm1d" and isinstance(call.get(0, "input"), BatchFolded):
            # LeViT's bn(x.flatten(0, 1)).reshape_as(x): over the channels of (N, T, C)
            return folded_batchnorm(
                call, call.get(0, "input"), lambda r: TensorRef(add([("in", r)]))
            )
        if mapped.type_id == "dense" and len(call.in_shape()) > 3:
            params = {**params, "any_rank": True}  # nn.Linear on (N, H, W, C): ConvNeXt
        node_id = add(self._module_inputs(mapped.type_id, call, helper))
        ref = TensorRef(node_id)
        if helper in RETURNS_STATE:
            return Tup((ref, *(TensorRef(node_id, port) for port in RETURNS_STATE[helper])))
        if mapped.type_id in ("lstm", "gru", "rnn"):  # torch's own: (out, h_n) or (out, (h, c))
            bidirectional = bool(mapped.params["bidirectional"])
            whole = not bidirectional and getattr(module, "num_layers", 1) == 1
            hidden = _Hidden(node_id, bidirectional, call.where, whole=whole)
            if mapped.type_id == "lstm":
                cell = _Hidden(node_id, bidirectional, call.where, "cell", whole)
                hidden = Tup((hidden, cell))
            return Tup((ref, hidden))
        if mapped.type_id == "multihead_attention" and helper is None:
            return Tup((ref, Unavailable("attention weights", call.where)))
        return ref

    def _module_inputs(
        self, type_id: str, call: Call, helper: str | None
    ) -> list[tuple[str, TensorRef]]:
        if type_id == "multihead_attention":
            for key in ("key_padding_mask", "attn_mask"):
                if call.kwargs.get(key) is not None:
                    raise Unmapped(f"{key} is given; masks are not imported")
            query, key, value = (call.get(i, n) for i, n in enumerate(("query", "key", "value")))
            wires = [("query", call.as_ref(query))]
            if key is not None and key != query:
                wires.append(("key", call.as_ref(key)))
            if value is not None and value != key:
                wires.append(("value", call.as_ref(value)))
            return wires
        if type_id == "transformer_decoder_layer":
            return [("in", call.tensor(0)), ("memory", call.tensor(1, "memory"))]
        if type_id in ("transformer_encoder_layer",):
            for key in ("src_mask", "src_key_padding_mask"):
                if call.kwargs.get(key) is not None:
                    raise Unmapped(f"{key} is given; masks are not imported")
        if type_id in ("lstm", "gru", "rnn"):
            module = self.gm.get_submodule(call.where) if helper is None else None
            return [("in", call.tensor(0)), *_initial_state(type_id, call, helper, module)]
        return [("in", call.tensor(0))]

    def _placeholder(self, op: str, where: str, name: str, call: Call, detail: str) -> TensorRef:
        refs = []
        for value in _flat(call.args) + _flat(tuple(call.kwargs.values())):
            try:
                refs.append(call.as_ref(value))
            except Unmapped:
                continue
        out = call.out
        if isinstance(out, (tuple, list)) and out and isinstance(out[0], torch.Tensor):
            out = out[0]
        shape = tuple(out.shape[1:]) if isinstance(out, torch.Tensor) else None
        return self.builder.placeholder(
            op, where, refs, shape or None, detail, name, scope=call.scope, local=call.local
        )

    # ---------------------------------------------------------------- helpers
    def _resolve(self, arg: Any) -> Any:
        if isinstance(arg, fx.Node):
            return self.env[arg]
        if isinstance(arg, (tuple, list)):
            return type(arg)(self._resolve(a) for a in arg)
        if isinstance(arg, dict):
            return {k: self._resolve(v) for k, v in arg.items()}
        if isinstance(arg, slice):
            return slice(self._resolve(arg.start), self._resolve(arg.stop), self._resolve(arg.step))
        return arg

    def _call_view(self, node, name, where, args, kwargs) -> Call:
        ins = tuple(
            self.values.get(a) if isinstance(a, fx.Node) else a for a in (node.args if node else ())
        )
        out = self.values.get(node) if node is not None else None
        call = Call(self.builder, name, where, args, kwargs, out, ins)
        call.materialised = self.materialised
        return call

    def _place(self, node: fx.Node) -> tuple[tuple[str, ...], str]:
        """(scope, local name) of a call in the module hierarchy."""
        stack = node.meta.get("nn_module_stack") or {}
        for path, cls in stack.values():
            self.builder.scope_classes.setdefault(path, getattr(cls, "__name__", str(cls)))
        if node.op == "call_module":
            parts = str(node.target).split(".")
            return tuple(parts[:-1]), parts[-1]
        scope = next(reversed(stack.values()))[0] if stack else ""
        base = node.name.rstrip("0123456789").rstrip("_") or node.name
        return (tuple(scope.split(".")) if scope else ()), base

    def _describe(self, node: fx.Node) -> tuple[str, str, str]:
        """(where, node name, op) for the report and the new node."""
        if node.op == "call_module":
            module = self.gm.get_submodule(node.target)
            cls = type(module)
            prefix = "nn." if cls.__module__.startswith("torch.nn") else f"{cls.__module__}."
            return node.target, node.target, f"{prefix}{cls.__qualname__}"
        stack = node.meta.get("nn_module_stack") or {}
        scope = next(reversed(stack.values()))[0] if stack else ""
        base = node.name.rstrip("0123456789").rstrip("_") or node.name
        if node.op == "call_function" and isinstance(node.target, torch._ops.OpOverload):
            op = f"torch.{node.target.overloadpacket.__name__}"  # aten.roll.default: torch.roll
        elif node.op == "call_function":
            target = node.target
            module = getattr(target, "__module__", None) or "torch"
            if module.startswith("torch._C") or module == "torch._VariableFunctions":
                module = "torch"
            op = f"{module}.{getattr(target, '__name__', str(target))}"
        else:
            op = f"Tensor.{node.target}"
        where = f"{scope}.{base}" if scope else base
        return where, where, op


def _initial_state(
    type_id: str, call: Call, helper: str | None, module: nn.Module | None = None
) -> list[tuple[str, TensorRef]]:
    """The h0 (and c0) wires of one of our recurrent helpers, which take them as (N, H).
    torch's own ``hx`` is (layers * directions, N, H): it has a port to go to when both this
    layer and the one whose final state it is have one layer and one direction, so that the
    state is a single row (an encoder's ``(h, c)`` starting a decoder)."""
    if helper is None:
        hx = call.get(1, "hx")
        if hx is None:
            return []
        states = hx if isinstance(hx, tuple) else (hx,)
        single = module is not None and module.num_layers == 1 and not module.bidirectional
        ports = ("h0", "c0") if type_id == "lstm" else ("h0",)
        if not single or len(states) != len(ports):
            raise Unmapped(
                "an initial hidden state is passed in to a stacked or bidirectional layer"
            )
        wires = []
        for port, state in zip(ports, states, strict=True):
            if not (isinstance(state, _Hidden) and state.whole):
                raise Unmapped("the initial hidden state is not another layer's final state")
            wires.append((port, TensorRef(state.node_id, state.port)))
        return wires
    ports = ("h0", "c0") if type_id == "lstm" else ("h0",)
    wires = []
    for index, port in enumerate(ports, start=1):
        value = call.get(index, port)
        if value is not None:
            wires.append((port, call.as_ref(value)))
    return wires


@dataclass(frozen=True)
class _Hidden:
    """torch's ``h_n`` of a recurrent layer: (layers * directions, N, H)."""

    node_id: str
    bidirectional: bool
    where: str
    port: str = "state"
    """The layer's port its last row is: ``state`` (h_n) or ``cell`` (an LSTM's c_n)."""
    whole: bool = False
    """True when the last row is all of it (one layer, one direction)."""


def _getitem_target():
    import operator

    return operator.getitem


def _has_tensor(value: Any) -> bool:
    if isinstance(value, torch.Tensor):
        return True
    if isinstance(value, (tuple, list)):
        return any(_has_tensor(v) for v in value)
    return False


def _flat(values: tuple) -> list[Any]:
    out = []
    for v in values:
        if isinstance(v, (tuple, list)):
            out.extend(_flat(tuple(v)))
        elif isinstance(v, Tup):
            out.extend(_flat(v.items))
        else:
            out.append(v)
    return out

"""ONNX file -> graph: each node becomes a catalogue layer, initializers become its weights.

onnxruntime runs the model once on an example input so every value's concrete shape is known,
and everything computed from constants or from ``Shape`` folds to a constant. Operations that
only make sense as part of a pattern (``x / sqrt(2)`` inside an exact GELU) wait as deferred
values; if the pattern does not complete they become Placeholders like any other unsupported
node, named in the report by their ONNX node name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import onnx
import torch
from onnx import numpy_helper

from dlstudio.compile.importers import onnx_batch_heads, onnx_torch_mha
from dlstudio.compile.importers.builder import GraphBuilder, TensorRef
from dlstudio.compile.importers.errors import ImportFailed
from dlstudio.compile.importers.onnx_ops import OPS, PLAIN
from dlstudio.compile.importers.onnx_packed import register_all
from dlstudio.compile.importers.onnx_recurrent import register_state_slice
from dlstudio.compile.importers.onnx_run import example_feeds, run_all
from dlstudio.compile.importers.report import ImportResult
from dlstudio.compile.importers.values import Deferred, Unmapped
from dlstudio.core.errors import DLStudioError
from dlstudio.layers.io import DTYPES
from dlstudio.layers.spec import ParamError


def import_onnx(path: str | Path, seq_len: int = 16, batch: bool | None = None) -> ImportResult:
    """Import the ONNX model at ``path``; see the module docstring. ``batch``: whether the
    inputs' first axis is the batch (None: yes, unless an input is a single number)."""
    path = Path(path)
    try:
        model = onnx.load(str(path))
    except Exception as exc:
        raise ImportFailed(f"{path} is not an ONNX model DL Studio can read: {exc}") from exc
    inputs = graph_inputs(model)
    for value in inputs:
        _check_type(value)
    if batch is None:
        batch = all(len(v.type.tensor_type.shape.dim) > 0 for v in inputs)
    if batch:
        for value in inputs:
            if not value.type.tensor_type.shape.dim:
                raise ImportFailed(
                    f"input {value.name} is a single number (rank 0): it has no batch axis"
                )
    feeds = example_feeds(model, seq_len)
    values = run_all(model, feeds)
    walker = _OnnxWalker(model, values, path.stem, str(path), seq_len, batch)
    walker.moving = moving_sizes(model, values, seq_len)
    return walker.run()


def moving_sizes(model: onnx.ModelProto, values: dict, seq_len: int) -> dict[str, tuple[int, ...]]:
    """Value name -> the axes whose size follows the inputs' symbolic lengths: a second run at
    another length tells a length from a size that equals it by chance. Empty when no input has
    a symbolic length, or when the file runs at its example length only."""
    symbolic = any(
        not d.dim_value
        for v in graph_inputs(model)
        if v.type.WhichOneof("value") == "tensor_type"
        for d in list(v.type.tensor_type.shape.dim)[1:]
    )
    if not symbolic:
        return {}
    try:
        other = run_all(model, example_feeds(model, seq_len + 3))
    except ImportFailed:
        return {}
    moving = {}
    for name, value in values.items():
        again = other.get(name)
        shape = getattr(value, "shape", None)
        if again is None or shape is None or len(again.shape) != len(shape):
            continue
        axes = tuple(i for i, (a, b) in enumerate(zip(shape, again.shape, strict=True)) if a != b)
        if axes:
            moving[name] = axes
    return moving


def graph_inputs(model: onnx.ModelProto) -> list:
    """The inputs fed at run time (initializers listed as inputs left out)."""
    stored = {i.name for i in model.graph.initializer}
    return [v for v in model.graph.input if v.name not in stored]


class _OnnxWalker:
    def __init__(self, model, values, name, source, seq_len, batch: bool = True) -> None:
        self.model = model
        self.batch = batch
        """Whether the inputs' first axis is the batch (else the model has none)."""
        self.values = values
        self.seq_len = seq_len
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 1)
        """The default domain's opset version: operator semantics change with it."""
        self.builder = GraphBuilder(name, source)
        self.moving: dict[str, tuple[int, ...]] = {}
        """Value name -> its axes whose size follows the inputs' lengths (see
        :func:`moving_sizes`)."""
        self.env: dict[str, Any] = {}
        self.biasless: dict[str, int] = {}
        self.bias_key: dict[str, str] = {}
        """Where a folded bias goes, when not ``bias`` (attention: ``out_proj.bias``)."""
        """Dense nodes made from a MatMul, awaiting a bias from the Add that follows."""
        for init in model.graph.initializer:
            self.env[init.name] = numpy_helper.to_array(init)
        self.blocks = onnx_torch_mha.find_blocks(model, values, self.env) if batch else {}
        """torch's own MultiheadAttention blocks by their first node (see
        :mod:`.onnx_torch_mha`); their other nodes are skipped."""
        self.in_block = {name for block in self.blocks.values() for name in block.nodes}

    def run(self) -> ImportResult:
        for value in self.model.graph.input:
            if value.name not in self.env:
                self.env[value.name] = self._input(value)
        for node in self.model.graph.node:
            self._node(node)
        for value in self.model.graph.output:
            try:
                if value.name not in self.env:
                    raise Unmapped("is not computed by any node")
                ref = self._ref(self.env[value.name])
            except Unmapped as exc:
                self.builder.report("model output", value.name, "not imported", exc.detail)
                continue
            self.builder.add("output", value.name, {}, [("in", ref)], local=value.name)
        return self.builder.finish()

    def _input(self, value) -> TensorRef:
        t = value.type.tensor_type
        dtype = _dtype_name(t.elem_type)
        dims = list(t.shape.dim)[1:] if self.batch else list(t.shape.dim)
        shape = [d.dim_value if d.dim_value else (d.dim_param or "T") for d in dims]
        shape = [s if isinstance(s, int) else _symbol(s) for s in shape]
        params: dict[str, Any] = {"shape": tuple(shape), "dtype": dtype, "batch": self.batch}
        if any(isinstance(d, str) for d in shape):
            params["seq_len"] = self.seq_len
        if dtype == "int64":
            params["vocab_size"] = 2
        try:
            node_id = self.builder.add("input", value.name, params, local=value.name)
        except (DLStudioError, ParamError) as exc:  # more dimensions than an Input has
            raise ImportFailed(f"input {value.name}: {exc}") from exc
        return TensorRef(node_id)

    # ------------------------------------------------------------------ nodes
    def _node(self, node) -> None:
        key = onnx_torch_mha.key(node)
        if key in self.in_block and (key not in self.blocks or self._attention_block(key)):
            return
        inputs = [self.env.get(name) if name else None for name in node.input]
        dynamic = any(isinstance(v, (TensorRef, Deferred, _Missing)) for v in inputs)
        if node.op_type == "Constant" or node.op_type == "Shape" or not dynamic:
            for name in node.output:
                self.env[name] = self.values.get(name)
            return
        mapper = OPS.get(node.op_type)
        try:
            if mapper is None:
                raise Unmapped()
            outputs = mapper(self, node, inputs, _attrs(node))
        except Unmapped as exc:
            outputs = self._stand_in(node, inputs, exc.detail)
        except (DLStudioError, ParamError) as exc:  # a value the layer cannot take
            outputs = self._stand_in(node, inputs, str(exc).splitlines()[0])
        if not isinstance(outputs, list):
            outputs = [outputs]
        for i, name in enumerate(node.output):
            if name:
                self.env[name] = outputs[i] if i < len(outputs) else _Missing(node, i)

    def _attention_block(self, key: str) -> bool:
        """One MultiheadAttention layer for a whole ``nn.MultiheadAttention`` block; False
        when the layer cannot stand for it (its nodes are then imported one by one)."""
        block = self.blocks[key]
        weights = {k: torch.from_numpy(v.copy()) for k, v in block.weights.items()}
        try:
            node_id = self.builder.add(
                "multihead_attention",
                _local(block.where),
                {"num_heads": block.heads},
                [("query", self._ref(self.env.get(block.source)))],
                weights,
                local=_local(block.where),
            )
        except (Unmapped, DLStudioError, ParamError):
            self.in_block -= block.nodes
            return False
        self.builder.result.source_names[node_id] = block.result
        self.env[block.result] = TensorRef(node_id)
        return True

    def _stand_in(self, node, inputs, detail: str) -> list[Any]:
        """A placeholder for a node with no layer: it stands for every output of the node."""
        return [self._placeholder(node, inputs, detail)] * len(node.output)

    def _placeholder(self, node, inputs, detail: str = "") -> TensorRef:
        refs = []
        for value in inputs:
            try:
                refs.append(self._ref(value))
            except Unmapped:
                continue
        shape = self.shape(node.output[0])
        shape = (shape[1:] if self.batch else shape) if shape else None
        where = node.name or node.output[0]
        if shape is not None and len(shape) > 6:
            shape = None  # more dimensions than a Placeholder records; it still stands in
        return self.builder.placeholder(
            f"ONNX {node.op_type}", where, refs, shape, detail, local=_local(where)
        )

    # ---------------------------------------------------------------- helpers
    def _ref(self, value: Any) -> TensorRef:
        if isinstance(value, TensorRef):
            return value
        if isinstance(value, Deferred) and value.kind.startswith("rnn_"):
            raise Unmapped("reads a recurrent layer's raw output in a layout it does not give")
        if isinstance(value, Deferred):
            ref, detail = self._plain(value)
            if ref is None:
                detail = getattr(value, "detail", detail or "part of an unfinished pattern")
                ref = self._placeholder(value.node, value.inputs, detail)
            value.__class__ = _Materialised  # the same object now stands for its placeholder
            value.ref = ref
            return ref
        if isinstance(value, _Materialised):
            return value.ref
        if isinstance(value, _Missing):
            raise Unmapped(value.detail)
        raise Unmapped("uses a constant where a layer needs a tensor")

    def _plain(self, value: Deferred) -> tuple[TensorRef | None, str]:
        """The layer a pattern's node is on its own, when its pattern did not complete (or
        None and why not)."""
        mapper = PLAIN.get(value.node.op_type)
        if mapper is None or value.kind.startswith("rnn_"):
            return None, ""
        try:
            ref = mapper(self, value.node, value.inputs, _attrs(value.node))
        except Unmapped as exc:
            return None, exc.detail
        except (DLStudioError, ParamError) as exc:
            return None, str(exc).splitlines()[0]
        return (ref, "") if isinstance(ref, TensorRef) else (None, "")

    def shape(self, name: str) -> tuple[int, ...] | None:
        """The concrete shape of a value from the example run."""
        value = self.values.get(name)
        return tuple(value.shape) if value is not None else None

    def layer(self, node, type_id: str, params: dict, *inputs, weights=None) -> TensorRef:
        """Add the layer replacing ``node`` (named after the ONNX node)."""
        wires = [i if isinstance(i, tuple) else ("in", i) for i in inputs]
        where = node.name or node.output[0]
        node_id = self.builder.add(
            type_id, _local(where), params, wires, weights, local=_local(where)
        )
        self.builder.result.source_names[node_id] = node.output[0]
        return TensorRef(node_id)


register_all(OPS)
onnx_batch_heads.register(OPS)
register_state_slice(OPS)


class _Materialised:
    ref: TensorRef


class _Missing:
    """An output the imported layer does not give (MaxPool's indices, Dropout's mask): using
    it is refused rather than silently reading the first output."""

    def __init__(self, node, index: int) -> None:
        where = node.name or node.output[0]
        self.detail = (
            f"uses output {index} ({node.output[index]}) of {node.op_type} {where}, "
            "which the imported layer does not give"
        )


def _check_type(value) -> None:
    """Refuse, by name, an input DL Studio's Input layer cannot declare."""
    if value.type.WhichOneof("value") != "tensor_type":
        kind = value.type.WhichOneof("value") or "untyped"
        raise ImportFailed(f"input {value.name} is a {kind.replace('_type', '')}, not a tensor")
    name = _dtype_name(value.type.tensor_type.elem_type)
    if name not in DTYPES:
        raise ImportFailed(
            f"input {value.name} is {name}: DL Studio's inputs are {', '.join(DTYPES)}"
        )


def _dtype_name(elem_type: int) -> str:
    try:
        return str(onnx.helper.tensor_dtype_to_np_dtype(elem_type))
    except (KeyError, TypeError, ValueError):
        return onnx.helper.tensor_dtype_to_string(elem_type).removeprefix("TensorProto.").lower()


def _symbol(name: str) -> str:
    cleaned = "".join(c for c in name if c.isalnum())[:8] or "T"
    return cleaned if cleaned[0].isalpha() and cleaned != "N" else "T"


def _local(where: str) -> str:
    return where.strip("/").replace("/", "_").replace(".", "_") or "node"


def _attrs(node) -> dict[str, Any]:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}

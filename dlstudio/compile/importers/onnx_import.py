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
from onnx import numpy_helper

from dlstudio.compile.importers.builder import GraphBuilder, TensorRef
from dlstudio.compile.importers.errors import ImportFailed
from dlstudio.compile.importers.onnx_ops import OPS
from dlstudio.compile.importers.onnx_packed import register_all
from dlstudio.compile.importers.onnx_run import example_feeds, run_all
from dlstudio.compile.importers.report import ImportResult
from dlstudio.compile.importers.values import Deferred, Unmapped

_ELEM = {onnx.TensorProto.FLOAT: "float32", onnx.TensorProto.INT64: "int64"}


def import_onnx(path: str | Path, seq_len: int = 16) -> ImportResult:
    """Import the ONNX model at ``path``; see the module docstring."""
    path = Path(path)
    try:
        model = onnx.load(str(path))
    except Exception as exc:
        raise ImportFailed(f"{path} is not an ONNX model DL Studio can read: {exc}") from exc
    feeds = example_feeds(model, seq_len)
    values = run_all(model, feeds)
    return _OnnxWalker(model, values, path.stem, str(path), seq_len).run()


class _OnnxWalker:
    def __init__(self, model, values, name, source, seq_len) -> None:
        self.model = model
        self.values = values
        self.seq_len = seq_len
        self.builder = GraphBuilder(name, source)
        self.env: dict[str, Any] = {}
        self.biasless: dict[str, int] = {}
        self.bias_key: dict[str, str] = {}
        """Where a folded bias goes, when not ``bias`` (attention: ``out_proj.bias``)."""
        """Dense nodes made from a MatMul, awaiting a bias from the Add that follows."""
        for init in model.graph.initializer:
            self.env[init.name] = numpy_helper.to_array(init)

    def run(self) -> ImportResult:
        for value in self.model.graph.input:
            if value.name not in self.env:
                self.env[value.name] = self._input(value)
        for node in self.model.graph.node:
            self._node(node)
        for value in self.model.graph.output:
            try:
                ref = self._ref(self.env[value.name])
            except Unmapped as exc:
                self.builder.report("model output", value.name, "not imported", exc.detail)
                continue
            self.builder.add("output", value.name, {}, [("in", ref)], local=value.name)
        return self.builder.finish()

    def _input(self, value) -> TensorRef:
        t = value.type.tensor_type
        dims = list(t.shape.dim)[1:]
        shape = [d.dim_value if d.dim_value else (d.dim_param or "T") for d in dims]
        shape = [s if isinstance(s, int) else _symbol(s) for s in shape]
        dtype = _ELEM.get(t.elem_type, "float32")
        params: dict[str, Any] = {"shape": tuple(shape), "dtype": dtype}
        if any(isinstance(d, str) for d in shape):
            params["seq_len"] = self.seq_len
        if dtype == "int64":
            params["vocab_size"] = 2
        return TensorRef(self.builder.add("input", value.name, params, local=value.name))

    # ------------------------------------------------------------------ nodes
    def _node(self, node) -> None:
        inputs = [self.env.get(name) if name else None for name in node.input]
        dynamic = any(isinstance(v, (TensorRef, Deferred)) for v in inputs)
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
            outputs = [self._placeholder(node, inputs, exc.detail)]
        if not isinstance(outputs, list):
            # A placeholder stands for every output of the node it replaces.
            outputs = [outputs] * len(node.output)
        for name, value in zip(node.output, outputs, strict=False):
            self.env[name] = value

    def _placeholder(self, node, inputs, detail: str = "") -> TensorRef:
        refs = []
        for value in inputs:
            try:
                refs.append(self._ref(value))
            except Unmapped:
                continue
        shape = self.shape(node.output[0])
        where = node.name or node.output[0]
        return self.builder.placeholder(
            f"ONNX {node.op_type}",
            where,
            refs,
            shape[1:] if shape else None,
            detail,
            local=_local(where),
        )

    # ---------------------------------------------------------------- helpers
    def _ref(self, value: Any) -> TensorRef:
        if isinstance(value, TensorRef):
            return value
        if isinstance(value, Deferred) and value.kind.startswith("rnn_"):
            raise Unmapped("reads a recurrent layer's raw output in a layout it does not give")
        if isinstance(value, Deferred):
            detail = getattr(value, "detail", "part of an unfinished pattern")
            ref = self._placeholder(value.node, value.inputs, detail)
            value.__class__ = _Materialised  # the same object now stands for its placeholder
            value.ref = ref
            return ref
        if isinstance(value, _Materialised):
            return value.ref
        raise Unmapped("uses a constant where a layer needs a tensor")

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
        return TensorRef(node_id)


register_all(OPS)


class _Materialised:
    ref: TensorRef


def _symbol(name: str) -> str:
    cleaned = "".join(c for c in name if c.isalnum())[:8] or "T"
    return cleaned if cleaned[0].isalpha() and cleaned != "N" else "T"


def _local(where: str) -> str:
    return where.strip("/").replace("/", "_").replace(".", "_") or "node"


def _attrs(node) -> dict[str, Any]:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}

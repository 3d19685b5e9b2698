"""``nn.MultiheadAttention`` as both torch exporters write it for a batch-first module (as in
torchvision's ViT): Transpose (1, 0, 2) to time-major, the packed in-projection (MatMul with an
(E, 3E) matrix, Add of the (3E,) bias), the heads reshaped to (T, N * heads, d) and back, the
scaled scores, Softmax, the context, the output projection (Gemm or MatMul) and Transpose (1, 0,
2) back. The batch moves throughout the block, so no node of it is a layer on its own; the
whole block becomes one MultiheadAttention layer.

A block is recognised by its boundary, not by its inner nodes: every node reachable from the
first Transpose up to the last, reading nothing else that depends on the inputs, and read from
outside only through the last Transpose's output. Its weights come from the one (E, 3E) and the
one (E, E) matrix inside; the number of heads from the scores' shape. It is taken only when the
layer, computed from those weights on the example run's input, gives the example run's output of
the block (any mask, other scale or other head split does not): otherwise the nodes import one by
one as before (and the batch-moving ones are refused, naming the node)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import numpy_helper

_TIME_MAJOR = (1, 0, 2)
_SCOPES = "pkg.torch.onnx.name_scopes"


@dataclass
class Block:
    """One recognised ``nn.MultiheadAttention``: where it starts and ends, and its layer."""

    start: str
    """The first Transpose's :func:`key` (the walker adds the layer there)."""
    source: str
    """The batch-first input's value name."""
    result: str
    """The last Transpose's output: the layer's output stands for it."""
    nodes: set[str] = field(default_factory=set)
    """Every node of the block by :func:`key` (skipped by the walker)."""
    heads: int = 1
    weights: dict[str, np.ndarray] = field(default_factory=dict)
    """PyTorch's names: in_proj_weight, in_proj_bias, out_proj.weight, out_proj.bias."""
    where: str = ""
    """The block's name: the module path the exporter wrote, else the last node's."""


def key(node) -> str:
    """How a node is known here: its first output (unique, where node names need not be)."""
    return node.output[0] if node.output else node.name


def find_blocks(model: onnx.ModelProto, values: dict, stored: dict) -> dict[str, Block]:
    """The blocks in ``model`` by their first node's :func:`key`; ``values`` is the example run,
    ``stored`` the initializers' arrays by name."""
    graph = model.graph
    names = [key(n) for n in graph.node]
    consumers: dict[str, list[int]] = {}
    for i, node in enumerate(graph.node):
        for name in node.input:
            consumers.setdefault(name, []).append(i)
    constants = _constants(model, values, stored)
    blocks, taken = {}, set()
    for i, node in enumerate(graph.node):
        if node.op_type != "Transpose" or _perm(node) != _TIME_MAJOR or names[i] in taken:
            continue  # (the head transposes inside a block are (1, 0, 2) too)
        block = _block_from(model, i, names, consumers, constants, values)
        if block is not None:
            blocks[block.start] = block
            taken |= block.nodes
    return blocks


def _block_from(model, first, names, consumers, constants, values) -> Block | None:
    nodes = model.graph.node
    start = nodes[first]
    source = start.input[0]
    x = values.get(source)
    if not isinstance(x, np.ndarray) or x.ndim != 3 or x.dtype != np.float32:
        return None
    if source in constants:
        return None  # a constant, not a tensor the model computes
    # forward from the first Transpose, stopping at a Transpose (1, 0, 2) back to x's shape
    region, end, todo = {first}, None, [first]
    while todo:
        i = todo.pop()
        node = nodes[i]
        if i != first and node.op_type == "Transpose" and _perm(node) == _TIME_MAJOR:
            out = values.get(node.output[0])
            if getattr(out, "shape", None) == x.shape:
                if end is not None and end != i:
                    return None
                end = i
                continue
        for name in node.output:
            for j in consumers.get(name, []):
                if j not in region:
                    region.add(j)
                    todo.append(j)
        if len(region) > 400:
            return None
    if end is None:
        return None
    produced = {o for i in region for o in nodes[i].output}
    for i in region:
        for name in nodes[i].input:
            if name and name not in produced and name != source and name not in constants:
                return None  # reads another tensor: not this block
        for name in nodes[i].output:
            if i == end or name not in produced:
                continue
            if any(j not in region for j in consumers.get(name, [])):
                return None  # a value of the block is used outside it
            if name in {o.name for o in model.graph.output}:
                return None
    block = Block(names[first], source, nodes[end].output[0], {names[i] for i in region})
    if not _weights(block, [nodes[i] for i in sorted(region)], constants, x.shape[2]):
        return None
    block.heads = _heads(block, [nodes[i] for i in region], values, x.shape)
    expected = values.get(block.result)
    if not block.heads or not isinstance(expected, np.ndarray):
        return None
    if not np.allclose(attention(x, block), expected, rtol=1e-3, atol=1e-4):
        return None
    block.where = _scope(start, nodes[end]) or nodes[end].name or names[end]
    return block


def _scope(first, last) -> str:
    """The module both ends belong to: TorchScript's node names are module paths
    (``/encoder/layers/encoder_layer_0/self_attention/Transpose``), the dynamo exporter's
    ``pkg.torch.onnx.name_scopes`` lists them; empty when neither says."""
    scopes = []
    for node in (first, last):
        listed = next((p.value for p in node.metadata_props if p.key == _SCOPES), "")
        if listed:
            parts = [s.strip(" '\"") for s in listed.strip("[]").split(",")]
            scopes.append(parts[-2] if len(parts) > 1 else "")
        else:
            scopes.append(node.name.rsplit("/", 1)[0] if "/" in node.name else "")
    return scopes[0] if scopes[0] == scopes[1] else ""


def _weights(block: Block, region: list, constants: dict, width: int) -> bool:
    """The in- and out-projection weights from the block's constant matrices."""
    matmuls = [n for n in region if n.op_type in ("MatMul", "Gemm")]
    packed = [n for n in matmuls if _matrix(n, constants) is not None]
    ins = [n for n in packed if _matrix(n, constants).shape == (width, 3 * width)]
    outs = [n for n in packed if _matrix(n, constants).shape == (width, width)]
    if len(ins) != 1 or len(outs) != 1 or len(packed) != 2 or ins[0].op_type != "MatMul":
        return False
    in_w = _matrix(ins[0], constants).T
    in_b = _bias_after(ins[0], region, constants, 3 * width)
    out = outs[0]
    out_w = _matrix(out, constants)
    if out.op_type == "MatMul" or not _attr(out, "transB", 0):
        out_w = out_w.T
    out_b = None
    if out.op_type == "Gemm":
        if _attr(out, "transA", 0) or _attr(out, "alpha", 1.0) != 1.0:
            return False
        if len(out.input) > 2 and out.input[2]:
            stored = constants.get(out.input[2])
            if not isinstance(stored, np.ndarray):
                return False
            out_b = stored * _attr(out, "beta", 1.0)
    if out_b is None:
        out_b = _bias_after(out, region, constants, width)
    if in_b is None or out_b is None or np.shape(out_b) != (width,):
        return False
    block.weights = {
        "in_proj_weight": np.ascontiguousarray(in_w, np.float32),
        "in_proj_bias": np.asarray(in_b, np.float32),
        "out_proj.weight": np.ascontiguousarray(out_w, np.float32),
        "out_proj.bias": np.asarray(out_b, np.float32),
    }
    return True


def _bias_after(node, region: list, constants: dict, size: int):
    """The (size,) constant an Add right after ``node`` adds, zeros when none does (the
    numerical check decides whether the block is what the weights say)."""
    for other in region:
        if other.op_type == "Add" and node.output[0] in other.input:
            (name,) = [n for n in other.input if n != node.output[0]] or [""]
            value = constants.get(name)
            if isinstance(value, np.ndarray) and value.shape == (size,):
                return value
            return None
    return np.zeros(size, np.float32)


def _heads(block: Block, region: list, values: dict, shape) -> int:
    """The number of heads: the scores' head axis (N, heads, T, S), or (N * heads, T, S)."""
    softmax = [n for n in region if n.op_type == "Softmax"]
    if len(softmax) != 1:
        return 0
    scores = values.get(softmax[0].input[0])
    batch, _, width = shape
    if scores is None or scores.ndim not in (3, 4):
        return 0
    heads = scores.shape[1] if scores.ndim == 4 else scores.shape[0] // batch
    return heads if heads > 0 and width % heads == 0 else 0


def attention(x: np.ndarray, block: Block) -> np.ndarray:
    """``nn.MultiheadAttention`` (batch first, self-attention, no mask) of ``x`` (N, T, E)."""
    w = block.weights
    n, t, e = x.shape
    h = block.heads
    d = e // h
    qkv = x.astype(np.float64) @ w["in_proj_weight"].T.astype(np.float64) + w["in_proj_bias"]
    q, k, v = (
        qkv[..., i * e : (i + 1) * e].reshape(n, t, h, d).transpose(0, 2, 1, 3) for i in range(3)
    )
    scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(d)
    scores = np.exp(scores - scores.max(-1, keepdims=True))
    probs = scores / scores.sum(-1, keepdims=True)
    context = (probs @ v).transpose(0, 2, 1, 3).reshape(n, t, e)
    return context @ w["out_proj.weight"].T.astype(np.float64) + w["out_proj.bias"]


def _constants(model: onnx.ModelProto, run: dict, stored: dict) -> dict[str, np.ndarray | None]:
    """Initializers and Constant nodes' values, and everything computed from them alone or
    from shapes (what the walker holds as numbers, not tensors), with its value from the
    example run ``run`` (None where the run did not keep it)."""
    values = {i.name: stored[i.name] for i in model.graph.initializer}
    known = set(values)
    for node in model.graph.node:
        if node.op_type == "Constant":
            attr = next((a for a in node.attribute if a.name == "value"), None)
            if attr is not None:
                values[node.output[0]] = numpy_helper.to_array(attr.t)
            known.update(node.output)
        elif node.op_type == "Shape" or all(not n or n in known for n in node.input):
            known.update(node.output)
    for name in known:
        values.setdefault(name, run.get(name))
    return values


def _matrix(node, constants: dict):
    value = constants.get(node.input[1]) if len(node.input) > 1 else None
    return value if isinstance(value, np.ndarray) and value.ndim == 2 else None


def _perm(node) -> tuple[int, ...]:
    return tuple(next((list(a.ints) for a in node.attribute if a.name == "perm"), []))


def _attr(node, name: str, default):
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default

"""The transposed keys that torch's dynamo exporter writes for attention: the (N, heads, T, d)
keys reshaped to (N * heads, T, d), transposed to (N * heads, d, T) and reshaped back to
(N, heads, d, T). The batch is merged only in between, so the three nodes are one Permute
(0, 1, 3, 2); anything else that merges the batch is refused as before."""

from __future__ import annotations

from dlstudio.compile.importers.builder import TensorRef
from dlstudio.compile.importers.values import Deferred


def register(ops: dict) -> None:
    """Wrap the current Reshape and Transpose mappers with the pattern."""
    reshape, transpose = ops["Reshape"], ops["Transpose"]

    def merged_reshape(w, node, inputs, attrs):
        x = inputs[0]
        before, after = w.shape(node.input[0]), w.shape(node.output[0])
        if isinstance(x, (TensorRef, Deferred)) and before and after and len(before) == 4:
            merges = len(after) == 3 and after[0] == before[0] * before[1]
            if merges and tuple(after[1:]) == tuple(before[2:]) and w.batch:
                # the heads of another pattern (heads_t) are taken as the tensor they are
                d = Deferred("batch_heads", w._ref(x), node, inputs, after)
                d.parts = {"batch": before[0], "heads": before[1]}
                return d
        if isinstance(x, Deferred) and x.kind == "batch_heads_t" and after and len(after) == 4:
            n, h = x.parts["batch"], x.parts["heads"]
            if tuple(after) == (n, h, *before[1:]):
                return w.layer(node, "permute", {"dims": (0, 1, 3, 2)}, x.base)
        return reshape(w, node, inputs, attrs)

    def merged_transpose(w, node, inputs, attrs):
        x, perm = inputs[0], tuple(attrs.get("perm", ()))
        if isinstance(x, Deferred) and x.kind == "batch_heads" and perm == (0, 2, 1):
            d = Deferred("batch_heads_t", x.base, node, inputs, w.shape(node.output[0]))
            d.parts = dict(x.parts)
            return d
        return transpose(w, node, inputs, attrs)

    ops["Reshape"] = merged_reshape
    ops["Transpose"] = merged_transpose

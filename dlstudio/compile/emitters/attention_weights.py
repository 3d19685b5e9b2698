"""The attention-weights output of MultiheadAttention and the Transformer layers (their
``attention_weights`` option): subclasses of the attention helpers that also return the weights.

A separate code path on purpose: with the option off nothing here is emitted, so the generated
file, the parameters and the ONNX graph are exactly those of a layer without it. The fused
``F.scaled_dot_product_attention`` never materialises the weights, so the subclasses write the
attention out (``softmax(q k^T / sqrt(d_k)) v``) with the same parameters, the same masks and
the same initialisation: switching the output on changes neither the ``state_dict`` keys nor
what a seed trains. The weights are those of nn.MultiheadAttention's ``need_weights=True``:
averaged over the heads, or per head with ``average_attn_weights=False``, before dropout.
"""

from __future__ import annotations

from dlstudio.compile.emitters.base import EmitContext
from dlstudio.compile.emitters.helpers import Helper, register_helper

register_helper(
    Helper(
        "attention_with_weights",
        '''
def attention_with_weights(
    attn: nn.Module,
    query: torch.Tensor,
    key: torch.Tensor | None = None,
    value: torch.Tensor | None = None,
    mask: torch.Tensor | None = None,
    average: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """What the MultiheadAttention ``attn`` computes, written out to keep its weights
    softmax(q k^T / sqrt(head_dim)): returns (out, weights), the weights averaged over the
    heads (N, T, S), or per head (N, heads, T, S) when not ``average``."""
    q, k, v = attn.project(query, key, value)
    scores = q @ k.transpose(-2, -1) / math.sqrt(attn.head_dim)  # (N, heads, T, S)
    if mask is not None or attn.causal:
        if mask is None:
            mask = torch.ones(k.size(0), k.size(2), dtype=torch.bool, device=k.device)
        scores = scores + additive_mask(mask, attn.causal, q.size(2), k.size(2), scores.dtype)
    weights = scores.softmax(dim=-1)
    out = F.dropout(weights, attn.dropout, attn.training) @ v  # (N, heads, T, head_dim)
    out = out.transpose(1, 2)
    out = attn.out_proj(out.reshape(out.size(0), out.size(1), -1))
    return out, (weights.mean(dim=1) if average else weights)
''',
        requires=("additive_mask",),
    )
)

register_helper(
    Helper(
        "MultiheadAttentionWithWeights",
        '''
class MultiheadAttentionWithWeights(MultiheadAttention):
    """MultiheadAttention returning (out, weights): the weights averaged over the heads
    (N, T, S), or per head (N, heads, T, S) with average_weights=False."""

    def __init__(self, *args, average_weights: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.average_weights = average_weights

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor | None = None,
        value: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return attention_with_weights(self, query, key, value, mask, self.average_weights)
''',
        requires=("MultiheadAttention", "attention_with_weights"),
    )
)

register_helper(
    Helper(
        "TransformerEncoderLayerWithWeights",
        '''
class TransformerEncoderLayerWithWeights(TransformerEncoderLayer):
    """TransformerEncoderLayer returning (out, weights of its self-attention): averaged over
    the heads (N, T, T), or per head (N, nhead, T, T) with average_weights=False."""

    def __init__(self, *args, average_weights: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.average_weights = average_weights

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.norm1(x) if self.norm_first else x
        attended, weights = attention_with_weights(
            self.self_attn, h, mask=mask, average=self.average_weights
        )
        if self.norm_first:
            x = x + self.dropout1(attended)
            x = x + self._feed_forward(self.norm2(x))
        else:
            x = self.norm1(x + self.dropout1(attended))
            x = self.norm2(x + self._feed_forward(x))
        return x, weights
''',
        requires=("TransformerEncoderLayer", "attention_with_weights"),
    )
)

register_helper(
    Helper(
        "TransformerDecoderLayerWithWeights",
        '''
class TransformerDecoderLayerWithWeights(TransformerDecoderLayer):
    """TransformerDecoderLayer returning (out, self-attention weights (N, T, T), cross-attention
    weights (N, T, S)), averaged over the heads, or per head with average_weights=False."""

    def __init__(self, *args, average_weights: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.average_weights = average_weights

    def forward(
        self,
        x: torch.Tensor,
        memory: torch.Tensor,
        mask: torch.Tensor | None = None,
        memory_mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        average = self.average_weights
        if self.norm_first:
            attended, weights = attention_with_weights(
                self.self_attn, self.norm1(x), mask=mask, average=average
            )
            x = x + self.dropout1(attended)
            attended, cross_weights = attention_with_weights(
                self.multihead_attn, self.norm2(x), memory, mask=memory_mask, average=average
            )
            x = x + self.dropout2(attended)
            x = x + self._feed_forward(self.norm3(x))
        else:
            attended, weights = attention_with_weights(self.self_attn, x, mask=mask, average=average)
            x = self.norm1(x + self.dropout1(attended))
            attended, cross_weights = attention_with_weights(
                self.multihead_attn, x, memory, mask=memory_mask, average=average
            )
            x = self.norm2(x + self.dropout2(attended))
            x = self.norm3(x + self._feed_forward(x))
        return x, weights, cross_weights
''',
        requires=("TransformerDecoderLayer", "attention_with_weights"),
    )
)

_PORTS = {
    "MultiheadAttention": ("out", "weights"),
    "TransformerEncoderLayer": ("out", "weights"),
    "TransformerDecoderLayer": ("out", "weights", "cross_weights"),
}


def weights_variant(
    ctx: EmitContext, cls: str, kwargs: dict[str, str]
) -> tuple[str, dict[str, str], tuple[str, ...]]:
    """The helper class, constructor keywords and output ports of ``cls`` with its weights
    output on (``ctx``'s ``attention_weights`` is ``mean`` or ``per_head``)."""
    kwargs = dict(kwargs)
    if ctx["attention_weights"] == "per_head":
        kwargs["average_weights"] = "False"
    return f"{cls}WithWeights", kwargs, _PORTS[cls]

"""Attention: multi-head attention and the Transformer encoder and decoder blocks.

They are written out as helper classes (in the style of nanoGPT's ``CausalSelfAttention``)
rather than ``nn.MultiheadAttention``, whose fast paths bake the example sequence length into
an exported ONNX graph; the attention itself is ``F.scaled_dot_product_attention``, PyTorch's
fused kernel, which exports to ONNX with the lengths left free. The parameter names match
PyTorch's modules (``in_proj_weight``, ``out_proj``, ``linear1``, ``norm1``), so weights carry
over either way.
"""

from __future__ import annotations

from dlstudio.compile.emitters.attention_weights import weights_variant
from dlstudio.compile.emitters.base import Emission, EmitContext, call, lit, options
from dlstudio.compile.emitters.helpers import Helper, register_helper
from dlstudio.compile.emitters.masks import key_mask

register_helper(
    Helper(
        "additive_mask",
        '''
def additive_mask(
    mask: torch.Tensor, causal: bool, queries: int, keys: int, dtype: torch.dtype
) -> torch.Tensor:
    """What scaled_dot_product_attention adds to the scores: 0 where a query may look, a very
    negative number where not. mask (N, S) is 1 for real key steps and 0 for padding; causal
    lets step t see steps 0..t only. Very negative rather than -inf, so a row with nothing to
    see averages everything instead of turning into NaN."""
    allowed = mask.bool()[:, None, None, :]  # (N, 1, 1, S)
    if causal:
        # Built from the current lengths, so an exported ONNX model keeps them free.
        rows = torch.arange(queries, device=allowed.device).unsqueeze(1)
        cols = torch.arange(keys, device=allowed.device).unsqueeze(0)
        allowed = allowed & (cols <= rows)  # (N, 1, T, S)
    zeros = torch.zeros(allowed.shape, dtype=dtype, device=allowed.device)
    return zeros.masked_fill(~allowed, torch.finfo(dtype).min)
''',
    )
)

register_helper(
    Helper(
        "MultiheadAttention",
        '''
class MultiheadAttention(nn.Module):
    """Multi-head scaled dot-product attention, batch first (N, T, E), with the parameters of
    nn.MultiheadAttention. Self-attention when only the query is given; value defaults to key."""

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        causal: bool = False,
    ) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.dropout = dropout
        self.causal = causal
        self.in_proj_weight = nn.Parameter(torch.empty(3 * embed_dim, embed_dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * embed_dim)) if bias else None
        self.out_proj = nn.Linear(embed_dim, embed_dim, bias=bias)
        nn.init.xavier_uniform_(self.in_proj_weight)

    def project(
        self, query: torch.Tensor, key: torch.Tensor | None, value: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Queries, keys and values, split into heads: (N, heads, T, head_dim)."""
        if key is None:
            # Self-attention: one matrix product gives queries, keys and values.
            q, k, v = F.linear(query, self.in_proj_weight, self.in_proj_bias).chunk(3, dim=-1)
        else:
            value = key if value is None else value
            w_q, w_k, w_v = self.in_proj_weight.chunk(3)
            b_q = b_k = b_v = None
            if self.in_proj_bias is not None:
                b_q, b_k, b_v = self.in_proj_bias.chunk(3)
            q, k, v = F.linear(query, w_q, b_q), F.linear(key, w_k, b_k), F.linear(value, w_v, b_v)
        return self._split_heads(q), self._split_heads(k), self._split_heads(v)

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor | None = None,
        value: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        q, k, v = self.project(query, key, value)
        dropout = self.dropout if self.training else 0.0
        # softmax(q k^T / sqrt(head_dim)) v in PyTorch's fused kernel, which never stores the
        # (T, S) weights without a mask, so memory grows with T rather than T^2.
        if mask is None:
            out = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout, is_causal=self.causal)
        else:
            bias = additive_mask(mask, self.causal, q.size(2), k.size(2), q.dtype)
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=dropout)
        out = out.transpose(1, 2)  # (N, T, heads, head_dim)
        return self.out_proj(out.reshape(out.size(0), out.size(1), -1))

    def _split_heads(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(x.size(0), x.size(1), self.num_heads, self.head_dim).transpose(1, 2)
''',
        requires=("additive_mask",),
    )
)

register_helper(
    Helper(
        "TransformerEncoderLayer",
        '''
class TransformerEncoderLayer(nn.Module):
    """Self-attention then a feed-forward network, each in a residual connection with a
    LayerNorm (after the sum, or before the sub-layer with norm_first). Batch first."""

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str = "relu",
        norm_first: bool = False,
        causal: bool = False,
        layer_norm_eps: float = 1e-5,
    ) -> None:
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, causal=causal)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm_first = norm_first
        self.norm1 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.norm2 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.activation = activation

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if self.norm_first:
            x = x + self.dropout1(self.self_attn(self.norm1(x), mask=mask))
            x = x + self._feed_forward(self.norm2(x))
        else:
            x = self.norm1(x + self.dropout1(self.self_attn(x, mask=mask)))
            x = self.norm2(x + self._feed_forward(x))
        return x

    def _feed_forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.linear1(x)
        if self.activation == "relu":
            x = F.relu(x)
        else:  # "gelu", or "gelu_tanh": GPT-2's tanh approximation
            x = F.gelu(x, approximate="tanh" if self.activation == "gelu_tanh" else "none")
        x = self.linear2(self.dropout(x))
        return self.dropout2(x)
''',
        requires=("MultiheadAttention",),
    )
)

register_helper(
    Helper(
        "TransformerDecoderLayer",
        '''
class TransformerDecoderLayer(nn.Module):
    """Masked self-attention over the target, cross-attention to the encoder's memory, then a
    feed-forward network; each in a residual connection with a LayerNorm. Batch first."""

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str = "relu",
        norm_first: bool = False,
        causal: bool = True,
        layer_norm_eps: float = 1e-5,
    ) -> None:
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, causal=causal)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm_first = norm_first
        self.norm1 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.norm2 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.norm3 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.dropout3 = nn.Dropout(dropout)
        self.activation = activation

    def forward(
        self,
        x: torch.Tensor,
        memory: torch.Tensor,
        mask: torch.Tensor | None = None,
        memory_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if self.norm_first:
            x = x + self.dropout1(self.self_attn(self.norm1(x), mask=mask))
            x = x + self.dropout2(self.multihead_attn(self.norm2(x), memory, mask=memory_mask))
            x = x + self._feed_forward(self.norm3(x))
        else:
            x = self.norm1(x + self.dropout1(self.self_attn(x, mask=mask)))
            x = self.norm2(x + self.dropout2(self.multihead_attn(x, memory, mask=memory_mask)))
            x = self.norm3(x + self._feed_forward(x))
        return x

    def _feed_forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.linear1(x)
        if self.activation == "relu":
            x = F.relu(x)
        else:  # "gelu", or "gelu_tanh": GPT-2's tanh approximation
            x = F.gelu(x, approximate="tanh" if self.activation == "gelu_tanh" else "none")
        x = self.linear2(self.dropout(x))
        return self.dropout3(x)
''',
        requires=("MultiheadAttention",),
    )
)


def multihead_attention(ctx: EmitContext) -> Emission:
    """The ``MultiheadAttention`` helper; key and value only when wired."""
    defaults = {"dropout": 0.0, "bias": True, "causal": False}
    outputs: tuple[str, ...] = ("out",)
    cls, kwargs = "MultiheadAttention", options(ctx.params, defaults)
    if ctx["attention_weights"] != "off":  # the weights output: a subclass returning them too
        cls, kwargs, outputs = weights_variant(ctx, cls, kwargs)
    module = call(cls, lit(ctx["embed_dim"]), lit(ctx["num_heads"]), **kwargs)
    args = [ctx.arg("query")] + [ctx.args[p] for p in ("key", "value") if p in ctx.args]
    mask = key_mask(ctx, "key" if "key" in ctx.args else "query", "mask")
    if mask:
        args.append(f"mask={mask}")
    return Emission(f"{ctx.module}({', '.join(args)})", module, outputs, helpers=(cls,))


def _block(cls: str, causal_default: bool):
    def emit(ctx: EmitContext) -> Emission:
        defaults = {
            "dim_feedforward": 2048,
            "dropout": 0.1,
            "activation": "relu",
            "norm_first": False,
            "causal": causal_default,
            "layer_norm_eps": 1e-5,
        }
        outputs: tuple[str, ...] = ("out",)
        helper, kwargs = cls, options(ctx.params, defaults)
        if ctx["attention_weights"] != "off":  # the weights output: a subclass returning them
            helper, kwargs, outputs = weights_variant(ctx, cls, kwargs)
        module = call(helper, lit(ctx["d_model"]), lit(ctx["nhead"]), **kwargs)
        args = [ctx.arg()] + ([ctx.arg("memory")] if "memory" in ctx.args else [])
        masks = {"mask": key_mask(ctx, "in", "mask")}
        masks["memory_mask"] = key_mask(ctx, "memory", "memory_mask")
        args += [f"{port}={mask}" for port, mask in masks.items() if mask]
        return Emission(f"{ctx.module}({', '.join(args)})", module, outputs, helpers=(helper,))

    emit.__doc__ = f"The ``{cls}`` helper, batch first."
    return emit


EMITTERS = {
    "multihead_attention": multihead_attention,
    "transformer_encoder_layer": _block("TransformerEncoderLayer", causal_default=False),
    "transformer_decoder_layer": _block("TransformerDecoderLayer", causal_default=True),
}

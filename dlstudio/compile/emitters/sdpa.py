"""ScaledDotProductAttention as ``F.scaled_dot_product_attention`` (inside a small helper that
splits and joins heads), and GPT-2's Conv1D as a small module with transformers' layout."""

from __future__ import annotations

from dlstudio.compile.emitters.base import Emission, EmitContext, call, lit
from dlstudio.compile.emitters.helpers import Helper, register_helper

register_helper(
    Helper(
        "multi_head_attention",
        '''
def multi_head_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    heads: int,
    padding_mask: torch.Tensor | None = None,
    **options,
) -> torch.Tensor:
    """Attention over (N, T, E) tensors as BERT and GPT-2 compute it: split E into heads, run
    F.scaled_dot_product_attention (options: is_causal, scale, dropout_p, attn_mask) on each,
    and join the heads again. padding_mask (N, S) is 1 at real key steps, 0 at padding."""
    q, k, v = (x.unflatten(-1, (heads, -1)).transpose(1, 2) for x in (query, key, value))
    if padding_mask is not None:
        causal = options.pop("is_causal", False)
        options["attn_mask"] = additive_mask(padding_mask, causal, q.size(2), k.size(2), q.dtype)
    out = F.scaled_dot_product_attention(q, k, v, **options)  # (N, heads, T, D)
    return out.transpose(1, 2).flatten(2)
''',
        requires=("additive_mask",),
    )
)
register_helper(
    Helper(
        "Conv1D",
        '''
class Conv1D(nn.Module):
    """A linear layer whose weight is stored (in_features, out_features), as GPT-2's Conv1D
    in Hugging Face transformers (so its weights load unchanged): y = x W + b."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(in_features, out_features))
        self.bias = nn.Parameter(torch.zeros(out_features))
        nn.init.normal_(self.weight, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.weight + self.bias
''',
    )
)


def scaled_dot_product_attention(ctx: EmitContext) -> Emission:
    """``multi_head_attention(q, k, v, heads, ...)`` for (N, T, E) inputs; for inputs already
    split into heads, ``F.scaled_dot_product_attention(q, k, v, ...)`` itself."""
    q, k, v = (ctx.arg(port) for port in ("query", "key", "value"))
    merged = ctx["layout"] == "merged"
    kwargs: dict[str, str] = {}
    helpers: tuple[str, ...] = ("multi_head_attention",) if merged else ()
    mask = ctx.args.get("mask")
    padding = mask is not None and ctx["mask_type"] == "padding"
    if padding and merged and mask is not None:
        kwargs["padding_mask"] = mask
    elif padding:
        causal = lit(ctx["causal"])
        kwargs["attn_mask"] = (
            f"additive_mask({mask}, {causal}, {q}.size(2), {k}.size(2), {q}.dtype)"
        )
        helpers = ("additive_mask",)
    elif mask is not None:
        kwargs["attn_mask"] = mask
    if ctx["causal"] and not (padding and not merged):
        kwargs["is_causal"] = "True"
    if ctx["dropout"]:
        kwargs["dropout_p"] = f"{lit(ctx['dropout'])} if self.training else 0.0"
    if ctx["scale"] is not None:
        kwargs["scale"] = lit(ctx["scale"])
    if merged:
        forward = call("multi_head_attention", q, k, v, lit(ctx["num_heads"]), **kwargs)
    else:
        forward = call("F.scaled_dot_product_attention", q, k, v, **kwargs)
    return Emission(forward, helpers=helpers)


def gpt2_conv1d(ctx: EmitContext) -> Emission:
    """``Conv1D(in_features, units)``: the weight is (in, out), as in transformers."""
    module = call("Conv1D", lit(ctx["nx"]), lit(ctx["units"]))
    return Emission(f"{ctx.module}({ctx.arg()})", module, helpers=("Conv1D",))


EMITTERS = {
    "scaled_dot_product_attention": scaled_dot_product_attention,
    "gpt2_conv1d": gpt2_conv1d,
}

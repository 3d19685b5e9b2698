"""ScaledDotProductAttention as ``F.scaled_dot_product_attention`` between two small helpers
that split and merge heads, and GPT-2's Conv1D as a small module with transformers' layout."""

from __future__ import annotations

from dlstudio.compile.emitters.base import Emission, EmitContext, call, lit
from dlstudio.compile.emitters.helpers import Helper, register_helper

register_helper(
    Helper(
        "split_heads",
        '''
def split_heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    """(N, T, E) -> (N, heads, T, E / heads): each head attends over its own features."""
    return x.unflatten(-1, (heads, -1)).transpose(1, 2)
''',
    )
)
register_helper(
    Helper(
        "merge_heads",
        '''
def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """(N, heads, T, D) -> (N, T, heads * D): the heads' outputs side by side."""
    return x.transpose(1, 2).flatten(2)
''',
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
    """``merge_heads(F.scaled_dot_product_attention(split_heads(q, h), ...))``."""
    merged = ctx["layout"] == "merged"
    helpers: list[str] = []
    args = []
    for port in ("query", "key", "value"):
        arg = ctx.arg(port)
        if merged:
            arg = f"split_heads({arg}, {lit(ctx['num_heads'])})"
        args.append(arg)
    kwargs: dict[str, str] = {}
    mask = ctx.args.get("mask")
    if mask is not None and ctx["mask_type"] == "padding":
        q, k = ctx.arg("query"), ctx.arg("key")
        causal = lit(ctx["causal"])
        kwargs["attn_mask"] = (
            f"attention_mask({mask}, {causal}, {q}.shape[-2], {k}.shape[-2], {q}.dtype)"
        )
        helpers.append("attention_mask")
    elif mask is not None:
        kwargs["attn_mask"] = mask
    elif ctx["causal"]:
        kwargs["is_causal"] = "True"
    if ctx["dropout"]:
        kwargs["dropout_p"] = f"{lit(ctx['dropout'])} if self.training else 0.0"
    if ctx["scale"] is not None:
        kwargs["scale"] = lit(ctx["scale"])
    forward = call("F.scaled_dot_product_attention", *args, **kwargs)
    if merged:
        forward = f"merge_heads({forward})"
        helpers += ["split_heads", "merge_heads"]
    return Emission(forward, helpers=tuple(helpers))


def gpt2_conv1d(ctx: EmitContext) -> Emission:
    """``Conv1D(in_features, units)``: the weight is (in, out), as in transformers."""
    module = call("Conv1D", lit(ctx["nx"]), lit(ctx["units"]))
    return Emission(f"{ctx.module}({ctx.arg()})", module, helpers=("Conv1D",))


EMITTERS = {
    "scaled_dot_product_attention": scaled_dot_product_attention,
    "gpt2_conv1d": gpt2_conv1d,
}

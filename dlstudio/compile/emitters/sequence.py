"""Sequence layers: embeddings, positions, the class token, step selection and averaging."""

from __future__ import annotations

from dlstudio.compile.emitters.base import Emission, EmitContext, call, lit
from dlstudio.compile.emitters.helpers import Helper, register_helper
from dlstudio.compile.emitters.masks import LAST_REAL_STEP, MASKED_MEAN

register_helper(
    Helper(
        "SinusoidalPositionalEncoding",
        '''
class SinusoidalPositionalEncoding(nn.Module):
    """Adds the fixed sine/cosine position code of "Attention Is All You Need", then dropout."""

    def __init__(self, d_model: int, max_len: int, dropout: float = 0.1) -> None:
        super().__init__()
        position = torch.arange(max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, d_model)
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term)
        # A buffer, not a parameter: it moves with .to(device) but is neither trained nor saved.
        self.register_buffer("pe", pe, persistent=False)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # As nanoGPT does: a longer sequence has no position code, so say so plainly.
        assert x.size(1) <= self.pe.size(0), (
            f"cannot encode a sequence of length {x.size(1)}: max_len is {self.pe.size(0)}"
        )
        return self.dropout(x + self.pe[: x.size(1)])
''',
    )
)

register_helper(
    Helper(
        "LearnedPositionalEncoding",
        '''
class LearnedPositionalEncoding(nn.Module):
    """Adds a trained (max_len, d_model) table of position vectors, then dropout (BERT, GPT)."""

    def __init__(self, d_model: int, max_len: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(max_len, d_model) * 0.02)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # As nanoGPT does: a longer sequence has no position vectors, so say so plainly.
        assert x.size(1) <= self.weight.size(0), (
            f"cannot encode a sequence of length {x.size(1)}: max_len is {self.weight.size(0)}"
        )
        return self.dropout(x + self.weight[: x.size(1)])
''',
    )
)

register_helper(
    Helper(
        "ClassToken",
        '''
class ClassToken(nn.Module):
    """Prepends one learned vector to every sequence: (N, T, E) -> (N, T+1, E), as in BERT/ViT."""

    def __init__(self, embed_dim: int) -> None:
        super().__init__()
        self.token = nn.Parameter(torch.zeros(1, 1, embed_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.token.expand(x.size(0), -1, -1), x], dim=1)
''',
    )
)


def embedding(ctx: EmitContext) -> Emission:
    """``nn.Embedding(num_embeddings, embedding_dim)``."""
    kwargs = {}
    if ctx["padding_idx"] is not None:
        kwargs["padding_idx"] = lit(ctx["padding_idx"])
    module = call("nn.Embedding", lit(ctx["num_embeddings"]), lit(ctx["embedding_dim"]), **kwargs)
    return Emission(f"{ctx.module}({ctx.arg()})", module)


def positional_encoding(ctx: EmitContext) -> Emission:
    """A helper module for the sinusoidal or the learned code; a bare learned table is an
    ``nn.Parameter`` of shape (1, max_len, d) added whole, its key the node's name (ViT's
    ``pos_embedding``)."""
    if ctx["bare"] and ctx["mode"] == "learned":
        shape = lit((1, ctx["max_len"], ctx["d_model"]))
        added = f"{ctx.arg()} + {ctx.module}"
        if ctx["dropout"]:
            added = f"F.dropout({added}, p={lit(ctx['dropout'])}, training=self.training)"
        return Emission(added, f"nn.Parameter(torch.randn({shape}) * 0.02)")
    cls = (
        "LearnedPositionalEncoding" if ctx["mode"] == "learned" else "SinusoidalPositionalEncoding"
    )
    args = (lit(ctx["d_model"]), lit(ctx["max_len"]))
    module = call(cls, *args, dropout=lit(ctx["dropout"]))
    return Emission(f"{ctx.module}({ctx.arg()})", module, helpers=(cls,))


def cls_token(ctx: EmitContext) -> Emission:
    """The ``ClassToken`` helper; a bare token is an ``nn.Parameter`` (1, 1, E) under the
    node's name (torchvision's ``class_token``), expanded to the batch where it is read."""
    if ctx["bare"]:
        x, token = ctx.arg(), ctx.module
        read = f"torch.cat([{token}.expand({x}.size(0), -1, -1), {x}], dim=1)"
        return Emission(read, f"nn.Parameter(torch.zeros({lit((1, 1, ctx['embed_dim']))}))")
    module = call("ClassToken", lit(ctx["embed_dim"]))
    return Emission(f"{ctx.module}({ctx.arg()})", module, helpers=("ClassToken",))


def select_step(ctx: EmitContext) -> Emission:
    """``x[:, -1]``, ``x[:, 0]`` or ``x[:, index]``; the last real step (``last_real_step``)
    when x carries padding and ``which`` is last."""
    mask = ctx.mask_of("in")
    if mask and ctx["which"] == "last":
        return Emission(f"last_real_step({ctx.arg()}, {mask})", helpers=(LAST_REAL_STEP.name,))
    index = {"last": -1, "first": 0}.get(ctx["which"], ctx["index"])
    return Emission(f"{ctx.arg()}[:, {lit(index)}]")


def mean_over_time(ctx: EmitContext) -> Emission:
    """``x.mean(dim=1)``; over the real steps only (``masked_mean``) when x carries padding."""
    mask = ctx.mask_of("in")
    if mask:
        return Emission(f"masked_mean({ctx.arg()}, {mask})", helpers=(MASKED_MEAN.name,))
    return Emission(f"{ctx.arg()}.mean(dim=1)")


def position_ids(ctx: EmitContext) -> Emission:
    """``(x != p).long().cumsum(1) * (x != p) + p``: RoBERTa's position ids, the real tokens
    counted from padding_idx + 1 and padding at padding_idx."""
    x, pad = ctx.arg(), lit(ctx["padding_idx"])
    return Emission(f"({x} != {pad}).long().cumsum(1) * ({x} != {pad}) + {pad}")


EMITTERS = {
    "embedding": embedding,
    "position_ids": position_ids,
    "positional_encoding": positional_encoding,
    "cls_token": cls_token,
    "select_step": select_step,
    "mean_over_time": mean_over_time,
}

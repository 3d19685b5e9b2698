"""Weight tying survives a torch import: the rebuilt head is the rebuilt embedding's table."""

from __future__ import annotations

import torch
from test_import_fx import _check_same

from dlstudio.compile.importers import InputSpec, compile_import, import_module


class TiedLM(torch.nn.Module):
    """An embedding and a bias-free head sharing one matrix, as GPT-2 ties them."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = torch.nn.Embedding(20, 8)
        self.norm = torch.nn.LayerNorm(8)
        self.head = torch.nn.Linear(8, 20, bias=False)
        self.head.weight = self.embed.weight

    def forward(self, tokens):
        return self.head(self.norm(self.embed(tokens)))


def test_a_tied_head_is_imported_tied() -> None:
    torch.manual_seed(0)
    model = TiedLM().eval()
    result = import_module(model, [InputSpec(("T",), "int64", 6, 20, "tokens")])
    head = next(n for n in result.graph if n.type_id == "dense")
    embed = next(n for n in result.graph if n.type_id == "embedding")
    assert head.params["tie_weight"] == embed.name
    _check_same(model, result, torch.randint(0, 20, (3, 6)))
    rebuilt = compile_import(result).module
    weights = {name: p for name, p in rebuilt.named_parameters(remove_duplicate=False)}
    assert weights[f"{head.name}.weight"] is weights[f"{embed.name}.weight"]

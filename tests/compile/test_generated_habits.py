"""Generated code keeps the habits of the code it reproduces: a sequence longer than the
position table fails with an assertion naming max_len (as nanoGPT's block_size check does),
in the exported file as in the compiled module."""

from __future__ import annotations

import runpy

import pytest
import torch
from repo_paths import TEMPLATES_DIR

from dlstudio.compile import compile_graph, export_python
from dlstudio.layers.validation import load_checked


@pytest.mark.parametrize(("name", "extra"), [("gpt-mini", 0), ("transformer-classifier", 1)])
def test_a_too_long_sequence_fails_naming_max_len(name: str, extra: int, tmp_path) -> None:
    graph = load_checked(TEMPLATES_DIR / f"{name}.json")
    vocab = next(n for n in graph if n.type_id == "input").params["vocab_size"]
    module = compile_graph(graph).module.eval()
    with torch.no_grad():
        module(torch.randint(0, vocab, (1, 64 - extra)))  # the longest that fits
        with pytest.raises(AssertionError, match=rf"length {65}: max_len is 64"):
            module(torch.randint(0, vocab, (1, 65 - extra)))
    exported = runpy.run_path(str(export_python(graph, tmp_path / "model.py")))
    model_class = next(v for k, v in exported.items() if k == module.__class__.__name__)
    with torch.no_grad(), pytest.raises(AssertionError, match="max_len is 64"):
        model_class().eval()(torch.randint(0, vocab, (2, 100)))


def test_block_shape_comments_agree_with_the_class_defaults() -> None:
    """gpt-mini's blocks run at d_model 64 and dim_feedforward 256, while the class's defaults
    are 512 and 2048 (nn.TransformerEncoderLayer's): the comments name the parameters."""
    from dlstudio.compile import generate_source

    source = generate_source(load_checked(TEMPLATES_DIR / "gpt-mini.json"))
    block = source[source.index("class TransformerEncoderPreLN") : source.index("class GptMini(")]
    assert "d_model: int = 512" in block and "dim_feedforward: int = 2048" in block
    comments = [line.split("#", 1)[1].strip() for line in block.splitlines() if "  # (" in line]
    assert comments and set(comments) == {"(N, T, d_model)", "(N, T, dim_feedforward)"}


def test_gpt_mini_starts_as_gpt2_does() -> None:
    """normal(0, 0.02) weights and zero biases in every Linear, Embedding and fused attention
    projection, and a language-model head that is the token embedding (weight tying)."""
    torch.manual_seed(0)
    module = compile_graph(load_checked(TEMPLATES_DIR / "gpt-mini.json")).module
    assert module.lm_head.weight is module.token_embed.weight and module.lm_head.bias is None
    weights = [module.token_embed.weight]
    for sub in module.modules():
        if isinstance(sub, torch.nn.Linear):
            weights.append(sub.weight)
            assert sub.bias is None or not sub.bias.any()
        if isinstance(getattr(sub, "in_proj_weight", None), torch.Tensor):
            weights.append(sub.in_proj_weight)
    assert len(weights) >= 8
    for weight in weights:
        assert abs(float(weight.std()) - 0.02) < 0.002 and abs(float(weight.mean())) < 0.002
    # PyTorch's own default would give the 43 x 64 table std 1 and the 64-input Linears 0.072.


def test_an_unknown_init_scheme_is_a_compile_error() -> None:
    from dlstudio.compile import CompileError

    graph = load_checked(TEMPLATES_DIR / "lenet5.json")
    graph.metadata["init"] = "xavier-ish"
    with pytest.raises(CompileError, match="'xavier-ish'; use one of pytorch, torchvision_resnet"):
        compile_graph(graph)

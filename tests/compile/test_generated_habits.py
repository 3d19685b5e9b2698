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


def _shapes(module: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    return {key: tuple(value.shape) for key, value in module.state_dict().items()}


@pytest.mark.parametrize(
    ("name", "changes"),
    [
        ("gpt-mini", {"nhead": 8, "dim_feedforward": 96, "dropout": 0.2, "repeat": 3}),
        ("transformer", {"nhead": 2, "dim_feedforward": 32, "repeat": 3}),
        ("resnet18", {"repeat": 3}),
    ],
)
def test_the_config_holds_the_hyper_parameters(name, changes, tmp_path) -> None:
    """The exported config names the settings the model gives its blocks and how often they
    repeat; the model built from a changed config is the drawing with those settings changed
    (the same state_dict keys and shapes as the edited drawing compiled)."""
    graph = load_checked(TEMPLATES_DIR / f"{name}.json")
    blocks = [n for n in graph if n.type_id == "block"]
    repeated = next(n for n in blocks if n.params.get("repeat", 1) > 1)
    exported = runpy.run_path(str(export_python(graph, tmp_path / "model.py")))
    module = compile_graph(graph).module
    model_class = exported[module.__class__.__name__]
    config_class = exported[f"{module.__class__.__name__}Config"]
    config = config_class()
    assert getattr(config, f"{repeated.name}_repeat") == repeated.params["repeat"]
    for key in changes.keys() - {"repeat"}:
        assert all(getattr(config, key) == n.params[key] for n in blocks if key in n.params)
    assert _shapes(model_class()) == _shapes(module)
    # The same settings changed in the config and in the drawing.
    variant = config_class(
        **{(f"{repeated.name}_repeat" if k == "repeat" else k): v for k, v in changes.items()}
    )
    repeated.params["repeat"] = changes.get("repeat", repeated.params["repeat"])
    for node in blocks:
        node.params.update({k: v for k, v in changes.items() if k in node.params})
    edited = compile_graph(graph).module
    model = model_class(variant)
    assert _shapes(model) == _shapes(edited) != _shapes(module)
    if "dropout" in changes:
        assert 0.2 in {m.p for m in model.modules() if isinstance(m, torch.nn.Dropout)}
    inputs = exported["example_inputs"](variant)
    torch.manual_seed(0)
    with torch.no_grad():
        assert model.eval()(*inputs).shape == edited.eval()(*inputs).shape


def test_a_model_without_blocks_keeps_a_plain_constructor() -> None:
    from dlstudio.compile import generate_source

    source = generate_source(load_checked(TEMPLATES_DIR / "lenet5.json"))
    assert "def __init__(self) -> None:" in source and "Config" not in source

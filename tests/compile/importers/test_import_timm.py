"""timm's own layer classes and the arithmetic of vision models import as catalogue layers, with
the source's ``state_dict`` keys, and compute what the source computes (small models built from
timm's layers, random initialisation, nothing downloaded)."""

from __future__ import annotations

import re

import pytest
import torch
from torch import nn
from torchvision_shim import import_torchvision_models

from dlstudio.compile.importers import InputSpec, compile_import, import_module
from dlstudio.compile.importers.verify_torch import unused_modules, verify_import


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _timm_layers():
    import_torchvision_models()  # timm imports torchvision
    return pytest.importorskip("timm.layers")


def _check(model: nn.Module, shape: tuple[int, ...]):
    """Import ``model``: no placeholder, the source's keys, the source's numbers."""
    model.eval()
    specs = [InputSpec(shape)]
    result = import_module(model, specs)
    assert result.ok, result.report_lines()
    compiled = compile_import(result)
    assert sorted(compiled.module.state_dict()) == sorted(model.state_dict())
    assert unused_modules(model, result) == {}  # every source weight found, renames mapped
    check = verify_import(model, result, specs)
    assert check.ok, (check.error, [o.line() for o in check.outputs])
    x = torch.randn(2, *shape, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        assert torch.allclose(compiled.module.eval()(x), model(x), atol=1e-5, rtol=0)
    return result


def _randomise_statistics(model: nn.Module) -> None:
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.5, 2)


def test_timm_subclasses_import_as_their_base_layer_and_activation() -> None:
    layers = _timm_layers()

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = layers.Conv2dSame(3, 8, 3, stride=2)  # pads unevenly, then convolves
            self.bn = layers.BatchNormAct2d(8, act_layer=nn.SiLU)
            self.norm = layers.LayerNorm2d(8)  # permutes, layer_norm, permutes back
            self.gn = layers.GroupNormAct(8, num_groups=4)
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.flat = nn.Flatten()
            self.fc = layers.Linear(8, 5)

        def forward(self, x):
            x = self.gn(self.norm(self.bn(self.conv(x))))
            return self.fc(self.flat(self.pool(x)))

    torch.manual_seed(0)
    model = Net()
    _randomise_statistics(model)
    result = _check(model, (3, 9, 9))
    types = {n.name: n.type_id for n in result.graph}
    assert types["conv"] == "conv2d" and types["bn"] == "batchnorm2d"
    assert types["bn_act"] == "silu" and types["fc"] == "dense"
    assert types["norm"] == "layernorm" and types["gn"] == "groupnorm"
    assert "pad" in types.values()


def test_a_subclass_whose_forward_departs_from_its_base_is_not_taken_for_it() -> None:
    class Shifted(nn.BatchNorm2d):
        def forward(self, x):  # another eps than its own: not BatchNorm2d's computation
            return nn.functional.batch_norm(
                x, self.running_mean, self.running_var, self.weight, self.bias, eps=0.5
            )

    model = nn.Sequential(nn.Conv2d(3, 4, 1), Shifted(4)).eval()
    result = import_module(model, [InputSpec((3, 4, 4))])
    assert not result.ok
    assert [i.op for i in result.issues] == ["torch.batch_norm"]


def test_parameters_numbers_reductions_and_slices_become_layers() -> None:
    class Scaled(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(4, 4, 1)
            self.gamma = nn.Parameter(torch.randn(4, 1, 1))  # LayerScale

        def forward(self, x):
            y = self.conv(x) * self.gamma + 1.0
            a, b = y.chunk(2, 1)
            z = torch.cat([a - b, (a / 2.0)[:, :1], y[:, 2:] / (b * b + 1.0)], 1)
            return z.sum(1, keepdim=True) + (1 - x) + self.gamma

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Conv2d(4, 4, 1)
            self.block = Scaled()

        def forward(self, x):
            return self.block(self.stem(x))

    torch.manual_seed(0)
    result = _check(Net(), (4, 5, 5))
    block = result.graph.blocks[
        next(n.params["block"] for n in result.graph if n.type_id == "block")
    ].graph
    used = sorted(n.type_id for n in block)
    for type_id in ("parameter", "constant_op", "split", "subtract", "divide", "slice", "reduce"):
        assert type_id in used
    assert used.count("parameter") == 1  # gamma, read twice, is one parameter


def test_unbind_splits_into_squeezed_pieces() -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.proj = nn.Linear(6, 6)

        def forward(self, x):
            a, b, c = self.proj(x).reshape(x.shape[0], 4, 3, 2).unbind(2)
            return a * b - c

    torch.manual_seed(0)
    _check(Net(), (4, 6))


TIMM_MODELS = {
    # family: (name, keyword arguments that make it small, input shape)
    "vit": ("vit_tiny_patch16_224", {"img_size": 32, "patch_size": 8, "depth": 2}, (3, 32, 32)),
    "convnext": ("convnext_atto", {"depths": (1, 1, 1, 1), "dims": (8, 16, 24, 32)}, (3, 64, 64)),
    "mobilenet": ("tf_mobilenetv3_small_minimal_100", {"num_classes": 10}, (3, 64, 64)),
    "dpn": ("dpn48b", {"k_sec": (1, 1, 1, 1), "num_classes": 10}, (3, 64, 64)),
}


@pytest.mark.parametrize("family", sorted(TIMM_MODELS))
def test_small_timm_models_import_with_their_keys_and_numbers(family: str) -> None:
    _timm_layers()
    import timm

    name, kwargs, shape = TIMM_MODELS[family]
    torch.manual_seed(0)
    model = timm.create_model(name, pretrained=False, **kwargs)
    _randomise_statistics(model)
    # ConvNeXt's stem and downsampling nn.Sequential(Conv2d, LayerNorm2d) hold the
    # LayerNorm2d's permutes too (function calls), yet keep their keys (stem.0.weight)
    # ViT's cls_token and pos_embed are bare parameters, kept under their own keys
    _check(model, shape)


def test_einsum_of_upper_case_letters_and_swapaxes_become_layers() -> None:
    class Net(nn.Module):  # MaxViT's attention scores, written as torchvision writes them
        def __init__(self) -> None:
            super().__init__()
            self.q = nn.Linear(4, 4)
            self.k = nn.Linear(4, 4)

        def forward(self, x):  # x: (B, G, P, D)
            scores = torch.einsum("B G I D, B G J D -> B G I J", self.q(x), self.k(x))
            return scores.swapaxes(-2, -3)

    torch.manual_seed(0)
    result = _check(Net(), (3, 5, 4))
    einsum = next(n for n in result.graph if n.type_id == "einsum")
    # the same equation in the lower-case letters the layer takes (the numbers are checked)
    assert re.fullmatch(
        r"([a-z])([a-z])([a-z])([a-z]),\1\2([a-z])\4->\1\2\3\5", einsum.params["equation"]
    )


def test_levit_batchnorm_over_the_folded_batch_and_matmul_become_layers() -> None:
    _timm_layers()
    from timm.models.levit import LinearNorm  # bn(linear(x).flatten(0, 1)).reshape_as(x)

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.q = LinearNorm(6, 4)
            self.k = LinearNorm(6, 4)

        def forward(self, x):  # x: (B, T, 6)
            return self.q(x) @ self.k(x).transpose(1, 2)

    torch.manual_seed(0)
    model = Net()
    _randomise_statistics(model)
    result = _check(model, (5, 6))
    assert "matmul" in {n.type_id for n in result.graph}

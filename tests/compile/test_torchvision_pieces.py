"""Pieces of torchvision's models drawn with the broadcasting layers: the squeeze-and-excitation
of MobileNetV3 and EfficientNet (channel weights (N, C, 1, 1) times the maps (N, C, H, W)), with
torchvision's own module as the reference for keys and numbers."""

from __future__ import annotations

import torch
from graph_builders import ChainBuilder
from torchvision_shim import import_torchvision_models

from dlstudio.compile import compile_graph, export_onnx


def test_squeeze_excitation_matches_torchvision(tmp_path) -> None:
    import_torchvision_models()
    from torchvision.ops import SqueezeExcitation

    torch.manual_seed(0)
    source = SqueezeExcitation(8, 4, scale_activation=torch.nn.Hardsigmoid).eval()
    b = ChainBuilder("se")
    x = b.add("input", "x", shape=(8, 5, 6))
    ids = b.chain(
        ("adaptive_avgpool2d", "avgpool", {"output_size": 1}),
        ("conv2d", "fc1", {"out_channels": 4, "kernel_size": 1}),
        ("relu", "activation", {}),
        ("conv2d", "fc2", {"out_channels": 8, "kernel_size": 1}),
        ("hardsigmoid", "scale_activation", {}),
    )
    scale, out = b.add("multiply", "scale"), b.add("output", "y")
    b.wire(x, ids[0])
    b.wire(ids[-1], scale, dst_port="in1")
    b.wire(x, scale, dst_port="in2")
    b.wire(scale, out)
    compiled = compile_graph(b.graph)
    module = compiled.module.eval()
    assert module.state_dict().keys() == source.state_dict().keys()
    module.load_state_dict(source.state_dict())
    image = torch.randn(3, 8, 5, 6)
    with torch.no_grad():
        torch.testing.assert_close(module(image), source(image))
    assert export_onnx(compiled, tmp_path / "se.onnx").ok

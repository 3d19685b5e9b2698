"""A whole trained model as one frozen block: train a new head, the block stays bit-identical."""

from __future__ import annotations

import torch

from dlstudio.compile import compile_graph
from dlstudio.core import Edge, LayerGraph, LayerNode, PortRef, UndoStack
from dlstudio.core.block_insert import insert_project_as_block
from dlstudio.train import make_trainer, read_state_dict, resolve_run, save_weights

TRAINING = {"dataset": "digits", "epochs": 1, "batch_size": 64, "seed": 3, "lr": 0.01}


def _chain(graph: LayerGraph, steps: list[tuple[str, str, dict]]) -> None:
    previous = None
    for k, (type_id, name, params) in enumerate(steps):
        node_id = f"n{k + 1}"
        graph.insert_node(LayerNode(node_id, type_id, name, params))
        if previous is not None:
            graph.insert_edge(Edge(PortRef(previous, "out"), PortRef(node_id, "in")))
        previous = node_id


def _small_cnn() -> LayerGraph:
    graph = LayerGraph("digits-cnn")
    _chain(
        graph,
        [
            ("input", "image", {"shape": (1, 8, 8)}),
            ("conv2d", "conv1", {"out_channels": 6, "kernel_size": 3, "padding": 1}),
            ("batchnorm2d", "bn1", {}),
            ("relu", "relu1", {}),
            ("flatten", "flatten", {}),
            ("dense", "fc", {"units": 10}),
            ("output", "logits", {}),
        ],
    )
    graph.metadata["training"] = dict(TRAINING)
    return graph


def _train(graph: LayerGraph, base_dir=None) -> torch.nn.Module:
    torch.set_num_threads(1)
    config, dataset = resolve_run(graph.metadata["training"])
    compiled = compile_graph(graph, base_dir=base_dir)
    make_trainer(compiled, config).run(dataset)
    return compiled.module


def test_trained_project_as_a_frozen_block_keeps_every_tensor(tmp_path):
    trained = _train(_small_cnn())
    save_weights(trained, tmp_path / "cnn.safetensors")
    saved = read_state_dict(tmp_path / "cnn.safetensors")

    host = LayerGraph("transfer")
    _chain(host, [("input", "image", {"shape": (1, 8, 8)})])
    stack = UndoStack(host)
    stack.push(
        insert_project_as_block(
            host, _small_cnn(), "Backbone", weights="cnn.safetensors", trainable=False
        )
    )
    backbone = host.node_by_name("backbone")
    host.insert_edge(Edge(PortRef("n1", "out"), PortRef(backbone.id, "in")))
    host.insert_node(LayerNode("head", "dense", "head", {"units": 10}))
    host.insert_node(LayerNode("out", "output", "logits", {}))
    host.insert_edge(Edge(PortRef(backbone.id, "out"), PortRef("head", "in")))
    host.insert_edge(Edge(PortRef("head", "out"), PortRef("out", "in")))
    host.metadata["training"] = {**TRAINING, "seed": 5}

    before_head = compile_graph(host, base_dir=tmp_path).module.head.weight.detach().clone()
    module = _train(host, base_dir=tmp_path)
    block_state = module.backbone.state_dict()
    assert set(block_state) == set(saved)
    for key, tensor in saved.items():
        assert torch.equal(block_state[key], tensor), f"{key} changed during training"
    assert not torch.equal(module.head.weight.detach(), before_head)  # the head did train

"""Every layer of the catalogue can be placed and edited in the window: its node shows its
ports, the properties panel offers an editor for each parameter, and Split grows an output
port per piece when its count changes."""

from __future__ import annotations

from dlstudio.core import AddNode, LayerNode, SetParam
from dlstudio.layers import all_layer_types
from tests.gui import fixtures_window

window = fixtures_window.shared_window
module_window = fixtures_window.module_window
data_dir = fixtures_window.data_dir


def test_every_layer_type_gets_a_node_and_an_editor_per_parameter(window):
    for i, layer in enumerate(all_layer_types()):
        if layer.id == "block":
            continue
        node = LayerNode(f"t{i}", layer.id, f"{layer.prefix}_{i}", {}, (i * 220.0, 0.0))
        window.document.push(AddNode(node))
        window.scene.select_nodes([node.id])
        assert window.properties.node_id == node.id, layer.id
        assert set(window.properties.editors) >= {p.name for p in layer.params}, layer.id
        item = window.scene.node_item(node.id)
        ports = {(name, out) for name, out in item.ports}
        want = {(p.name, False) for p in layer.input_ports(layer.defaults())}
        want |= {(p.name, True) for p in layer.output_ports(layer.defaults())}
        assert ports == want, layer.id


def test_split_grows_and_drops_output_ports(window):
    node = LayerNode("s", "split", "qkv", {}, (0.0, 0.0))
    window.document.push(AddNode(node))
    window.document.push(SetParam(node.id, "outputs", 3))
    item = window.scene.node_item(node.id)
    assert sorted(name for name, out in item.ports if out) == ["out1", "out2", "out3"]
    window.action_registry.undo.trigger()
    assert sorted(name for name, out in item.ports if out) == ["out1", "out2"]

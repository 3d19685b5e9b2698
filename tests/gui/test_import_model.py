"""File > Import Model…: a model file becomes a laid-out document whose Placeholders are listed
in the Problems panel, with the imported weights attached."""

from __future__ import annotations

import textwrap

import torch

from dlstudio.compile import compile_graph
from dlstudio.compile.project_weights import load_attached_weights
from dlstudio.core import Edge, PortRef
from tests.gui.fixtures_window import data_dir, window  # noqa: F401

SOURCE = textwrap.dedent(
    """
    import torch
    from torch import nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 4, 3)
            self.fc = nn.Linear(4 * 6 * 6, 3)

        def forward(self, x):
            return self.fc(torch.roll(torch.relu(self.conv1(x)), 1, dims=2).flatten(1))
    """
)


def test_import_menu_opens_a_laid_out_document_with_problems(window, qtbot, tmp_path):  # noqa: F811
    action = window.action_registry.import_model
    file_menu = window.menuBar().actions()[0].menu()
    assert action in file_menu.actions()
    path = tmp_path / "net.py"
    path.write_text(SOURCE)
    with qtbot.waitSignal(window.model_importer.imported, timeout=60000) as blocker:
        window.model_importer.start(f"{path}:Net", "1,8,8")
    result = blocker.args[0]
    graph = window.document.graph
    assert graph is result.graph
    names = {n.name for n in graph}
    assert {"conv1", "fc"} <= names
    positions = {n.position for n in graph}
    assert len(positions) == len(graph)  # auto layout: no two nodes on one spot
    qtbot.waitUntil(lambda: window.problems.topLevelItemCount() > 0, timeout=10000)
    rows = [
        window.problems.topLevelItem(i).text(0) for i in range(window.problems.topLevelItemCount())
    ]
    assert any("torch.roll" in row for row in rows), rows
    assert "Placeholder" in window.statusBar().currentMessage()
    # Replace the placeholder by an Identity: the weights named by the project load.
    placeholder = next(n for n in graph if n.type_id == "placeholder")
    (wire,) = graph.edges_into(placeholder.id)
    graph.delete_edge(wire)
    graph.update_node(placeholder.id, params={})
    graph.nodes[placeholder.id].type_id = "identity"
    graph.insert_edge(Edge(wire.src, PortRef(placeholder.id, "in")))
    module = compile_graph(graph).module
    report = load_attached_weights(module, graph, None)
    assert report is not None and report.ok
    assert torch.equal(
        module.state_dict()["conv1.weight"], result.weights[next(iter(result.weights))]["weight"]
    )


def test_import_errors_are_shown_not_raised(window, qtbot, monkeypatch):  # noqa: F811
    window.files.interactive = False
    with qtbot.waitSignal(window.model_importer.failed, timeout=30000) as blocker:
        window.model_importer.start("no_such_module_xyz:make")
    assert "cannot import 'no_such_module_xyz'" in blocker.args[0]


GOOD = textwrap.dedent(
    """
    import torch
    from torch import nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(6, 3)

        def forward(self, x):
            return torch.tanh(self.fc(x))
    """
)


def test_import_is_checked_against_its_source_and_says_so(window, qtbot, tmp_path):  # noqa: F811
    path = tmp_path / "good.py"
    path.write_text(GOOD)
    with qtbot.waitSignal(window.model_importer.imported, timeout=60000) as blocker:
        window.model_importer.start(f"{path}:Net", "6")
    result = blocker.args[0]
    assert "matches its source" in window.statusBar().currentMessage()
    figures = window.document.graph.metadata["import_check"]
    assert figures["ok"] is True and figures["inputs"] == ["batch 1", "batch 3"]
    assert figures["outputs"]["output"]["largest_difference"] <= 1e-4
    assert result.check.ok


def test_import_dialog_tabs_from_field_to_field(qtbot):
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from dlstudio.gui.dialogs.import_model import ImportModelDialog

    dialog = ImportModelDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog)
    dialog.source_edit.setFocus()
    QTest.keyClicks(dialog.source_edit, "model.py:Net")
    QTest.keyClick(dialog.source_edit, Qt.Key.Key_Tab)
    QTest.keyClicks(QApplication.focusWidget(), "1,28,28")  # the user types on without looking
    assert dialog.source() == "model.py:Net" and dialog.input_shape() == "1,28,28"
    order = []
    for _ in range(4):
        QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        order.append(QApplication.focusWidget().text())
    assert order == ["OK", "Cancel", "Browse…", "model.py:Net"]

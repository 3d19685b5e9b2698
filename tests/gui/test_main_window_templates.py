"""Every template opens in the window with no error diagnostics, and the window reflects it."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from dlstudio.gui.dialogs import TemplateGallery, list_templates
from tests.gui import fixtures_window
from tests.gui.fixtures_window import TEMPLATES

window = fixtures_window.shared_window
module_window = fixtures_window.module_window
data_dir = fixtures_window.data_dir


def test_there_are_templates():
    assert len(TEMPLATES) >= 3
    assert {t.path.name for t in list_templates()} == {p.name for p in TEMPLATES}


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.stem)
def test_template_opens_without_errors(window, path):
    assert window.files.load_template(path, ask=False)
    document = window.document
    errors = [d.message for d in document.analysis.errors]
    assert errors == [], errors
    assert len(window.scene.node_items()) == len(document.graph)
    assert window.document.path is None  # a new model from the template, not the template
    assert not window.isWindowModified()
    assert window.summary.top_level_items()[-1].text(0) == "Total"
    assert f"{document.analysis.total_params:,}" in window.summary.totals.text()
    window.code_preview.refresh()
    assert "class " in window.code_preview.toPlainText()
    window.problems_label.text()  # rendered without raising
    assert "ready" in window.problems_label.text() or "warning" in window.problems_label.text()


def test_gallery_lists_titles_and_opens_on_double_click(window, qtbot, monkeypatch):
    gallery = TemplateGallery(window)
    qtbot.addWidget(gallery)
    gallery.select("lenet5")
    assert gallery.title.text() == "LeNet-5"
    assert gallery.description.text()
    item = gallery.list.currentItem()
    with qtbot.waitSignal(gallery.accepted):
        gallery.list.itemDoubleClicked.emit(item)
    assert gallery.chosen_path.name == "lenet5.json"

    monkeypatch.setattr(TemplateGallery, "exec", lambda self: (self.select("mlp-mnist"), 1)[1])
    assert window.files.new_from_template_dialog()
    assert window.document.graph.name.startswith("mlp")


def test_gallery_shows_pictures_and_whole_categories(window, qtbot):
    from PySide6.QtGui import QColor

    gallery = TemplateGallery(window)
    qtbot.addWidget(gallery)
    gallery.resize(900, 560)
    gallery.show()
    qtbot.waitUntil(gallery.icons_drawn, timeout=20_000)
    templates = list_templates()
    titles, headings = [], []
    for row in range(gallery.list.count()):
        item = gallery.list.item(row)
        if item.data(Qt.ItemDataRole.UserRole):
            titles.append(item.text())
            picture = item.icon().pixmap(gallery.list.iconSize()).toImage()
            colours = {
                QColor(picture.pixel(x, y)).name()
                for x in range(0, picture.width(), 3)
                for y in range(0, picture.height(), 3)
            }
            assert len(colours) > 5, f"{item.text()}: a blank picture"
        else:
            headings.append(item.text())
            # A heading row is the category whole: nothing cut at the list's edge.
            width = gallery.list.fontMetrics().horizontalAdvance(item.text())
            assert width < gallery.list.viewport().width()
    assert titles == [t.title for t in templates]
    assert headings == list(dict.fromkeys(t.category or "Other" for t in templates))
    gallery.select("resnet18")
    assert gallery.title.text() and not gallery.picture.pixmap().isNull()

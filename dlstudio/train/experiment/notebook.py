"""The training script as a Jupyter notebook (nbformat): the same code, cell by cell, in
reading order, with the model explained from the layers' own help texts."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat import v4

from dlstudio.core.graph import LayerGraph
from dlstudio.core.serialization import write_text_atomic
from dlstudio.layers import UnknownLayerError, get_layer_type
from dlstudio.train.experiment.script import Experiment

_SKIP = ("input", "output")


def build_notebook(experiment: Experiment, graph: LayerGraph) -> nbformat.NotebookNode:
    """A notebook whose code cells, joined, are the script's imports and sections; the last
    cell trains with the default settings (``parse_args([...])`` takes flags as a list)."""
    title, _, about = experiment.docstring.partition("\n\n")
    cells = [
        # The text names the project: shown as text, never as HTML.
        v4.new_markdown_cell(
            f"# {title.rstrip('.')}\n\n{' '.join(about.split()).replace('<', '&lt;')}"
        ),
        v4.new_code_cell("from __future__ import annotations\n\n" + "\n".join(experiment.imports)),
    ]
    for section in experiment.sections:
        text = section.text
        if section.title == "The model":
            text += "\n\n" + explain_model(graph)
        cells.append(v4.new_markdown_cell(f"## {section.title}\n\n{text}"))
        cells.append(v4.new_code_cell(section.code))
    cells.append(v4.new_markdown_cell("## Run\n\nTrain with the settings above (or with flags)."))
    cells.append(v4.new_code_cell("model = train(parse_args([]))"))
    notebook = v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    notebook.metadata["language_info"] = {"name": "python"}
    nbformat.validate(notebook)
    return notebook


def explain_model(graph: LayerGraph) -> str:
    """The layers in the order of the drawing, then how each kind works: its explanation and
    formula as the layer catalogue gives them (the text of the editor's help)."""
    lines = ["The layers, in order:", ""]
    kinds: list[str] = []
    for node in graph:
        if node.type_id in _SKIP:
            continue
        try:
            layer = get_layer_type(node.type_id)
        except UnknownLayerError:
            block = node.params.get("block", node.type_id)
            lines.append(f"- **{_md(node.name)}**: an instance of the block {_md(str(block))}")
            continue
        lines.append(f"- **{_md(node.name)}** ({layer.label}): {_md(layer.summary)}")
        if node.type_id not in kinds:
            kinds.append(node.type_id)
    lines += ["", "### How the layers work"]
    for type_id in kinds:
        layer = get_layer_type(type_id)
        lines += ["", f"**{layer.label}.** {_md(layer.explanation)}"]
        if layer.formula:
            formula = layer.formula.replace("`", "'")
            lines += ["", f"`{formula}`"]
    return "\n".join(lines)


def _md(text: str) -> str:
    """Text from a drawing shown as text, never as Markdown or HTML."""
    for char in "\\`*_[]<>#|":
        text = text.replace(char, "\\" + char)
    return text


def write_notebook(experiment: Experiment, path: str | Path, graph: LayerGraph) -> Path:
    """Write the notebook atomically as ``.ipynb`` JSON."""
    path = Path(path)
    write_text_atomic(path, nbformat.writes(build_notebook(experiment, graph)))
    return path

"""Explanations and embedding maps of trained models, checked by what they must show."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from graph_builders import ChainBuilder
from PIL import Image
from repo_paths import TEMPLATES_DIR

from dlstudio.cli import main
from dlstudio.core import save_project
from dlstudio.lens.embeddings import embedding_table, neighbours
from dlstudio.lens.examples import dataset_example
from dlstudio.lens.explain import explain
from dlstudio.lens.project import open_run

SMALL_CNN = (
    ("input", "image", {"shape": (1, 8, 8)}),
    ("conv2d", "conv1", {"out_channels": 16, "kernel_size": 3, "padding": 1}),
    ("relu", "relu1", {}),
    ("conv2d", "conv2", {"out_channels": 32, "kernel_size": 3, "padding": 1}),
    ("relu", "relu2", {}),
    ("global_avgpool", "gap", {}),
    ("dense", "fc", {"units": 10}),
    ("output", "logits", {}),
)


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory) -> Path:
    """A small CNN trained on 8x8 digits through `train --out` (a run folder)."""
    folder = tmp_path_factory.mktemp("digits")
    b = ChainBuilder("small-cnn")
    b.chain(*SMALL_CNN)
    b.graph.metadata["training"] = {
        "dataset": "digits",
        "epochs": 6,
        "batch_size": 32,
        "lr": 0.003,
        "optimizer": "adam",
        "val_fraction": 0.2,
        "seed": 0,
    }
    project = folder / "cnn.json"
    save_project(b.graph, project)
    out = folder / "run"
    assert main(["train", str(project), "--out", str(out), "--threads", "1"]) == 0
    return out


def test_the_run_folder_keeps_the_project_it_trained(digits_run: Path) -> None:
    snapshot = json.loads((digits_run / "model.json").read_text())
    assert snapshot["metadata"]["training"]["dataset"] == "digits"
    assert {n["name"] for n in snapshot["nodes"]} >= {"conv1", "conv2", "fc"}


def _ink_minus_border(project, method: str) -> tuple[np.ndarray, int]:
    """Per sample: mean heat on the digit's ink minus mean heat on the empty outer ring."""
    differences, correct = [], 0
    for index in range(0, 400, 10):
        example = dataset_example(project.dataset, index)
        result = explain(project, example, method)
        image = example.inputs[0][0, 0].numpy()
        low, high = image.min(), image.max()
        ring = np.zeros_like(image, dtype=bool)
        ring[0, :] = ring[-1, :] = ring[:, 0] = ring[:, -1] = True
        ink = image > low + 0.5 * (high - low)
        border = ring & (image <= low + 1e-6)
        if ink.any() and border.any():
            differences.append(result.heat[ink].mean() - result.heat[border].mean())
        correct += result.predicted == example.target
    return np.array(differences), correct


def test_gradcam_puts_more_mass_on_the_digit_than_on_the_empty_border(digits_run: Path) -> None:
    project = open_run(digits_run)
    assert explain(project, dataset_example(project.dataset, 0), "gradcam").layer == "conv2"
    differences, correct = _ink_minus_border(project, "gradcam")
    assert correct >= 28  # of 40: the model is trained
    assert differences.mean() > 0.05 and (differences > 0).mean() >= 0.7


def test_integrated_gradients_attribute_to_the_ink(digits_run: Path) -> None:
    differences, _ = _ink_minus_border(open_run(digits_run), "ig")
    assert differences.mean() > 0.15 and (differences > 0).mean() >= 0.9


@pytest.mark.parametrize("method", ["saliency", "ig"])
def test_gradient_maps_cover_the_input_and_name_the_prediction(digits_run, method) -> None:
    project = open_run(digits_run)
    example = dataset_example(project.dataset, 3)
    result = explain(project, example, method)
    assert result.heat.shape == (8, 8)
    assert result.heat.max() == pytest.approx(1.0) and result.heat.min() >= 0
    assert result.probabilities.sum() == pytest.approx(1.0)
    assert result.target == result.predicted


def test_explain_command_writes_the_overlay_and_names_the_classes(
    digits_run: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "why.png"
    code = main(
        ["explain", str(digits_run), "--sample", "5", "--method", "gradcam", "--out", str(out)]
    )
    assert code == 0
    assert Image.open(out).size[0] >= 256
    message = capsys.readouterr().err
    assert "predicted" in message and "true" in message


def test_explain_refuses_what_does_not_apply_without_a_traceback(
    digits_run: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "x.png"
    assert main(["explain", str(digits_run), "--method", "rollout", "--out", str(out)]) == 2
    assert main(["explain", str(digits_run), "--sample", "99999", "--out", str(out)]) == 2
    assert main(["explain", str(tmp_path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "token models" in err and "out of range" in err
    assert "model.json" in err and not out.exists()


def test_inspect_writes_a_picture_per_node_and_the_statistics(
    digits_run: Path, tmp_path: Path
) -> None:
    out = tmp_path / "lens"
    weights = digits_run / "weights.safetensors"
    code = main(
        [
            "inspect",
            str(digits_run / "model.json"),
            "--weights",
            str(weights),
            "--class",
            "7",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    index = json.loads((out / "index.json").read_text())
    assert index["target"] == 7 and index["weights"] == str(weights)
    names = [n["node"] for n in index["nodes"]]
    assert names[:3] == ["image", "conv1", "relu1"] and "logits" in names
    for entry in index["nodes"]:
        assert (out / entry["file"]).exists()
        assert entry["min"] <= entry["mean"] <= entry["max"]
    assert index["filters"] == {"layer": "conv1", "file": "filters.png"}
    assert Image.open(out / "filters.png").size[0] >= 100
    relu = next(n for n in index["nodes"] if n["node"] == "relu1")
    assert relu["min"] >= 0 and relu["shape"] == [16, 8, 8]


@pytest.fixture(scope="module")
def word2vec_run(tmp_path_factory) -> Path:
    """word2vec trained on generated sentences, where subjects, verbs and objects each share
    their contexts."""
    folder = tmp_path_factory.mktemp("w2v")
    data = json.loads((TEMPLATES_DIR / "word2vec.json").read_text())
    data["metadata"]["training"].update(
        dataset_options={"window": 2, "sentences": 200}, epochs=5, batch_size=64
    )
    project = folder / "w2v.json"
    project.write_text(json.dumps(data))
    out = folder / "run"
    assert main(["train", str(project), "--out", str(out), "--threads", "1"]) == 0
    return out


def test_trained_word_vectors_have_neighbours_of_their_own_kind(word2vec_run: Path) -> None:
    from dlstudio.train.data.language import _SUBJECTS, _VERBS

    project = open_run(word2vec_run)
    names = {project.graph.node(n).name: a for n, a in project.compiled.node_attrs.items()}
    table = embedding_table(project.compiled.module, "embed", project.dataset.vocab, names)
    hits = []
    for group in (_SUBJECTS, _VERBS):
        for word in group:
            near = [w for w, _ in neighbours(table, word, 3)]
            hits.append(any(w in group for w in near))
    assert np.mean(hits) >= 0.8


def test_embeddings_command_writes_the_map_and_answers_questions(
    word2vec_run: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "proj.csv"
    assert main(["embeddings", str(word2vec_run), "--out", str(out), "--neighbours", "cat"]) == 0
    rows = out.read_text().splitlines()
    assert rows[0] == "index,word,x,y" and len(rows) > 30
    assert out.with_suffix(".png").exists()
    assert capsys.readouterr().out.startswith("nearest to cat: ")
    assert main(["embeddings", str(word2vec_run), "--out", str(out), "--neighbours", "zebra"]) == 2
    assert "'zebra' is not in the vocabulary" in capsys.readouterr().err


def test_explanations_started_together_give_what_each_gives_alone(digits_run: Path) -> None:
    """The window starts each method on a worker; one still running when the next starts must
    not read the other's hooks and gradients (both back-propagate through the same model)."""
    from concurrent.futures import ThreadPoolExecutor

    project = open_run(digits_run)
    example = dataset_example(project.dataset, 0)
    methods = ["gradcam", "saliency", "ig", "gradcam", "saliency", "ig"]
    alone = {m: explain(project, example, m).heat for m in set(methods)}
    with ThreadPoolExecutor(max_workers=3) as pool:
        together = list(pool.map(lambda m: explain(project, example, m), methods))
    for method, result in zip(methods, together, strict=True):
        np.testing.assert_allclose(result.heat, alone[method], atol=1e-6)

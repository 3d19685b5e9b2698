"""``train`` on a CSV tokenized by the project's Hugging Face tokenizer, then ``predict`` typed
sentences; the labels of the generated sentences are the reference."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hf_fixtures import labelled_sentences, make_wordpiece_tokenizer, write_sentences_csv
from repo_paths import REPO_ROOT

from dlstudio.cli import main


def _text_project(folder: Path, tokenizer: str, vocab: int) -> Path:
    """The transformer-classifier template, trained on sentences.csv with the tokenizer folder
    named in metadata.tokenizer."""
    project = json.loads((REPO_ROOT / "templates" / "transformer-classifier.json").read_text())
    for node in project["nodes"]:
        if node["type"] == "input":
            node["params"].update(vocab_size=vocab, seq_len=16)
        if node["type"] == "embedding":
            node["params"]["num_embeddings"] = vocab
    project["metadata"]["training"].update(
        dataset="sentences.csv", dataset_options={}, epochs=6, batch_size=16, lr=0.003
    )
    project["metadata"]["tokenizer"] = tokenizer
    path = folder / "classifier.json"
    path.write_text(json.dumps(project))
    return path


def test_train_then_predict_typed_sentences(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The tokenizer is the project's (metadata.tokenizer, a folder beside it), as an imported
    Hugging Face model brings it; train and predict both use it without being told."""
    tokenizer = make_wordpiece_tokenizer(tmp_path / "tokenizer")
    from transformers import AutoTokenizer

    vocab = len(AutoTokenizer.from_pretrained(str(tokenizer)))
    write_sentences_csv(tmp_path / "sentences.csv", 240, seed=1)
    project = _text_project(tmp_path, "tokenizer", vocab)
    assert main(["train", str(project), "--threads", "1"]) == 0
    metrics = [json.loads(line) for line in (tmp_path / "classifier_run" / "metrics.jsonl").open()]
    last_epoch = [m for m in metrics if m["event"] == "epoch"][-1]
    assert last_epoch["val"]["accuracy"] >= 0.9, last_epoch
    capsys.readouterr()
    held_out = labelled_sentences(12, seed=77)
    args = ["predict", str(project), "--json", "--top", "2"]
    for text, _label in held_out:
        args += ["--text", text]
    assert main(args) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["text"] for line in lines] == [t for t, _ in held_out]
    right = sum(
        line["classes"][0]["class"] == label
        for line, (_t, label) in zip(lines, held_out, strict=True)
    )
    assert right >= 11
    assert all(abs(sum(c["probability"] for c in line["classes"]) - 1) < 1e-3 for line in lines)


def test_predict_explains_a_project_without_a_tokenizer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = json.loads((REPO_ROOT / "templates" / "mlp-mnist.json").read_text())
    project["metadata"].pop("training", None)
    path = tmp_path / "mlp.json"
    path.write_text(json.dumps(project))
    assert main(["predict", str(path), "--text", "hello"]) == 1
    assert "has no tokenizer" in capsys.readouterr().err


def test_word_vocabulary_encodes_like_the_lesson_data(tmp_path: Path) -> None:
    from dlstudio.train import load_dataset
    from dlstudio.train.predict import TextEncoder

    csv = tmp_path / "t.csv"
    csv.write_text("text,label\ngood fun film,1\nbad dull film,0\n")
    data = load_dataset(csv, {"seq_len": 5})
    encoder = TextEncoder.for_dataset(None, data)
    ids = encoder.encode("Good film!")["input_ids"]
    vocab = data.vocab
    assert [vocab[i] for i in ids[0].tolist()] == ["good", "film", "<unk>", "<pad>", "<pad>"]

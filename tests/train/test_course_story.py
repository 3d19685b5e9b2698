"""The course's fine-tuning story, end to end: images through the command line (import a
torchvision ResNet-18, fine-tune it with augmentation on a generated two-class folder, export
to ONNX and check onnxruntime's predictions), and text from a small BERT saved with
save_pretrained, its tokenizer reading a CSV of labelled sentences, the encoder frozen.

References: the generated labels (what the images and sentences are), onnxruntime, and the
tokenizer and model of transformers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from hf_fixtures import (
    Logits,
    labelled_sentences,
    make_small_bert_hub,
    write_sentences_csv,
)
from test_train_augment import make_two_class_folder
from torchvision_shim import import_torchvision_models

from dlstudio.cli import main

RESNET18_FILE = '''
from torchvision.models.resnet import BasicBlock, ResNet


class Net(ResNet):
    """torchvision's ResNet-18 with a two-class head (random weights stand for pretrained)."""

    def __init__(self):
        super().__init__(BasicBlock, [2, 2, 2, 2], num_classes=2)
'''


def test_resnet18_fine_tuned_with_augmentation_then_onnx(tmp_path: Path) -> None:
    import_torchvision_models()
    make_two_class_folder(tmp_path / "pictures" / "train", 24, size=40, seed=1)
    make_two_class_folder(tmp_path / "pictures" / "val", 8, size=40, seed=2)
    (tmp_path / "net.py").write_text(RESNET18_FILE)
    project = tmp_path / "r18.json"
    torch.manual_seed(0)
    source = f"{tmp_path / 'net.py'}:Net"
    assert main(["import", source, "--input-shape", "3,32,32", "--out", str(project)]) == 0
    document = json.loads(project.read_text())
    options = {"size": 32, "normalize": "imagenet", "crop_scale": [0.6, 1.0], "flip": 0.5}
    document["metadata"]["training"] = {
        "dataset": "pictures",
        "dataset_options": options,
        "epochs": 5,
        "batch_size": 16,
        "lr": 0.001,
        "optimizer": "adam",
    }
    project.write_text(json.dumps(document))
    assert main(["train", str(project), "--threads", "1"]) == 0
    records = [json.loads(line) for line in (tmp_path / "r18_run" / "metrics.jsonl").open()]
    finished = next(r for r in records if r["event"] == "finished")
    assert finished["best"]["accuracy"] >= 0.9, finished
    onnx_path = tmp_path / "r18.onnx"
    weights = tmp_path / "r18_run" / "weights.safetensors"
    assert main(["export", str(project), "--onnx", str(onnx_path), "--from", str(weights)]) == 0
    # onnxruntime classifies the validation images (normalised as in training) correctly.
    import onnxruntime

    from dlstudio.train import load_dataset

    data = load_dataset(tmp_path / "pictures", options)
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    scores = session.run(None, {name: data.validation.inputs[0].numpy()})[0]
    right = (scores.argmax(1) == data.validation.target.numpy()).mean()
    assert right >= 0.9


def test_small_bert_with_its_tokenizer_frozen_encoder_and_typed_sentences(tmp_path: Path) -> None:
    """The data side of the text story: the CSV read by the model's own tokenizer, the encoder
    frozen, high validation accuracy, and typed sentences classified by predict."""
    import_torchvision_models()  # transformers' model classes import torchvision
    from transformers import AutoModelForSequenceClassification

    from dlstudio.train import TrainConfig, Trainer, load_dataset
    from dlstudio.train.predict import TextEncoder, predict_text

    hub = make_small_bert_hub(tmp_path / "hub")
    torch.manual_seed(0)
    model = Logits(AutoModelForSequenceClassification.from_pretrained(str(hub), num_labels=2))
    encoder_before = {k: v.clone() for k, v in model.model.bert.encoder.state_dict().items()}
    data = load_dataset(
        write_sentences_csv(tmp_path / "reviews.csv", 240, seed=1), {"tokenizer": str(hub)}
    )
    assert data.input_names == ["input_ids", "attention_mask", "token_type_ids"]
    config = TrainConfig(epochs=6, batch_size=16, lr=3e-3, device="cpu", seed=0)
    epochs = []
    trainer = Trainer(
        model,
        config,
        callbacks=[lambda e: epochs.append(e) if type(e).__name__ == "EpochEvent" else None],
        frozen=["model.bert.embeddings", "model.bert.encoder"],
    )
    assert trainer.run(data).status == "completed"
    assert epochs[-1].val["accuracy"] >= 0.9
    after = model.model.bert.encoder.state_dict()
    assert all(torch.equal(encoder_before[k], after[k]) for k in encoder_before)
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(hub))
    text_encoder = TextEncoder.for_dataset(tokenizer, data)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    typed = labelled_sentences(10, seed=123)
    right = 0
    for text, label in typed:
        best = predict_text(model, names, [None] * 3, text_encoder, text, data.class_names)[0]
        right += best.name == label
    assert right >= 9
    # Predictions agree with transformers reading the same text on its own (no padding).
    text = typed[0][0]
    ours = predict_text(model, names, [None] * 3, text_encoder, text, data.class_names)
    with torch.no_grad():
        direct = torch.softmax(model.model(**tokenizer(text, return_tensors="pt")).logits, -1)[0]
    by_name = {s.name: s.probability for s in ours}
    expected = dict(zip(data.class_names, direct.tolist(), strict=True))
    assert by_name == pytest.approx(expected, abs=1e-5)
    assert np.isclose(sum(by_name.values()), 1.0)


def test_bert_imported_with_its_tokenizer_frozen_trained_predicted_and_exported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The course's text story on the command line: import hf:FOLDER with a 2-label head (its
    tokenizer comes along), freeze the encoder, train on a CSV, predict typed sentences, export
    to ONNX and compare onnxruntime with the trained model at two lengths."""
    import_torchvision_models()
    hub = make_small_bert_hub(tmp_path / "hub")
    project = tmp_path / "sentiment.json"
    torch.manual_seed(0)
    source = f"hf:{hub}"
    args = ["import", source, "--task", "sequence-classification", "--num-labels", "2"]
    assert main([*args, "--out", str(project)]) == 0
    document = json.loads(project.read_text())
    assert document["metadata"]["tokenizer"] == "sentiment.tokenizer"
    encoder = next(n for n in document["nodes"] if n["name"] == "bert")
    encoder["trainable"] = False  # freeze the encoder: only the new head learns
    write_sentences_csv(tmp_path / "reviews.csv", 240, seed=1)
    document["metadata"]["training"] = {
        "dataset": "reviews.csv",
        "epochs": 5,
        "batch_size": 16,
        "lr": 0.003,
        "optimizer": "adam",
    }
    project.write_text(json.dumps(document))
    capsys.readouterr()
    assert main(["train", str(project), "--threads", "1"]) == 0
    records = [json.loads(line) for line in (tmp_path / "sentiment_run" / "metrics.jsonl").open()]
    finished = next(r for r in records if r["event"] == "finished")
    assert finished["best"]["accuracy"] >= 0.9, finished
    weights = tmp_path / "sentiment_run" / "weights.safetensors"
    from safetensors.torch import load_file

    trained, imported = load_file(str(weights)), load_file(str(tmp_path / "sentiment.safetensors"))
    frozen = [k for k in imported if k.startswith("bert.")]
    assert frozen and all(torch.equal(trained[k], imported[k]) for k in frozen)
    assert not torch.equal(trained["classifier.weight"], imported["classifier.weight"])

    typed = labelled_sentences(10, seed=123)
    capsys.readouterr()
    args = ["predict", str(project), "--json"]
    for text, _label in typed:
        args += ["--text", text]
    assert main(args) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    right = sum(
        line["classes"][0]["class"] == label for line, (_t, label) in zip(lines, typed, strict=True)
    )
    assert right >= 9

    onnx_path = tmp_path / "sentiment.onnx"
    assert main(["export", str(project), "--onnx", str(onnx_path), "--from", str(weights)]) == 0
    import onnxruntime
    from transformers import AutoTokenizer

    from dlstudio.compile import compile_graph
    from dlstudio.compile.weights import load_weights
    from dlstudio.core import load_project

    compiled = compile_graph(load_project(project))
    assert load_weights(compiled.module, weights).ok
    compiled.module.eval()
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    # The imported BERT takes the attention mask and the token types; the batch and the length
    # are free in the file.
    assert names == ["input_ids", "attention_mask", "token_type_ids"]
    assert all(i.shape == ["N", "T"] for i in session.get_inputs())
    tokenizer = AutoTokenizer.from_pretrained(str(tmp_path / "sentiment.tokenizer"))
    batches = [
        ["the film was great", "our trip was really dreadful and quite long"],
        ["that song was so dull", "the show was lovely", "this book was dull"],
    ]
    lengths = set()
    for texts in batches:
        encoded = tokenizer(texts, padding=True, return_tensors="np")
        feeds = {name: encoded[name].astype(np.int64) for name in names}
        assert (feeds["attention_mask"] == 0).any()  # padded rows
        lengths.add(feeds["input_ids"].shape[1])
        ours = session.run(None, feeds)[0]
        with torch.no_grad():
            reference = compiled.module(*(torch.from_numpy(feeds[n]) for n in names)).numpy()
        assert np.allclose(ours, reference, atol=1e-4)
        # Padding is masked as transformers masks it: each text alone, unpadded, gives the
        # same scores as its padded row.
        for row, text in enumerate(texts):
            alone = tokenizer(text, return_tensors="np")
            single = {name: alone[name].astype(np.int64) for name in names}
            assert np.allclose(session.run(None, single)[0][0], ours[row], atol=1e-4)
    assert len(lengths) == 2  # one exported model, two lengths

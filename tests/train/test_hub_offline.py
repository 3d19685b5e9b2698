"""The hub paths, offline: ``import hf:ID`` (the model and its tokenizer), a tokenizer given by hub
id, and ``hf:NAME`` data sets, all from a stand-in hub on 127.0.0.1 (``hub_server.py``) that
``HF_ENDPOINT`` points to, with a temporary ``HF_HOME`` so no cache outside the test is touched.

They run in a child process: huggingface_hub reads ``HF_ENDPOINT`` and ``HF_HOME`` when it is
first imported, as it does for a user who sets them. References: the fixture files themselves
(weights, the tokenizer's own ids for the CSV's sentences)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hf_fixtures import make_wordpiece_tokenizer, write_sentences_csv
from hub_server import HubServer
from torchvision_shim import import_torchvision_models

ROOT = Path(__file__).resolve().parents[2]

CLIENT = """
import json, sys
from dlstudio.cli import main

code = main(["import", "hf:course/tiny-bert", "--task", "sequence-classification",
             "--num-labels", "2", "--out", "bert.json"])
missing = main(["import", "hf:course/no-such-model", "--out", "missing.json"])
from dlstudio.train import load_dataset

data = load_dataset("hf:course/reviews", {"tokenizer": "course/tiny-bert"})
print("RESULT " + json.dumps({
    "import": code,
    "missing": missing,
    "names": data.input_names,
    "classes": data.class_names,
    "train": len(data.data.target),
    "validation": len(data.validation.target),
    "first_ids": data.data.inputs[0][0].tolist(),
}))
"""


def _hub(root: Path) -> None:
    """``course/tiny-bert`` (a small BERT encoder and its WordPiece tokenizer) and
    ``course/reviews`` (train and validation CSVs), as save_pretrained and a hub repo hold them."""
    import_torchvision_models()  # transformers imports torchvision
    from transformers import AutoTokenizer, BertConfig, BertModel

    model_dir = root / "course" / "tiny-bert"
    make_wordpiece_tokenizer(model_dir)
    vocab = len(AutoTokenizer.from_pretrained(str(model_dir)))
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=vocab,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
    )
    BertModel(config).save_pretrained(str(model_dir))
    data_dir = root / "datasets" / "course" / "reviews"
    data_dir.mkdir(parents=True)
    write_sentences_csv(data_dir / "train.csv", 24, seed=3)
    write_sentences_csv(data_dir / "validation.csv", 8, seed=4)


def test_models_tokenizers_and_data_sets_come_from_the_hub_endpoint(tmp_path: Path) -> None:
    hub_root = tmp_path / "hub"
    _hub(hub_root)
    work = tmp_path / "work"
    work.mkdir()
    home = tmp_path / "hf-home"
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_", "TRANSF"))
    }
    with HubServer(hub_root) as hub:
        env.update(
            HF_ENDPOINT=hub.url,
            HF_HOME=str(home),
            HF_HUB_DISABLE_TELEMETRY="1",
            PYTHONPATH=str(ROOT),
            OMP_NUM_THREADS="1",
        )
        done = subprocess.run(
            [sys.executable, "-c", CLIENT],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        requests = list(hub.requests)
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))
    # The model came over HTTP, with its tokenizer, into the temporary HF_HOME only.
    assert result["import"] == 0, done.stderr[-3000:]
    fetched = {r.rsplit("/", 1)[1] for r in requests if r.startswith("/course/tiny-bert/resolve/")}
    assert {"config.json", "model.safetensors", "tokenizer_config.json"} <= fetched
    assert any(home.rglob("model.safetensors"))
    from safetensors.torch import load_file

    saved = load_file(str(work / "bert.safetensors"))
    source = load_file(str(hub_root / "course" / "tiny-bert" / "model.safetensors"))
    key = "encoder.layer.0.attention.self.query.weight"
    assert torch.equal(saved[f"bert.{key}"], source[key])
    document = json.loads((work / "bert.json").read_text())
    assert document["metadata"]["tokenizer"] == "bert.tokenizer"
    assert (work / "bert.tokenizer" / "tokenizer_config.json").is_file()
    # A hub id that the hub does not have: exit 2, the reason, nothing written.
    assert result["missing"] == 2
    assert "could not load 'course/no-such-model'" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (work / "missing.json").exists()
    # The data set by name, both splits, tokenized by the tokenizer fetched by hub id: the ids
    # are the tokenizer's own for the first sentence.
    reviews = "/datasets/course/reviews/resolve/"
    assert {"train.csv", "validation.csv"} <= {
        r.rsplit("/", 1)[1] for r in requests if reviews in r
    }
    assert result["names"] == ["input_ids", "attention_mask", "token_type_ids"]
    assert (result["train"], result["validation"]) == (24, 8)
    assert result["classes"] == ["negative", "positive"]
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(hub_root / "course" / "tiny-bert"))
    first = (hub_root / "datasets/course/reviews/train.csv").read_text().splitlines()[1]
    want = tokenizer(first.rsplit(",", 1)[0])["input_ids"]
    assert result["first_ids"][: len(want)] == want
    assert not any(result["first_ids"][len(want) :])  # then padding ([PAD] is 0)


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)

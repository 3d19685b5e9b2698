"""hf:FOLDER sources: a folder that is not a save_pretrained folder is refused in words, and a
checkpoint saved with another number of labels gets a new head of the number asked (as
from_pretrained(..., num_labels=N, ignore_mismatched_sizes=True) does), its encoder unchanged.
The reference: the checkpoint transformers wrote."""

from __future__ import annotations

import pytest
import torch

from dlstudio.compile.importers.errors import ImportFailed
from dlstudio.compile.importers.hf_source import load_hf


def test_a_folder_without_config_json_is_refused_in_words(tmp_path) -> None:
    (tmp_path / "vocab.txt").write_text("[PAD]\n")
    with pytest.raises(ImportFailed, match=r"has no config\.json: hf: needs a folder written by"):
        load_hf(f"hf:{tmp_path}", "sequence-classification", 2)


def test_a_checkpoint_of_three_labels_gets_a_new_head_of_two(tmp_path) -> None:
    from dlstudio.compile.importers.loader import prepare_torchvision

    prepare_torchvision()  # transformers imports torchvision
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=40,
        hidden_size=8,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=16,
        max_position_embeddings=16,
        num_labels=3,
    )
    saved = transformers.BertForSequenceClassification(config)
    saved.save_pretrained(str(tmp_path))
    loaded = load_hf(f"hf:{tmp_path}", "sequence-classification", 2).model
    assert loaded.classifier.out_features == 2
    ours, theirs = loaded.bert.state_dict(), saved.bert.state_dict()
    assert ours.keys() == theirs.keys()
    assert all(torch.equal(ours[k], theirs[k]) for k in theirs)
    same = load_hf(f"hf:{tmp_path}", "sequence-classification", 3).model
    assert torch.equal(same.classifier.weight, saved.classifier.weight)  # the saved head kept

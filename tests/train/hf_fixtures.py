"""Small Hugging Face pieces made in the tests: a WordPiece tokenizer trained on a tiny corpus
and saved with ``save_pretrained``, and labelled sentences (nothing is downloaded)."""

from __future__ import annotations

import random
from pathlib import Path

import torch

POSITIVE = ["great", "wonderful", "lovely", "excellent", "brilliant", "delightful"]
NEGATIVE = ["awful", "terrible", "boring", "dreadful", "horrible", "dull"]
SUBJECTS = ["the film", "this book", "the meal", "our trip", "the show", "that song"]
FILLERS = ["really", "quite", "truly", "very", "so", "rather"]


def labelled_sentences(count: int, seed: int = 0) -> list[tuple[str, str]]:
    """(sentence, "positive" | "negative") pairs; the adjective decides the label."""
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        positive = rng.random() < 0.5
        word = rng.choice(POSITIVE if positive else NEGATIVE)
        text = f"{rng.choice(SUBJECTS)} was {rng.choice(FILLERS)} {word}"
        if rng.random() < 0.5:
            text += f" and {rng.choice(FILLERS)} long"
        rows.append((text, "positive" if positive else "negative"))
    return rows


def make_wordpiece_tokenizer(folder: Path, model_max_length: int = 64) -> Path:
    """Train a WordPiece tokenizer on the sentences above and save it as a BERT tokenizer."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertTokenizerFast

    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    trainer = trainers.WordPieceTrainer(vocab_size=200, special_tokens=specials)
    corpus = [text for text, _label in labelled_sentences(300, seed=99)]
    tokenizer.train_from_iterator(corpus, trainer)
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)],
    )
    fast = BertTokenizerFast(tokenizer_object=tokenizer, model_max_length=model_max_length)
    folder.mkdir(parents=True, exist_ok=True)
    fast.save_pretrained(str(folder))
    return folder


def write_sentences_csv(path: Path, count: int, seed: int = 0) -> Path:
    """A CSV with ``sentence`` and ``label`` columns."""
    import csv

    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sentence", "label"])
        writer.writerows(labelled_sentences(count, seed))
    return path


def make_small_bert_hub(folder: Path, seed: int = 0) -> Path:
    """A folder standing for a hub model: a two-layer BERT built from a config, pretrained for a
    few epochs on sentences of its own (seed 50) so its encoder has learned the words, saved with
    ``save_pretrained`` as a bare encoder (like bert-base-cased: no classification head), and the
    WordPiece tokenizer beside it. Needs torchvision's shim (transformers imports torchvision)."""
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from dlstudio.train import TrainConfig, Trainer, load_dataset

    make_wordpiece_tokenizer(folder)
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
        num_labels=2,
    )
    model = BertForSequenceClassification(config)
    corpus = write_sentences_csv(folder.parent / "pretraining.csv", 200, seed=50)
    data = load_dataset(corpus, {"tokenizer": str(folder)})
    settings = TrainConfig(
        epochs=4, batch_size=16, lr=3e-3, device="cpu", seed=seed, val_fraction=0
    )
    assert Trainer(Logits(model), settings).run(data).status == "completed"
    model.bert.save_pretrained(str(folder))
    return folder


class Logits(torch.nn.Module):
    """A transformers classifier as a module that returns its logits from positional inputs
    (input_ids, attention_mask, token_type_ids: the order tokenized data sets give them)."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        return self.model(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).logits

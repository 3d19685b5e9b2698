"""Tables through Hugging Face datasets and texts through a Hugging Face tokenizer; every token id
is compared with what the tokenizer itself gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from hf_fixtures import labelled_sentences, make_wordpiece_tokenizer, write_sentences_csv

from dlstudio.train import DatasetError, load_dataset


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_wordpiece_tokenizer(tmp_path_factory.mktemp("tok") / "tokenizer")


def _reference(tokenizer_dir: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tokenizer_dir))


def _write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize("kind", ["csv", "jsonl", "parquet"])
def test_text_columns_become_the_tokenizers_ids_and_masks(
    kind: str, tokenizer_dir: Path, tmp_path: Path
) -> None:
    rows = labelled_sentences(12, seed=3)
    if kind == "csv":
        path = write_sentences_csv(tmp_path / "s.csv", 12, seed=3)
    elif kind == "jsonl":
        path = _write_jsonl(tmp_path / "s.jsonl", [{"sentence": t, "label": y} for t, y in rows])
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = tmp_path / "s.parquet"
        table = pa.table({"sentence": [t for t, _ in rows], "label": [y for _, y in rows]})
        pq.write_table(table, path)
    data = load_dataset(path, {"tokenizer": str(tokenizer_dir)})
    assert data.input_names == ["input_ids", "attention_mask", "token_type_ids"]
    ids, mask, types = data.data.inputs
    reference = _reference(tokenizer_dir)
    longest = max(len(reference(t)["input_ids"]) for t, _ in rows)
    assert ids.shape == (12, longest) and ids.dtype == torch.int64
    for row, (text, _label) in enumerate(rows):
        expected = reference(text)["input_ids"]
        assert ids[row, : len(expected)].tolist() == expected
        assert set(ids[row, len(expected) :].tolist()) <= {reference.pad_token_id}
        assert mask[row].tolist() == [1] * len(expected) + [0] * (longest - len(expected))
    assert types.abs().sum() == 0
    assert data.class_names == ["negative", "positive"]
    assert data.data.target.tolist() == [int(y == "positive") for _t, y in rows]
    assert data.options["pad_token_id"] == reference.pad_token_id


def test_texts_are_truncated_to_max_length_and_to_the_models_length(
    tokenizer_dir: Path, tmp_path: Path
) -> None:
    path = write_sentences_csv(tmp_path / "s.csv", 8)
    cut = load_dataset(path, {"tokenizer": str(tokenizer_dir), "max_length": 5})
    reference = _reference(tokenizer_dir)
    assert cut.data.inputs[0].shape == (8, 5)
    assert (cut.data.inputs[0][:, -1] == reference.sep_token_id).all()  # [SEP] kept at the end
    short = make_wordpiece_tokenizer(tmp_path / "short", model_max_length=6)
    capped = load_dataset(path, {"tokenizer": str(short)})
    assert capped.data.inputs[0].shape == (8, 6)


def test_named_splits_give_validation_and_test_rows(tokenizer_dir: Path, tmp_path: Path) -> None:
    def rows(count: int, seed: int) -> list[dict[str, object]]:
        return [{"text": t, "label": y} for t, y in labelled_sentences(count, seed)]

    train = _write_jsonl(tmp_path / "train.jsonl", rows(20, 1))
    _write_jsonl(tmp_path / "val.jsonl", rows(6, 2))
    _write_jsonl(tmp_path / "test.jsonl", rows(4, 3))
    options = {
        "tokenizer": str(tokenizer_dir),
        "split_files": {"validation": "val.jsonl", "test": "test.jsonl"},
    }
    data = load_dataset(train, options)
    fit, held = data.split(0.2, seed=0)
    assert len(fit) == 20 and held is data.validation and len(held) == 6
    assert len(data.test) == 4
    # One length for every split, so a batch from any of them fits the same model.
    assert data.validation.inputs[0].shape[1] == data.data.inputs[0].shape[1]
    expected = [int(r["label"] == "positive") for r in rows(6, 2)]
    assert data.validation.target.tolist() == expected


def test_a_label_missing_from_training_is_named(tmp_path: Path) -> None:
    train = _write_jsonl(tmp_path / "train.jsonl", [{"text": "a b", "label": "x"}] * 3)
    _write_jsonl(tmp_path / "val.jsonl", [{"text": "a", "label": "y"}])
    with pytest.raises(DatasetError, match=r"split 'validation': labels y never occur"):
        load_dataset(train, {"split_files": {"validation": "val.jsonl"}})


def test_save_to_disk_folder_keeps_its_class_names_and_splits(tmp_path: Path) -> None:
    import datasets

    features = datasets.Features(
        {"review": datasets.Value("string"), "label": datasets.ClassLabel(names=["bad", "good"])}
    )
    rows = labelled_sentences(10, seed=5)
    part = {"review": [t for t, _ in rows], "label": [int(y == "positive") for _, y in rows]}
    folder = tmp_path / "saved"
    datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_dict(part, features=features),
            "test": datasets.Dataset.from_dict(part, features=features).select(range(3)),
        }
    ).save_to_disk(str(folder))
    data = load_dataset(folder, {"seq_len": 8})
    assert data.class_names == ["bad", "good"]
    assert data.input_names == ["tokens"] and data.data.inputs[0].shape == (10, 8)
    assert len(data.test) == 3
    # The word tokenizer's vocabulary: every word of the first review has its own id.
    first = data.data.inputs[0][0]
    assert [data.vocab[i] for i in first if i != 0] == rows[0][0].lower().split()[:8]


def test_numeric_parquet_is_regression_with_standardised_features(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    gen = torch.Generator().manual_seed(0)
    x = torch.randn(30, 2, generator=gen, dtype=torch.float64) * 5 + 3
    table = pa.table({"a": x[:, 0].tolist(), "b": x[:, 1].tolist(), "y": (x[:, 0] * 0.5).tolist()})
    pq.write_table(table, tmp_path / "n.parquet")
    data = load_dataset(tmp_path / "n.parquet", {"target_column": "y"})
    assert data.task == "regression" and data.target_kind == "values"
    features = data.data.inputs[0]
    assert torch.allclose(features.mean(0), torch.zeros(2), atol=1e-5)
    assert torch.allclose(features.std(0, unbiased=False), torch.ones(2), atol=1e-4)
    assert torch.allclose(data.data.target[:, 0].double(), x[:, 0] * 0.5, atol=1e-5)


def test_unknown_split_and_column_are_explained(tokenizer_dir: Path, tmp_path: Path) -> None:
    path = write_sentences_csv(tmp_path / "s.csv", 4)
    with pytest.raises(
        DatasetError, match=r"no split 'train2'; it has train; set the option split"
    ):
        load_dataset(path, {"tokenizer": str(tokenizer_dir), "split": "train2"})
    with pytest.raises(DatasetError, match=r"no column 'words'; the columns are sentence, label"):
        load_dataset(path, {"tokenizer": str(tokenizer_dir), "text_column": "words"})
    with pytest.raises(DatasetError, match=r"tokenizer .*nope.*cannot load it"):
        load_dataset(path, {"tokenizer": str(tmp_path / "nope")})


def test_model_inputs_are_fed_by_name(tokenizer_dir: Path, tmp_path: Path) -> None:
    data = load_dataset(
        write_sentences_csv(tmp_path / "s.csv", 6), {"tokenizer": str(tokenizer_dir)}
    )
    ids, mask, _types = data.data.inputs
    assert data.select_inputs(["attention_mask", "input_ids"])
    assert data.input_names == ["attention_mask", "input_ids"]
    assert data.data.inputs[0] is mask and data.data.inputs[1] is ids
    fresh = load_dataset(
        write_sentences_csv(tmp_path / "t.csv", 6), {"tokenizer": str(tokenizer_dir)}
    )
    assert fresh.select_inputs(["tokens"])  # one token Input: the ids alone
    assert fresh.input_names == ["input_ids"] and len(fresh.data.inputs) == 1
    assert not fresh.select_inputs(["a", "b"])


def test_a_tokenizer_attached_to_a_project_travels_with_it(
    tokenizer_dir: Path, tmp_path: Path
) -> None:
    from dlstudio.train.data.hf_tokenizer import attach_tokenizer, load_project_tokenizer

    metadata: dict[str, object] = {}
    project = tmp_path / "first" / "model.json"
    project.parent.mkdir()
    assert attach_tokenizer(metadata, project, str(tokenizer_dir)) == "model.tokenizer"
    moved = tmp_path / "moved"
    (project.parent).rename(moved)  # the project folder moves; the relative name still holds
    loaded = load_project_tokenizer(metadata, moved / "model.json")
    text = "the show was quite dull"
    assert loaded(text)["input_ids"] == _reference(tokenizer_dir)(text)["input_ids"]


def test_tokenizer_option_is_a_path_only_where_the_folder_exists(tmp_path: Path) -> None:
    from dlstudio.train.data_paths import relative_training_paths, resolve_training_paths

    (tmp_path / "tok").mkdir()
    training = {"dataset": "s.csv", "dataset_options": {"tokenizer": "tok"}}
    resolved = resolve_training_paths(training, tmp_path)
    assert resolved["dataset_options"]["tokenizer"] == str(tmp_path / "tok")
    hub = {"dataset": "s.csv", "dataset_options": {"tokenizer": "bert-base-cased"}}
    assert (
        resolve_training_paths(hub, tmp_path)["dataset_options"]["tokenizer"] == "bert-base-cased"
    )
    (tmp_path / "sub").mkdir()
    moved = relative_training_paths(resolved, tmp_path, tmp_path / "sub")
    assert moved["dataset_options"]["tokenizer"] == "../tok"
    kept = relative_training_paths(hub, tmp_path, tmp_path / "sub")
    assert kept["dataset_options"]["tokenizer"] == "bert-base-cased"


def test_hub_names_load_a_dataset_repository_with_its_splits(tmp_path: Path) -> None:
    """``hf:NAME`` goes through datasets.load_dataset as a hub name does; a local folder laid
    out like a hub repository (data files named by split) stands for the hub here."""
    repo = tmp_path / "reviews"
    repo.mkdir()
    rows = labelled_sentences(16, seed=4)
    _write_jsonl(repo / "train.jsonl", [{"text": t, "label": y} for t, y in rows[:12]])
    _write_jsonl(repo / "test.jsonl", [{"text": t, "label": y} for t, y in rows[12:]])
    data = load_dataset(f"hf:{repo}", {"seq_len": 6})
    assert len(data) == 12 and len(data.test) == 4
    assert data.test.target.tolist() == [int(y == "positive") for _t, y in rows[12:]]


def test_an_unreachable_hub_name_is_one_message(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    code = "from dlstudio.train import load_dataset\nload_dataset('hf:no-such-user/no-such-set')\n"
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_HOME": str(tmp_path),
    }
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(
        "dlstudio.train.errors.DatasetError: hf:no-such-user/no-such-set: cannot"
    )
    assert "network connection" in last


def test_missing_texts_and_labels_are_named_by_row(tmp_path: Path) -> None:
    rows = [{"text": "good", "label": "a"}, {"text": None, "label": "b"}]
    with pytest.raises(DatasetError, match=r"row 2, column 'text': no text"):
        load_dataset(_write_jsonl(tmp_path / "t.jsonl", rows), {})
    rows = [{"text": "good", "label": "a"}, {"text": "bad", "label": None}]
    with pytest.raises(DatasetError, match=r"row 2, column 'label': no label"):
        load_dataset(_write_jsonl(tmp_path / "l.jsonl", rows), {})


def test_hub_names_in_a_project_are_never_paths(tmp_path: Path) -> None:
    from dlstudio.train.data_paths import relative_training_paths, resolve_training_paths

    training = {"dataset": "hf:imdb"}
    assert resolve_training_paths(training, tmp_path)["dataset"] == "hf:imdb"
    assert relative_training_paths(training, tmp_path, tmp_path / "x")["dataset"] == "hf:imdb"


def test_an_unsaved_project_reads_texts_with_the_tokenizer_it_names(
    tokenizer_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model just imported in the window is unsaved: its tokenizer is named by an absolute path
    and tokenizes its text data with no project folder (a relative name needs one)."""
    from dlstudio.train.session import resolve_project_run

    csv = write_sentences_csv(tmp_path / "reviews.csv", 20, seed=3)
    training = {"dataset": str(csv)}
    metadata = {"tokenizer": str(tokenizer_dir), "training": training}
    _config, data = resolve_project_run(metadata, None)
    assert data.input_names == ["input_ids", "attention_mask", "token_type_ids"]
    reference = _reference(tokenizer_dir)
    ids = data.data.inputs[0]
    for row, (text, _label) in enumerate(labelled_sentences(20, seed=3)):
        expected = reference(text)["input_ids"]
        assert ids[row, : len(expected)].tolist() == expected
    # A relative name without a project folder is not looked for in the working directory.
    (tmp_path / "elsewhere.tokenizer").symlink_to(tokenizer_dir)
    monkeypatch.chdir(tmp_path)
    _config, plain = resolve_project_run(
        {"tokenizer": "elsewhere.tokenizer", "training": training}, None
    )
    assert plain.input_names != data.input_names

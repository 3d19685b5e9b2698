"""Built-in, generated and file data sets: shapes, contents and error messages."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dlstudio.train import DatasetError, check_inputs, list_datasets, load_dataset
from dlstudio.train.data.images import read_idx


def _decode(ids: torch.Tensor, vocab: list[str]) -> str:
    return "".join(vocab[int(i)] for i in ids if vocab[int(i)] not in ("<pad>", "<bos>"))


def test_digits_layouts_and_normalisation() -> None:
    plain = load_dataset("digits")
    assert plain.input_specs[0].shape == (1, 8, 8)
    assert len(plain) == 1797 and plain.num_classes == 10
    x = plain.data.inputs[0]
    assert abs(float(x.mean())) < 1e-4 and abs(float(x.std()) - 1) < 1e-3
    big = load_dataset("digits", {"resize": 28})
    assert tuple(big.data.inputs[0].shape) == (1797, 1, 28, 28)
    flat = load_dataset("digits", {"flatten": True})
    assert flat.input_specs[0].shape == (64,)
    assert torch.equal(plain.data.target, big.data.target)


def test_iris() -> None:
    iris = load_dataset("iris")
    assert iris.input_specs[0].shape == (4,) and iris.num_classes == 3
    assert iris.class_names == ["setosa", "versicolor", "virginica"]


def test_list_datasets_names_every_builtin() -> None:
    names = [info.name for info in list_datasets()]
    for name in ("digits", "iris", "binary_to_decimal", "copy", "reverse", "sine", "skipgram"):
        assert name in names


def test_binary_to_decimal_example() -> None:
    ds = load_dataset("binary_to_decimal", {"bits": 12})
    src, target = ds.data.inputs[0], ds.data.target
    row = 0b111101001010
    assert _decode(src[row], ds.vocab) == "111101001010"
    assert _decode(target[row], ds.vocab) == "3914"
    assert _decode(target[5], ds.vocab) == "5"
    assert src.dtype == torch.int64 and tuple(target.shape) == (4096, 4)
    assert int(target[5, 0]) == 0  # padded in front with <pad> (id 0)


def test_binary_to_decimal_out_len_pads_in_front() -> None:
    ds = load_dataset("binary_to_decimal", {"bits": 8, "out_len": 5})
    assert tuple(ds.data.target.shape) == (256, 5)
    assert _decode(ds.data.target[255], ds.vocab) == "255"
    assert ds.data.target[255, :2].tolist() == [0, 0]


def test_binary_to_decimal_teacher_forcing_shifts_target() -> None:
    ds = load_dataset("binary_to_decimal", {"bits": 8, "teacher_forcing": True})
    _src, tgt_in = ds.data.inputs
    assert len(ds.input_specs) == 2
    assert torch.all(tgt_in[:, 0] == 1)
    assert torch.equal(tgt_in[:, 1:], ds.data.target[:, :-1])


@pytest.mark.parametrize("mode", ["copy", "reverse"])
def test_copy_and_reverse(mode: str) -> None:
    ds = load_dataset(mode, {"seq_len": 5, "n_samples": 50})
    src, tgt_in = ds.data.inputs
    expected = src if mode == "copy" else src.flip(1)
    assert torch.equal(ds.data.target, expected)
    assert torch.all(tgt_in[:, 0] == 1) and torch.equal(tgt_in[:, 1:], expected[:, :-1])
    assert int(src.min()) >= 2 and ds.vocab_size == 12


def test_sine_windows_are_consecutive_and_split_keeps_time_order() -> None:
    ds = load_dataset("sine", {"window": 10, "n_points": 200})
    x, y = ds.data.inputs[0], ds.data.target
    assert tuple(x.shape[1:]) == (10, 1)
    assert torch.equal(x[1:, -1, 0], y[:-1, 0])  # the next window ends with this target
    train, val = ds.split(0.25, seed=3)
    assert val is not None and torch.equal(val.target, y[len(train) :])


def test_sentiment_label_follows_last_clause() -> None:
    ds = load_dataset("sentiment", {"n_samples": 200})
    positive = {
        "good",
        "great",
        "excellent",
        "wonderful",
        "fun",
        "lovely",
        "brilliant",
        "enjoyable",
    }
    for ids, label in zip(ds.data.inputs[0][:50], ds.data.target[:50], strict=True):
        words = [ds.vocab[int(i)] for i in ids if int(i) != 0]
        assert (words[-1] in positive) == bool(label)


def test_skipgram_pairs_are_neighbours() -> None:
    ds = load_dataset("skipgram", {"window": 1})
    centers, contexts = ds.data.inputs[0], ds.data.target
    assert ds.input_specs[0].shape == (1,) and len(centers) == len(contexts) > 100
    assert ds.vocab[int(centers[0, 0])] == "the" and ds.vocab[int(contexts[0])] == "cat"


def test_split_is_reproducible_and_disjoint() -> None:
    ds = load_dataset("iris")
    a_train, a_val = ds.split(0.2, seed=1)
    _b_train, b_val = ds.split(0.2, seed=1)
    _, c_val = ds.split(0.2, seed=2)
    assert a_val is not None and b_val is not None and c_val is not None
    assert torch.equal(a_val.inputs[0], b_val.inputs[0])
    assert not torch.equal(a_val.inputs[0], c_val.inputs[0])
    assert len(a_train) + len(a_val) == 150 and len(a_val) == 30


def test_mismatch_message_names_shapes_and_fix() -> None:
    problems = check_inputs(load_dataset("digits"), [(("N", 1, 28, 28), "float32")], ["Input"])
    assert problems == [
        "digits gives (N, 1, 8, 8) but Input expects (N, 1, 28, 28): turn on resize to 28x28"
    ]
    flat = check_inputs(load_dataset("digits"), [(("N", 64), "float32")], ["image"])
    assert "turn on flatten" in flat[0]
    assert check_inputs(load_dataset("digits", {"flatten": True}), [(("N", 64), "float32")]) == []


def test_mismatch_of_dtype_and_symbols() -> None:
    ds = load_dataset("reverse", {"seq_len": 6, "n_samples": 10})
    assert check_inputs(ds, [(("N", "S"), "int64"), (("N", "T"), "int64")]) == []
    assert check_inputs(ds, [(("N", "T"), "int64"), (("N", "T"), "int64")]) == []
    wrong = check_inputs(ds, [(("N", "T"), "float32"), (("N", "T"), "int64")], ["src", "tgt"])
    assert "src expects float32" in wrong[0] and "int64" in wrong[0]
    missing = check_inputs(ds, [(("N", "T"), "int64")])
    assert "2 input(s)" in missing[0] and "1 Input node" in missing[0]


def test_unknown_name_lists_builtins() -> None:
    with pytest.raises(DatasetError, match="built-in ones are digits"):
        load_dataset("digitz")


# -- files --------------------------------------------------------------------------------------


def test_csv_numeric_and_categorical(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("age,city,height,label\n30,paris,1.8,a\n40,rome,1.6,b\n50,paris,1.7,a\n")
    ds = load_dataset(path, {"target_column": "label"})
    x = ds.data.inputs[0]
    assert ds.options["feature_names"] == ["age", "city=paris", "city=rome", "height"]
    assert tuple(x.shape) == (3, 4)
    assert x[:, 1].tolist() == [1.0, 0.0, 1.0]
    assert ds.data.target.tolist() == [0, 1, 0] and ds.class_names == ["a", "b"]


def test_csv_regression_target(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("x,y\n" + "".join(f"{i},{i * 0.5}\n" for i in range(30)))
    ds = load_dataset(path)
    assert ds.task == "regression" and ds.loss == "mse"
    assert tuple(ds.data.target.shape) == (30, 1)


def test_csv_errors_name_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("a,b,label\n1,2,x\n3,,y\n")
    with pytest.raises(DatasetError, match=r"bad\.csv, line 3, column 'b': empty value"):
        load_dataset(path)
    path.write_text("a,b,label\n1,2,x\n3,4\n")
    with pytest.raises(DatasetError, match=r"bad\.csv, line 3: 2 values but the header has 3"):
        load_dataset(path)
    with pytest.raises(DatasetError, match="no column 'nope'"):
        path.write_text("a,label\n1,x\n")
        load_dataset(path, {"target_column": "nope"})
    with pytest.raises(DatasetError, match=r"missing\.csv: no such file"):
        load_dataset(tmp_path / "missing.csv")


def test_text_csv_vocabulary(tmp_path: Path) -> None:
    path = tmp_path / "reviews.csv"
    path.write_text('text,label\n"Great film, great fun",pos\nawful film,neg\n')
    ds = load_dataset(path, {"seq_len": 5})
    tokens = ds.data.inputs[0]
    assert tuple(tokens.shape) == (2, 5) and ds.class_names == ["neg", "pos"]
    assert [ds.vocab[int(i)] for i in tokens[0]] == ["great", "film", ",", "great", "fun"]
    assert tokens[1, 2:].tolist() == [0, 0, 0]


def test_numpy_files(tmp_path: Path) -> None:
    x = np.random.default_rng(0).normal(size=(20, 3)).astype(np.float32)
    y = np.arange(20) % 4
    np.savez(tmp_path / "d.npz", x=x, y=y)
    ds = load_dataset(tmp_path / "d.npz")
    assert ds.num_classes == 4 and torch.allclose(ds.data.inputs[0], torch.from_numpy(x))
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", x[:, 0])
    reg = load_dataset(tmp_path / "x.npy", {"targets": str(tmp_path / "y.npy")})
    assert reg.task == "regression"
    with pytest.raises(DatasetError, match="set the option targets"):
        load_dataset(tmp_path / "x.npy")
    np.savez(tmp_path / "odd.npz", a=x)
    with pytest.raises(DatasetError, match=r"odd\.npz: needs an input array named x"):
        load_dataset(tmp_path / "odd.npz")


def write_idx(path: Path, array: np.ndarray, compress: bool) -> None:
    """An IDX file of unsigned bytes, as MNIST ships them."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim)
    header += b"".join(struct.pack(">I", d) for d in array.shape)
    raw = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(raw) if compress else raw)


def make_mnist_folder(folder: Path, count: int = 12, compress: bool = True) -> None:
    """Four canonical MNIST files with random content."""
    rng = np.random.default_rng(0)
    suffix = ".gz" if compress else ""
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", count), ("t10k", count // 2)):
        write_idx(
            folder / f"{prefix}-images-idx3-ubyte{suffix}",
            rng.integers(0, 256, (n, 28, 28)),
            compress,
        )
        write_idx(
            folder / f"{prefix}-labels-idx1-ubyte{suffix}", rng.integers(0, 10, (n,)), compress
        )


@pytest.mark.parametrize("compress", [True, False])
def test_idx_folder(tmp_path: Path, compress: bool) -> None:
    make_mnist_folder(tmp_path / "fashion", compress=compress)
    ds = load_dataset(tmp_path / "fashion")
    assert ds.input_specs[0].shape == (1, 28, 28) and len(ds) == 12
    assert ds.test is not None and len(ds.test) == 6
    assert ds.class_names[0] == "T-shirt/top"  # "fashion" in the folder name


def test_idx_damaged_file_is_named(tmp_path: Path) -> None:
    make_mnist_folder(tmp_path, compress=False)
    images = tmp_path / "train-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:-10])
    with pytest.raises(DatasetError, match="train-images-idx3-ubyte: header says"):
        load_dataset(tmp_path)
    images.write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(DatasetError, match="bad magic number"):
        load_dataset(images)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 5), min_size=1, max_size=3), st.booleans())
def test_idx_round_trip(shape: list[int], compress: bool) -> None:
    import tempfile

    array = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape) % 256
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("a.gz" if compress else "a")
        write_idx(path, array, compress)
        assert np.array_equal(read_idx(path), array)


def test_image_folder(tmp_path: Path) -> None:
    from PIL import Image

    for cls, value in (("cats", 30), ("dogs", 200)):
        (tmp_path / cls).mkdir()
        for i in range(3):
            Image.new("L", (10, 12), value + i).save(tmp_path / cls / f"{i}.png")
    ds = load_dataset(tmp_path, {"size": 8})
    assert ds.class_names == ["cats", "dogs"] and ds.input_specs[0].shape == (1, 8, 8)
    assert ds.data.target.tolist() == [0, 0, 0, 1, 1, 1]
    assert float(ds.data.inputs[0][3].mean()) == pytest.approx(200 / 255, abs=1e-3)
    (tmp_path / "dogs" / "broken.png").write_bytes(b"not an image")
    with pytest.raises(DatasetError, match=r"broken\.png: not a readable image"):
        load_dataset(tmp_path)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.lists(
            st.sampled_from(["1", "2.5", "", "x", "y", "-3", "nan", '"a,b"', "é"]), max_size=4
        ),
        max_size=6,
    ),
    st.sampled_from([None, 0, -1, "a", "missing"]),
)
def test_any_csv_loads_or_fails_with_a_dataset_error(rows: list[list[str]], target: object) -> None:
    """Malformed tables never escape as anything but a DatasetError, and never load NaNs."""
    import tempfile

    text = "\n".join(",".join(row) for row in [["a", "b", "label"], *rows])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.csv"
        path.write_text(text, encoding="utf-8")
        try:
            ds = load_dataset(path, {"target_column": target})
        except DatasetError as exc:
            assert "fuzz.csv" in str(exc) or "target_column" in str(exc) or "column" in str(exc)
        else:
            assert len(ds) == len(ds.data.inputs[0]) > 0
            assert torch.isfinite(ds.data.inputs[0]).all()


def test_target_checks_name_the_loss_and_class_count() -> None:
    from dlstudio.train import check_target, target_warnings

    digits = load_dataset("digits")
    assert check_target(digits, "cross_entropy", (("N", 10), "float32")) == []
    assert check_target(digits, "cross_entropy", (("N", 5), "float32")) == [
        "the model outputs 5 scores per prediction but digits has 10 classes, so classes "
        "5..9 could never be predicted: set the last layer's output size to 10"
    ]
    # More scores than classes trains (as in PyTorch and Keras), with a warning.
    assert check_target(digits, "nll", (("N", 24), "float32")) == []
    [warning] = target_warnings(digits, "cross_entropy", (("N", 24), "float32"))
    assert "24 scores per prediction but digits has 10 classes" in warning
    assert target_warnings(digits, "cross_entropy", (("N", 10), "float32")) == []
    assert "set loss to cross_entropy" in check_target(digits, "mse")[0]
    assert "set loss to mse" in check_target(load_dataset("sine"), "cross_entropy")[0]
    reverse = load_dataset("reverse", {"n_samples": 4})
    assert check_target(reverse, "cross_entropy", (("N", "T", 12), "float32")) == []


def test_lesson_data_sets_tagging_and_first_token() -> None:
    from dlstudio.train import check_target

    tags = load_dataset("tagging", {"n_samples": 50})
    tokens, target = tags.data.inputs[0], tags.data.target
    assert tokens.shape == target.shape == (50, 12)
    # Padding positions are ignored by the loss; every real word has one of the tags.
    assert torch.equal(target == -100, tokens == 0)
    assert set(target[target != -100].tolist()) <= set(range(6))
    the = tags.vocab.index("the")
    assert (target[tokens == the] == 0).all()  # "the" is always a determiner
    assert check_target(tags, "cross_entropy", (("N", "T", 6), "float32")) == []
    assert "6 classes" in check_target(tags, "cross_entropy", (("N", "T", 4), "float32"))[0]

    first = load_dataset("first_token", {"n_samples": 100, "seq_len": 30, "classes": 3})
    x, y = first.data.inputs[0], first.data.target
    assert x.shape == (100, 30) and set(y.tolist()) == {0, 1, 2}
    assert torch.equal(x[:, 0], y + 1)  # the label is the first token
    assert (x[:, 1:15] > 3).all() and (x[:, 15:] >= 0).all()  # fillers, then maybe padding
    assert (x[:, -1] == 0).any() and (x[:, -1] > 3).any()  # lengths vary

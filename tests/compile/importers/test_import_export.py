"""Capture with torch.export: small models of each family import and are proved against their
source (two batch sizes, two lengths), and what cannot be imported says why."""

from __future__ import annotations

import json
import re

import pytest
import torch
from torch import nn

from dlstudio.cli import main
from dlstudio.compile.importers import InputSpec, compile_import, import_module
from dlstudio.compile.importers.verify_torch import verify_import


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _exact(model: nn.Module, specs: list[InputSpec]):
    torch.manual_seed(0)
    result = import_module(model.eval(), specs)
    assert result.ok, result.report_lines()
    check = verify_import(model, result, specs)
    assert check.ok, check.lines()
    return result, check


class _SqueezeExcite(nn.Module):
    """mobilenet_v3's gate: a (N, C, 1, 1) scale times the (N, C, H, W) features."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.fc1 = nn.Conv2d(8, 2, 1)
        self.fc2 = nn.Conv2d(2, 8, 1)
        self.head = nn.Linear(8, 4)

    def forward(self, x):
        x = self.conv(x)
        scale = torch.sigmoid(self.fc2(torch.relu(self.fc1(x.mean((2, 3), keepdim=True)))))
        return self.head((x * scale).mean((2, 3)))


def test_squeeze_and_excitation_broadcasts() -> None:
    torch.manual_seed(0)
    _exact(_SqueezeExcite(), [InputSpec((3, 8, 8))])


class _Hyphens(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.trunk = nn.Sequential()
        for i in range(2):
            block = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.BatchNorm2d(4))
            self.trunk.add_module(f"block1-{i}", block)
        self.head = nn.Linear(4, 3)

    def forward(self, x):
        return self.head(self.trunk(x).mean((2, 3)))


class _NumberedBesideCalls(nn.Module):
    """vgg's features: numbered layers whose ReLUs the project writes as function calls."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3), nn.ReLU()
        )
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        return self.head(self.features(x).mean((2, 3)))


@pytest.mark.parametrize(
    ("model", "shape", "registered"),
    [
        (_Hyphens, (4, 6, 6), "block1-0"),  # regnet's trunk_output.block1.block1-0
        (_NumberedBesideCalls, (3, 6, 6), "0"),  # vgg's features.0
    ],
)
def test_module_names_that_are_not_identifiers_keep_the_sources_keys(
    model, shape, registered
) -> None:
    torch.manual_seed(0)
    source = model()
    result, _ = _exact(source, [InputSpec(shape)])
    assert result.renamed == {}
    compiled = compile_import(result)
    assert list(compiled.module.state_dict()) == list(source.state_dict())
    assert f'self.add_module("{registered}", ' in compiled.source
    # the generated code imports back with the same keys
    again = import_module(compiled.module.eval(), [InputSpec(shape)])
    assert list(compile_import(again).module.state_dict()) == list(source.state_dict())


def test_a_sequential_model_with_function_calls_keeps_its_numbered_keys() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 4, 3))
    result, _ = _exact(model, [InputSpec((3, 8, 8))])
    assert list(compile_import(result).module.state_dict()) == list(model.state_dict())


def test_nn_transformer_imports_exactly() -> None:
    torch.manual_seed(0)
    model = nn.Transformer(16, 2, 1, 1, 32, dropout=0.0, batch_first=True)
    specs = [InputSpec(("S", 16), seq_len=6), InputSpec(("T", 16), seq_len=5)]
    result, check = _exact(model, specs)
    assert check.sets == ["batch 1, length 5", "batch 3, length 3"]
    # The decoder layers take the memory too, so they are not an nn.Sequential chain: they
    # become an nn.ModuleList with a forward(), and every key is torch's.
    assert result.renamed == {}
    compiled = compile_import(result)
    assert "(nn.ModuleList):" in compiled.source
    assert set(compiled.module.state_dict()) == set(model.state_dict())


class _EncoderDecoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.src_embed = nn.Embedding(12, 8)
        self.tgt_embed = nn.Embedding(12, 8)
        self.encoder = nn.LSTM(8, 16, batch_first=True)
        self.decoder = nn.LSTM(8, 16, batch_first=True)
        self.head = nn.Linear(16, 12)

    def forward(self, src, tgt):
        _, (h, c) = self.encoder(self.src_embed(src))
        out, _ = self.decoder(self.tgt_embed(tgt), (h, c))
        return self.head(out)


def test_lstm_decoder_starts_from_the_encoders_state_and_cell() -> None:
    torch.manual_seed(0)
    specs = [InputSpec(("S",), "int64", 7, 12), InputSpec(("T",), "int64", 5, 12)]
    result, _ = _exact(_EncoderDecoder(), specs)
    graph = result.graph
    decoder = next(n for n in graph if n.name == "decoder")
    wired = {e.dst.port: e.src.port for e in graph.edges_into(decoder.id)}
    assert wired == {"in": "out", "h0": "state", "c0": "cell"}


def test_transformer_encoder_stack_is_traced_through_not_a_placeholder() -> None:
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, batch_first=True)
    model = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
    result, _ = _exact(model, [InputSpec(("T", 16), seq_len=6)])
    assert set(compile_import(result).module.state_dict()) == set(model.state_dict())


def _save_bert(folder) -> None:
    from dlstudio.compile.importers.loader import prepare_torchvision

    prepare_torchvision()
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    config = transformers.BertConfig(
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        vocab_size=30,
        max_position_embeddings=32,
    )
    transformers.BertForSequenceClassification(config).save_pretrained(str(folder))
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world"]))
    transformers.BertTokenizer(str(vocab)).save_pretrained(str(folder))
    vocab.unlink()


def test_hugging_face_folder_writes_weights_under_its_keys_and_the_tokenizer(
    tmp_path, capsys
) -> None:
    folder = tmp_path / "bert"
    _save_bert(folder)
    out = tmp_path / "project" / "bert.json"
    code = main(["import", f"hf:{folder}", "--task", "sequence-classification", "--out", str(out)])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    metadata = json.loads(out.read_text())["metadata"]
    assert metadata["tokenizer"] == "bert.tokenizer"
    copied = out.parent / "bert.tokenizer"
    assert (copied / "tokenizer_config.json").is_file()
    from safetensors.torch import load_file
    from transformers import AutoTokenizer

    assert AutoTokenizer.from_pretrained(str(copied))("hello world")["input_ids"][1:3] == [5, 6]
    saved = load_file(str(out.with_suffix(".safetensors")))
    source = load_file(str(folder / "model.safetensors"))
    assert torch.equal(
        saved["bert.embeddings.word_embeddings.weight"],
        source["bert.embeddings.word_embeddings.weight"],
    )
    assert torch.equal(saved["classifier.weight"], source["classifier.weight"])
    # Hugging Face's own key, "self" included (a submodule may be called self).
    key = "bert.encoder.layer.0.attention.self.query.weight"
    assert torch.equal(saved[key], source[key])
    assert code == 0, captured.err
    assert metadata["import_check"]["ok"] is True
    assert metadata["import_check"]["inputs"] == ["batch 1, length 16", "batch 3, length 9"]
    assert "output: matches" in captured.out


def test_gpt2_with_its_fused_projection_and_causal_mask_imports_exactly() -> None:
    from dlstudio.compile.importers.loader import prepare_torchvision

    prepare_torchvision()
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    config = transformers.GPT2Config(
        n_embd=16, n_layer=1, n_head=2, vocab_size=40, n_positions=32, use_cache=False
    )
    model = transformers.GPT2LMHeadModel(config)
    specs = [InputSpec(("T",), "int64", 12, 40)]
    result, _ = _exact(model, specs)
    types = {n.type_id for d in result.graph.blocks.values() for n in d.graph}
    assert {"gpt2_conv1d", "split", "scaled_dot_product_attention"} <= types
    # Every key is transformers', the position table (wpe) included, at its full size.
    compiled = compile_import(result).module
    state = compiled.state_dict()
    assert set(state) == set(model.state_dict())
    assert state["transformer.wpe.weight"].shape == (32, 16)
    # lm_head and wte stay one parameter, as in transformers.
    head = next(n for n in result.graph if n.name == "lm_head")
    assert head.params["tie_weight"] == "transformer.wte"
    assert compiled.lm_head.weight is compiled.transformer.wte.weight
    count = sum(p.numel() for p in compiled.parameters())
    assert count == sum(p.numel() for p in model.parameters())


def test_the_values_line_counts_a_tied_weight_once(tmp_path, capsys) -> None:
    """GPT-2's lm_head is its token table: `import` says as many values as transformers'
    parameters() and persistent buffers hold, not the table twice."""
    from dlstudio.compile.importers.loader import prepare_torchvision

    prepare_torchvision()
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    config = transformers.GPT2Config(
        n_embd=16, n_layer=1, n_head=2, vocab_size=40, n_positions=32, use_cache=False
    )
    model = transformers.GPT2LMHeadModel(config)
    model.save_pretrained(str(tmp_path / "gpt2"))
    args = ["import", f"hf:{tmp_path / 'gpt2'}", "--task", "causal-lm"]
    assert main([*args, "--out", str(tmp_path / "gpt2.json")]) == 0
    said = re.search(r"([\d,]+) values ->", capsys.readouterr().out)
    assert said is not None
    buffers = set(model.state_dict()) - {
        n for n, _ in model.named_parameters(remove_duplicate=False)
    }
    expected = sum(p.numel() for p in model.parameters())
    expected += sum(model.state_dict()[n].numel() for n in buffers)
    assert int(said.group(1).replace(",", "")) == expected


def test_hugging_face_errors_are_reasons(tmp_path, capsys) -> None:
    assert main(["import", f"hf:{tmp_path / 'missing'}", "--out", str(tmp_path / "a.json")]) == 2
    err = capsys.readouterr().err
    assert "missing does not exist" in err and "Traceback" not in err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["import", f"hf:{empty}", "--out", str(tmp_path / "b.json")]) == 2
    err = capsys.readouterr().err
    assert "has no config.json" in err and "Traceback" not in err
    assert not (tmp_path / "b.json").exists()


class _AuxHead(nn.Module):
    """inception_v3's shape: an auxiliary head used only in training."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Linear(6, 4)
        self.aux = nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 2))
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        x = self.body(x)
        if self.training:
            return self.fc(x), self.aux(x)
        return self.fc(x)


def test_modules_not_called_in_eval_are_named(tmp_path, capsys) -> None:
    path = tmp_path / "aux.py"
    path.write_text(
        "import torch\nfrom torch import nn\n\n\n" + _source_of(_AuxHead) + "\n\ndef make():\n"
        "    return AuxHead()\n"
    )
    out = tmp_path / "aux.json"
    assert main(["import", f"{path}:make", "--input-shape", "6", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "note: aux (58 values) is not part of the project: it is not called in eval" in printed


def _source_of(cls) -> str:
    import inspect
    import textwrap

    return textwrap.dedent(inspect.getsource(cls)).replace("class _AuxHead", "class AuxHead")

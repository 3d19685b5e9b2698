"""The long-range lesson: on first_token an LSTM learns to carry the first token to the end of
the sequence and a simple RNN does not (benchmarks/bench_long_range.py, at smaller sizes)."""

from __future__ import annotations

import importlib.util

import pytest
import torch
from repo_paths import REPO_ROOT


def _benchmark():
    spec = importlib.util.spec_from_file_location(
        "bench_long_range", REPO_ROOT / "benchmarks" / "bench_long_range.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_lstm_beats_rnn_on_the_first_token() -> None:
    torch.set_num_threads(1)
    bench = _benchmark()
    # Half the data and epochs of the benchmark: the same lesson, a quarter of the time.
    rnn = bench.accuracy("rnn", seq_len=40, epochs=4, n_samples=4000)[0]
    lstm = bench.accuracy("lstm", seq_len=40, epochs=4, n_samples=4000)[0]
    assert lstm > 0.9, (rnn, lstm)
    assert rnn < 0.65, (rnn, lstm)  # chance is 0.5: it has not learnt to reach that far back
    assert lstm - rnn > 0.3


def test_the_benchmark_drawing_uses_the_padding_mask() -> None:
    from dlstudio.compile.codegen import generate_source

    source = generate_source(_benchmark().recurrent_classifier("lstm", 40, 11))
    assert "tokens_mask = tokens != 0" in source
    assert "self.lstm(x, mask=tokens_mask)" in source
    assert "forget_bias=1.0" in source

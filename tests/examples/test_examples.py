"""Run every worked example in small mode and check what it prints.

Each example prints shapes and numbers it computed; these tests read them back
and check them against closed forms (parameter counts, window counts, Conv1D
output lengths), against each other (the model beats its baseline where the
example says so) and against tolerances (streamed or chunked runs equal one
full run).
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch

import timesteps as ts

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """The examples' models are tiny: on a shared two-core machine a second
    intra-op thread mostly waits for a core (measured: a SimpleRNN(10) epoch
    runs several times faster with one thread there). Restored afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def load(name: str) -> ModuleType:
    path = EXAMPLES / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"example_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(name: str, capsys: pytest.CaptureFixture[str], **kwargs: object) -> str:
    load(name).main(small=True, **kwargs)
    return capsys.readouterr().out


def floats(pattern: str, text: str) -> list[tuple[float, ...]]:
    """Every match of ``pattern`` in ``text``, its groups as floats."""
    found = re.findall(pattern, text)
    assert found, f"{pattern!r} not found in:\n{text}"
    return [
        tuple(float(g) for g in (m if isinstance(m, tuple) else (m,))) for m in found
    ]


def test_every_example_has_a_main_and_a_docs_page() -> None:
    scripts = sorted(EXAMPLES.glob("[0-9][0-9]_*.py"))
    assert [p.stem[:2] for p in scripts] == ["01", "02", "03", "04", "05", "06"]
    docs = EXAMPLES.parent / "docs" / "examples"
    for script in scripts:
        assert callable(load(script.stem).main)
        page = (docs / f"{script.stem}.md").read_text(encoding="utf-8")
        assert f'--8<-- "examples/{script.name}"' in page


def test_01_longitudinal_outcome(capsys: pytest.CaptureFixture[str]) -> None:
    out = run("01_longitudinal_outcome", capsys)

    assert "as model input (B=4000, T=3, F=1)" in out
    assert "received 2 axes (B=4000, T=3)" in out  # the bare table is refused
    assert "(B=4000, T=3, F=1) -> SimpleRNN(10) -> (B=4000, H=10)" in out
    assert "return_sequences=True keeps every visit: (B=4000, T=3, H=10)" in out
    H, F = 10, 1
    torch_params, keras_params = H * (F + H) + 2 * H, H * (F + H) + H
    for T in (3, 12):  # the same count whatever T is
        assert (
            f"T={T:<2}: SimpleRNN(10) has {torch_params} parameters "
            f"(10 x (1 + 10) + 2 x 10); Keras counts {keras_params}"
        ) in out

    results = floats(r"model ([\d.]+), majority class ([\d.]+)", out)
    assert len(results) == 2  # the wide table, then the long one
    for model, majority in results:
        assert model > majority + 0.05
    assert results[0][1] == pytest.approx(0.63, abs=0.03)

    table = ts.datasets.bone_size_long(n_patients=1000)
    lengths = table.groupby("patient_id").size()
    assert (
        f"from_long: B=1000 series, T_i from {lengths.min()} to {lengths.max()}, F=6"
    ) in out


def _crossing_windows(lengths: np.ndarray, L: int) -> int:
    """Windows of L steps over the joined series that hold a boundary."""
    N = int(lengths.sum())
    boundaries = np.cumsum(lengths)[:-1]
    starts = np.arange(N - L + 1)
    holds = (boundaries[None, :] > starts[:, None]) & (
        boundaries[None, :] <= starts[:, None] + L - 1
    )
    return int(holds.any(axis=1).sum())


def test_02_many_recordings(capsys: pytest.CaptureFixture[str]) -> None:
    out = run("02_many_recordings", capsys)

    table = ts.datasets.sensor_recordings(n_series=120, min_length=20, max_length=300)
    lengths = table.groupby("recording", sort=False).size().to_numpy()
    N, L = int(lengths.sum()), 50
    assert (
        f"one series of T={N}; windows of L={L}: {N - L + 1}, of which "
        f"{_crossing_windows(lengths, L)} cross into the next recording"
    ) in out

    shares = dict(
        (name.strip(), share)
        for name, share in re.findall(
            r"   (\D+?)\s+\d+ batches, padding\s+([\d.]+)%", out
        )
    )
    assert float(shares["length buckets + true lengths"]) < 20.0
    assert float(shares["padded to the longest"]) > 40.0
    assert float(shares["one recording at a time"]) == 0.0
    assert "120 batches, padding   0.0%" in out  # one batch per recording
    assert re.search(r"buckets are [\d.]+x faster than padding to the longest", out)

    for t_in, t_out in floats(r"\(B=4, T=(\d+), F=3\) -> \(B=4, T=(\d+), F=16\)", out):
        assert t_out == (t_in - 4) // 4 + 1  # kernel 4, stride 4, 'valid'
    (diff,) = floats(r"chunk by chunk vs one full run: max abs diff ([\d.e+-]+)", out)
    assert diff[0] < 1e-5


def test_03_next20_from_last20(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = run("03_next20_from_last20", capsys, out_dir=tmp_path)

    H, F, h = 300, 1, 20
    torch_lstm, keras_lstm = 4 * (H * (F + H) + 2 * H), 4 * (H * (F + H) + H)
    dense = H * h + h
    assert (torch_lstm, keras_lstm) == (363_600, 362_400)
    assert "(B=2, T=20, F=1) -> (B=2, H=300)  363,600" in out
    assert f"{keras_lstm:,}" in out
    assert f"{torch_lstm + dense:,}" in out and f"{keras_lstm + dense:,}" in out

    svg = tmp_path / "lstm300_dense20.svg"
    assert svg.read_text(encoding="utf-8").lstrip().startswith(("<svg", "<?xml"))
    assert f"lstm300_dense20.svg ({svg.stat().st_size:,} bytes)" in out

    (leak,) = floats(r"split of them leaks: (\d+)% of the test target", out)
    assert leak[0] > 90
    rows = (
        r"^   (direct|recursive|seq2seq|naive \(last value\)|seasonal naive \(24 h\))"
    )
    mae = {
        name: float(value)
        for name, value in re.findall(rows + r"\s+([\d.]+)\s+[\d.]+$", out, re.M)
    }
    assert set(mae) >= {"direct", "recursive", "seq2seq", "naive (last value)"}
    assert mae["direct"] < mae["naive (last value)"]


def test_04_understanding_shapes(capsys: pytest.CaptureFixture[str]) -> None:
    out = run("04_understanding_shapes", capsys)

    assert "LSTM(16)         (B=4, H=16)" in out
    assert "(B=4, T=18, F=2) -> (B=4, H=16): H=16 does not depend on T" in out
    assert "TimeDistributed(Dense(3)) (B=4, T=6, K=3)" in out
    assert "steps past each end are zero: True" in out
    assert re.search(r"RepeatVector\(5\)\s+\(B=4, T=5, H=16\)", out)
    assert re.search(r"TimeDistributed\(Dense\(1\)\)\s+\(B=4, T=5, K=1\)", out)
    (diff,) = floats(r"step by step vs one full run: max abs diff ([\d.e+-]+)", out)
    assert diff[0] < 1e-5

    lengths, span = [12, 9, 15], 5 + 2  # L + h
    crossing = (len(lengths) - 1) * (span - 1)  # each boundary, L + h - 1 windows
    assert f"{crossing} of them cross from one series into the next" in out
    inside = sum(n - span + 1 for n in lengths)
    assert f"{inside} windows = sum(T_i - L - h + 1) = {inside}" in out
    assert "every window inside its own series: True" in out
    assert "as model input: (B=40, T=5, F=2)" in out
    assert "one number per tank (B=40, K=1)" in out


def test_05_stateful_streaming(capsys: pytest.CaptureFixture[str]) -> None:
    out = run("05_stateful_streaming", capsys)

    diffs = floats(r"vs (?:one )?full run: max abs diff ([\d.e+-]+)", out)
    assert len(diffs) == 2  # streamed out of order; generated step by step
    assert all(d < 1e-5 for (d,) in diffs)
    results = floats(r"model ([\d.]+), last value repeated ([\d.]+)", out)
    assert len(results) == 2  # by hand with stream(); with Generator.generate
    for model, naive in results:
        assert model < 0.8 * naive
    assert "(B=16, h=20, F=1)" in out
    assert "a table of 320 rows (id, step, f0)" in out  # 16 series x 20 steps


def test_06_autoencoder(capsys: pytest.CaptureFixture[str]) -> None:
    out = run("06_autoencoder", capsys)

    assert "(B=120, T=24, F=2) -> (B=120, H=32)" in out
    assert "(B=120, T=24, F=2) -> (B=120, T=24, F=2)" in out
    (naive,), (model,) = floats(r": AUC ([\d.]+)", out)
    assert model > 0.9 and model > naive
    ranks = re.findall(r"(spike|stuck|faster)\s+anomalies rank \[([\d, ]+)\]", out)
    autoencoder_ranks = [int(r) for _, found in ranks[3:] for r in found.split(",")]
    assert len(autoencoder_ranks) == 12 and max(autoencoder_ranks) <= 24

"""describe(): exact numbers on a handmade SequenceSet."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from timesteps.data.batches import Batches
from timesteps.data.sequence_set import SequenceSet
from timesteps.data.views import InputView
from timesteps.explain import describe

LENGTHS = [2, 3, 3, 5, 8]  # N = 21 real steps


def _data(**fields: object) -> SequenceSet:
    offsets = np.concatenate([[0], np.cumsum(LENGTHS)])
    values = np.arange(21 * 2, dtype=np.float32).reshape(21, 2)
    observed = np.ones((21, 2), dtype=bool)
    observed[[0, 1, 2], 1] = False  # three missing values of f1
    values[~observed] = np.nan
    times = np.concatenate([np.arange(n) * 2 for n in LENGTHS])
    options: dict[str, object] = {
        "observed": observed,
        "times": times,
        "feature_names": ["pressure", "temp"],
        "target": np.array([0, 1, 1, 0, 1]),
    }
    options.update(fields)
    return SequenceSet(values, offsets, **options)  # type: ignore[arg-type]


def _random_padding(lengths: list[int], batch_size: int) -> float:
    """Padding share averaged over every order of the series (brute force)."""
    processed = []
    for order in itertools.permutations(lengths):
        chunks = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
        processed.append(sum(max(c) * len(c) for c in chunks))
    return 1 - sum(lengths) / float(np.mean(processed))


def test_sizes_and_length_stats() -> None:
    summary = describe(_data(), batch_size=2)
    assert summary.shape == "B=5 series, T=2..8 timesteps, F=2 features"
    assert (summary.n_series, summary.n_features, summary.n_steps) == (5, 2, 21)
    stats = summary.lengths
    assert (stats.min, stats.median, stats.mean, stats.max) == (2, 3.0, 4.2, 8)
    assert stats.bin_edges == [2, 3, 4, 5, 6, 7, 8, 9]
    assert stats.counts == [1, 2, 0, 1, 0, 0, 1]


def test_histogram_bins_cover_long_ranges() -> None:
    lengths = [10, 15, 29, 30, 55]
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    summary = describe(SequenceSet(np.zeros((offsets[-1], 1)), offsets))
    # width ceil(46 / 10) = 5: bins 10..14, 15..19, ..., 55..59
    assert summary.lengths.bin_edges == list(range(10, 61, 5))
    assert summary.lengths.counts == [1, 1, 0, 1, 1, 0, 0, 0, 0, 1]
    assert summary.histogram_lines()[0].startswith("T=10..14 ")


def test_missing_share_per_feature() -> None:
    features = describe(_data()).features
    assert [(f.name, f.missing) for f in features] == [("pressure", 0), ("temp", 3)]
    assert features[1].missing_share == pytest.approx(3 / 21)


def test_missing_from_nan_when_no_observed_mask() -> None:
    data = _data(observed=None)
    assert [f.missing for f in describe(data).features] == [0, 3]


def test_irregular_steps_within_a_series() -> None:
    times = np.concatenate([np.arange(n) * 2 for n in LENGTHS])
    times[-1] += 1  # the last series' last step is 3 after the one before
    sampling = describe(_data(times=times)).sampling
    assert (sampling.regular, sampling.irregular_within) == (False, 1)
    regular = describe(_data()).sampling
    assert (regular.regular, regular.step) == (True, "2")


def test_steps_that_differ_between_series() -> None:
    times = np.concatenate(
        [np.arange(n) * (1 if i < 2 else 3) for i, n in enumerate(LENGTHS)]
    )
    sampling = describe(_data(times=times)).sampling
    assert not sampling.regular
    assert (sampling.irregular_within, sampling.steps_between) == (0, ["1", "3"])


def test_datetime_steps() -> None:
    days = np.concatenate([np.arange(n) for n in LENGTHS]).astype("timedelta64[D]")
    times = np.datetime64("2024-01-01") + days
    assert describe(_data(times=times)).sampling.step == "1 days 00:00:00"


def test_targets_classes_and_values() -> None:
    classes = describe(_data()).targets
    assert [(t.kind, t.level, t.classes) for t in classes] == [
        ("classes", "series", {"0": 2, "1": 3})
    ]
    values = describe(_data(target=np.array([1.5, 2.5, 3.5, 4.5, 5.5]))).targets[0]
    assert (values.kind, values.mean) == ("values", 3.5)
    assert values.std == pytest.approx(np.std([1.5, 2.5, 3.5, 4.5, 5.5]))
    step = describe(_data(target=np.arange(21) % 2, target_level="step")).targets[0]
    assert (step.level, step.classes) == ("step", {"0": 11, "1": 10})


def test_padding_random_and_bucketed() -> None:
    padding = describe(_data(), batch_size=2).padding
    assert padding is not None
    assert padding.random == pytest.approx(_random_padding(LENGTHS, 2))
    # buckets (spread 0.1): [2, 3], [3, 5], [8] -> 6 + 10 + 8 = 24 processed steps
    assert padding.bucketed == pytest.approx(1 - 21 / 24)


def test_padding_equals_the_data_layers_batches() -> None:
    rng = np.random.default_rng(0)
    lengths = rng.integers(5, 200, size=120)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    data = SequenceSet(rng.random((offsets[-1], 1)), offsets)
    padding = describe(data, batch_size=16).padding
    assert padding is not None
    plain = Batches(InputView(data), batch_size=16, bucket=False)
    bucketed = Batches(InputView(data), batch_size=16)
    assert padding.random == pytest.approx(plain.padding_share)
    assert padding.bucketed == pytest.approx(bucketed.padding_share)


def test_text_and_dict() -> None:
    summary = describe(_data(), batch_size=2)
    text = str(summary)
    assert "B=5 series, T=2..8 timesteps, F=2 features" in text
    assert "temp: 14.3% missing (3 values)" in text
    assert "T=3 ██████████████████████████████ 2" in text
    data = json.loads(summary.to_json())
    assert data == json.loads(json.dumps(summary.to_dict()))
    assert data["padding"]["batch_size"] == 2
    assert data["shape"] == summary.shape


def test_rich_rendering() -> None:
    from rich.console import Console

    console = Console(width=120, record=True)
    console.print(describe(_data()))
    assert "B=5 series" in console.export_text()


def test_plot_writes_png(tmp_path) -> None:
    path = describe(_data()).plot(tmp_path / "lengths.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_input() -> None:
    with pytest.raises(TypeError, match="describe\\(\\) reads a SequenceSet"):
        describe(np.zeros((3, 2, 1)))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"batch_size .* received 0"):
        describe(_data(), batch_size=0)

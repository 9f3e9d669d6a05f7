"""Forecasting windows: exact (series, start) pairs, never crossing series, an
index whose memory grows with the series, not with the windows."""

from __future__ import annotations

import tracemalloc
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from timesteps.data.batches import Batches
from timesteps.data.sequence_set import SequenceSet
from timesteps.data.windows import Windows


def _handmade() -> SequenceSet:
    # series "a": steps 0..4, "b": 5..6, "c": 7..12; feature 1 is feature 0 x 10
    flat = np.arange(13, dtype=np.float32)
    return SequenceSet(
        np.column_stack([flat, 10 * flat]),
        [0, 5, 7, 13],
        ids=["a", "b", "c"],
        feature_names=["load", "hour"],
    )


def test_windows_cover_exactly_the_expected_pairs() -> None:
    data = _handmade()
    with pytest.warns(UserWarning, match=r"1 of 3 series .* Ids: \['b'\]"):
        w = data.windows(lookback=2, horizon=2)
    np.testing.assert_array_equal(w.series_positions, [0, 0, 2, 2, 2])
    np.testing.assert_array_equal(w.starts, [0, 1, 0, 1, 2])
    assert len(w) == 5
    x, y = w[3]  # series "c", start 1: inputs steps 8, 9, targets 10, 11
    np.testing.assert_array_equal(x, [[8, 80], [9, 90]])
    np.testing.assert_array_equal(y, [[10, 100], [11, 110]])
    assert np.shares_memory(x, data.values)
    x_last, _ = w[-1]
    np.testing.assert_array_equal(x_last[:, 0], [9, 10])


def test_stride_start_and_target_selection() -> None:
    data = _handmade()
    with pytest.warns(UserWarning):
        w = data.windows(lookback=2, horizon=2, stride=2, target="hour")
    np.testing.assert_array_equal(w.series_positions, [0, 2, 2])
    np.testing.assert_array_equal(w.starts, [0, 0, 2])
    np.testing.assert_array_equal(w.target_index, [1])
    assert w.target_names == ["hour"]
    np.testing.assert_array_equal(w[2][1], [[110], [120]])

    with pytest.warns(UserWarning):
        w = data.windows(lookback=2, horizon=1, start=1)
    np.testing.assert_array_equal(w.series_positions, [0, 0, 2, 2, 2])
    np.testing.assert_array_equal(w.starts, [1, 2, 1, 2, 3])


def test_known_future_is_given_over_the_horizon() -> None:
    data = _handmade()
    with pytest.warns(UserWarning):
        w = data.windows(lookback=3, horizon=2, target="load", known_future="hour")
    assert w.known_future_names == ["hour"]
    np.testing.assert_array_equal(w.future(0), [[30], [40]])
    x, y = w[0]
    np.testing.assert_array_equal(y, [[3], [4]])
    assert x.shape == (3, 2)  # (L, F): the known feature's past is an input too


def test_context_steps_are_never_predicted() -> None:
    values = np.arange(10, dtype=np.float32)[:, None]
    data = SequenceSet(values, [0, 10], meta={"context_steps": 4})
    w = data.windows(lookback=2, horizon=3)
    # first target step = start + L >= 4  ->  start >= 2; last start 10 - 5 = 5
    np.testing.assert_array_equal(w.starts, [2, 3, 4, 5])
    assert (w.starts + w.lookback).min() == 4
    # a lookback longer than the context: windows start at 0 and predict step 6+
    w = data.windows(lookback=6, horizon=1)
    np.testing.assert_array_equal(w.starts, [0, 1, 2, 3])


def test_no_window_fits_names_lookback_horizon_and_longest() -> None:
    data = _handmade()
    expected = (
        r"no forecasting window fits in any series: expected a series of at least "
        r"9 steps \(lookback L=5 \+ horizon h=4\), received the longest series has "
        r"6 steps\. Fix: lower lookback or horizon"
    )
    with pytest.raises(ValueError, match=expected):
        data.windows(lookback=5, horizon=4)


def test_many_short_series_are_counted_in_one_warning_with_ten_ids() -> None:
    lengths = np.array([1] * 12 + [10])
    data = SequenceSet(np.zeros((lengths.sum(), 1)), np.r_[0, np.cumsum(lengths)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        w = data.windows(lookback=3, horizon=2)
    assert len(caught) == 1
    message = str(caught[0].message)
    assert message.startswith("12 of 13 series have fewer than 5 timesteps")
    assert "Ids (first 10 shown): [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]" in message
    assert caught[0].filename == __file__  # points at the caller's line
    assert len(w) == 6


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"lookback": 0, "horizon": 1}, ValueError, r"lookback L is out of range"),
        ({"lookback": 2.5, "horizon": 1}, TypeError, r"received float 2\.5"),
        ({"lookback": 2, "horizon": 1, "stride": 0}, ValueError, "stride"),
        ({"lookback": 2, "horizon": 1, "target": "lod"}, ValueError, "'load'"),
        (
            {"lookback": 2, "horizon": 1, "target": "load", "known_future": "load"},
            ValueError,
            r"both a target and known in the future.*\['load'\]",
        ),
    ],
)
def test_bad_arguments(options: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        Windows(_handmade(), **options)


def test_window_number_out_of_range() -> None:
    with pytest.warns(UserWarning):
        w = _handmade().windows(lookback=2, horizon=2)
    with pytest.raises(IndexError, match=r"expected 0 <= i < 5, received 5"):
        w[5]


def test_forecast_inputs_are_the_last_lookback_steps() -> None:
    data = _handmade()
    with pytest.warns(UserWarning, match=r"1 of 3 series .*lookback L=3.* \['b'\]"):
        w = data.forecast_inputs(lookback=3)
    np.testing.assert_array_equal(w.series_positions, [0, 2])
    np.testing.assert_array_equal(w[0][0][:, 0], [2, 3, 4])
    np.testing.assert_array_equal(w[1][0][:, 0], [10, 11, 12])
    batch = next(iter(Batches(w, batch_size=4, shuffle=False)))
    assert batch.y is None
    np.testing.assert_array_equal(batch.x[:, :, 0].numpy(), [[2, 3, 4], [10, 11, 12]])
    with pytest.raises(ValueError, match=r"at least lookback L=7 steps"):
        data.forecast_inputs(lookback=7)


@settings(max_examples=60, deadline=None)
@given(
    lengths=st.lists(st.integers(0, 25), min_size=1, max_size=8),
    lookback=st.integers(1, 6),
    horizon=st.integers(1, 4),
    stride=st.integers(1, 4),
    start=st.integers(0, 3),
)
def test_windows_match_a_brute_force_enumeration(
    lengths: list[int], lookback: int, horizon: int, stride: int, start: int
) -> None:
    offsets = np.r_[0, np.cumsum(lengths)]
    values = np.arange(offsets[-1], dtype=np.float32)[:, None]
    data = SequenceSet(values, offsets)
    expected = [
        (i, s)
        for i, length in enumerate(lengths)
        for s in range(start, length - lookback - horizon + 1, stride)
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if not expected:
            with pytest.raises(ValueError, match="no forecasting window fits"):
                data.windows(lookback, horizon, stride, start=start)
            return
        w = data.windows(lookback, horizon, stride, start=start)
    pairs = list(zip(w.series_positions.tolist(), w.starts.tolist(), strict=True))
    assert pairs == expected
    for k, (i, s) in enumerate(pairs):
        x, y = w[k]
        first = offsets[i] + s
        assert first + lookback + horizon <= offsets[i + 1]  # inside one series
        np.testing.assert_array_equal(x[:, 0], np.arange(first, first + lookback))
        np.testing.assert_array_equal(
            y[:, 0], np.arange(first + lookback, first + lookback + horizon)
        )


def test_index_memory_grows_with_series_not_windows() -> None:
    rng = np.random.default_rng(0)
    lengths = rng.integers(100, 10_001, size=2_000)
    offsets = np.r_[0, np.cumsum(lengths)]
    values = rng.standard_normal((int(offsets[-1]), 1), dtype=np.float32)
    data = SequenceSet(values, offsets)
    budget = 0.25 * data.values.nbytes

    tracemalloc.start()
    w = data.windows(lookback=24, horizon=6)
    batches = Batches(w, batch_size=64, shuffle=False)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    assert len(w) == int((lengths - 29).sum())  # ~10 million windows at stride 1
    assert w.nbytes < budget
    assert peak < budget  # no (n_windows, L, F) array, not even (n_windows,)
    held = [v for v in vars(w).values() if isinstance(v, np.ndarray)]
    assert max(a.size for a in held) <= len(data) + 1
    assert w.data is data

    batch = next(iter(batches))
    assert tuple(batch.x.shape) == (64, 24, 1)
    np.testing.assert_array_equal(batch.x[63].numpy(), w[63][0])
    np.testing.assert_array_equal(batch.y[63].numpy(), w[63][1])

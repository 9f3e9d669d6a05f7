from __future__ import annotations

import numpy as np
import pytest

from timesteps.data.sequence_set import SequenceSet
from timesteps.forecast import drift, estimate_season, naive, seasonal_naive


def test_naive_repeats_the_last_value_of_each_series() -> None:
    np.testing.assert_array_equal(naive(np.array([1.0, 2.0, 7.0]), 3), [7.0] * 3)
    one = np.array([[1.0, 10.0], [2.0, 20.0]])  # (T=2, F=2)
    np.testing.assert_array_equal(naive(one, 2), [[2.0, 20.0], [2.0, 20.0]])
    many = np.arange(12.0).reshape(2, 3, 2)  # (B=2, T=3, F=2)
    expected = np.array([[[4.0, 5.0]] * 2, [[10.0, 11.0]] * 2])
    np.testing.assert_array_equal(naive(many, 2), expected)


def test_ragged_list_and_sequence_set_use_each_series_own_end() -> None:
    series = [np.array([1.0, 2.0, 3.0]), np.array([5.0]), np.array([9.0, 8.0])]
    np.testing.assert_array_equal(naive(series, 2), [[3, 3], [5, 5], [8, 8]])
    data = SequenceSet(np.array([1, 2, 3, 5, 9, 8.0])[:, None], np.array([0, 3, 4, 6]))
    assert naive(data, 2).shape == (3, 2, 1)  # (B, h, F)
    np.testing.assert_array_equal(naive(data, 2)[:, :, 0], [[3, 3], [5, 5], [8, 8]])


def test_seasonal_naive_is_exact_on_a_periodic_series() -> None:
    period = np.array([3.0, -1.0, 4.0, 1.0, 5.0])
    history = np.tile(period, 4)  # T=20
    future = np.tile(period, 3)[:12]
    np.testing.assert_array_equal(seasonal_naive(history, 12, season=5), future)
    # series of different lengths each continue their own phase
    series = [np.tile(period, 3), np.tile(period, 3)[:13]]
    forecast = seasonal_naive(series, 3, season=5)
    np.testing.assert_array_equal(forecast, [period[:3], [*period[3:5].tolist(), 3.0]])


def test_drift_extends_the_first_to_last_line() -> None:
    history = np.array([2.0, 0.0, 5.0, 8.0])  # slope (8 - 2) / 3 = 2
    np.testing.assert_array_equal(drift(history, 3), [10.0, 12.0, 14.0])


def test_errors_name_the_series_and_the_fix() -> None:
    with pytest.raises(
        ValueError,
        match=r"series at position 1 is shorter than one "
        r"season: expected at least season=4 timesteps, received T=3",
    ):
        seasonal_naive([np.arange(5.0), np.arange(3.0)], 2, season=4)
    data = SequenceSet(
        np.array([1.0, np.nan, 3.0, 4.0])[:, None], np.array([0, 2, 4]), ids=["a", "b"]
    )
    with pytest.raises(
        ValueError,
        match=r"series 'a' has a missing value \(NaN\) "
        r"among its last value.*Fix: fill missing values",
    ):
        naive(data, 1)
    with pytest.raises(ValueError, match=r"horizon .h. must be at least 1"):
        naive(np.arange(3.0), 0)
    with pytest.raises(TypeError, match="horizon must be an int"):
        naive(np.arange(3.0), 2.0)
    with pytest.raises(ValueError, match="too short for a drift"):
        drift([np.arange(3.0), np.arange(1.0)], 2)


def test_estimate_season_finds_the_period_and_not_a_trend() -> None:
    t = np.arange(96.0)
    rng = np.random.default_rng(0)
    seasonal = [
        np.sin(2 * np.pi * (t + s) / 7) + 0.1 * rng.normal(size=96) for s in range(3)
    ]
    assert estimate_season(seasonal, max_lag=20) == 7
    assert estimate_season(t, max_lag=20) == 1  # a line: no local peak
    assert estimate_season(rng.normal(size=200), max_lag=20) == 1  # noise

"""Asynchronous features: observed masks, explicit filling, time features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from timesteps import SequenceSet
from timesteps.data.align import add_time_features, fill_unobserved, require_finite

NAN = np.nan


def labs() -> pd.DataFrame:
    """Lab value every few days, weight at other days: a long table where each
    feature is NaN at the other's times."""
    return pd.DataFrame(
        {
            "id": [1, 1, 1, 1, 2, 2],
            "day": [0, 2, 3, 7, 0, 4],
            "lab": [NAN, 5.0, NAN, 7.0, 1.0, NAN],
            "weight": [60.0, NAN, 62.0, NAN, NAN, NAN],
        }
    )


def test_unfilled_values_stay_nan_and_unobserved() -> None:
    data = SequenceSet.from_long(labs(), id="id", time="day")
    assert data.observed.tolist() == [
        [0, 1], [1, 0], [0, 1], [1, 0], [1, 0], [0, 0]
    ]  # fmt: skip
    assert np.isnan(data.values[~data.observed]).all()
    assert "fill" not in data.meta


def test_ffill_carries_last_value_and_leading_gaps_take_the_mean() -> None:
    data = SequenceSet.from_long(labs(), id="id", time="day", fill="ffill")
    # lab mean over observed = (5 + 7 + 1) / 3; weight mean = 61
    lab_mean = np.float32(13.0 / 3.0)
    expected = np.array(
        [
            [lab_mean, 60],
            [5, 60],
            [5, 62],
            [7, 62],
            [1, 61],  # series 2 never saw weight: the mean, not series 1's 62
            [1, 61],
        ],
        dtype=np.float32,
    )
    np.testing.assert_array_equal(data.values, expected)
    assert data.observed[:, 0].tolist() == [0, 1, 0, 1, 1, 0]
    assert data.meta["fill"] == "ffill"
    assert data.meta["fill_means"] == pytest.approx({"lab": 13 / 3, "weight": 61.0})


def test_zero_and_mean_fill() -> None:
    zero = SequenceSet.from_long(labs(), id="id", time="day", fill="zero")
    np.testing.assert_array_equal(
        zero.values, [[0, 60], [5, 0], [0, 62], [7, 0], [1, 0], [0, 0]]
    )
    mean = SequenceSet.from_long(labs(), id="id", time="day", fill="mean")
    lab_mean = np.float32(13.0 / 3.0)
    np.testing.assert_array_equal(
        mean.values,
        np.array(
            [[lab_mean, 60], [5, 61], [lab_mean, 62], [7, 61], [1, 61], [lab_mean, 61]],
            dtype=np.float32,
        ),
    )
    assert mean.observed is not None


def test_fill_with_training_means() -> None:
    data = SequenceSet.from_long(labs(), id="id", time="day")
    filled = fill_unobserved(data, "ffill", means={"lab": 100.0, "weight": -1.0})
    assert filled.values[0].tolist() == [100.0, 60.0]
    assert filled.values[4].tolist() == [1.0, -1.0]
    with pytest.raises(ValueError, match=r"no value for \['weight'\]"):
        fill_unobserved(data, "mean", means={"lab": 1.0})


def test_never_observed_feature_warns_and_fills_zero() -> None:
    df = pd.DataFrame({"id": [1, 1], "x": [1.0, 2.0], "y": [NAN, NAN]})
    with pytest.warns(UserWarning, match=r"features \['y'\] are never observed"):
        data = SequenceSet.from_long(df, id="id", fill="mean")
    assert data.values[:, 1].tolist() == [0.0, 0.0]


def test_time_features_numeric_times() -> None:
    data = SequenceSet.from_long(labs(), id="id", time="day", time_features=True)
    assert data.feature_names == [
        "lab", "weight", "lab__observed", "lab__dt", "weight__observed", "weight__dt"
    ]  # fmt: skip
    # days 0, 2, 3, 7 | 0, 4: dt counts from the last observation, 0 when observed,
    # from the series' first step before the first observation
    expected = np.array(
        [
            [0, 60, 0, 0, 1, 0],
            [5, 0, 1, 0, 0, 2],
            [0, 62, 0, 1, 1, 0],
            [7, 0, 1, 0, 0, 4],
            [1, 0, 1, 0, 0, 0],
            [0, 0, 0, 4, 0, 4],
        ],
        dtype=np.float32,
    )
    np.testing.assert_array_equal(data.values, expected)
    assert data.meta["fill"] == "zero"
    assert data.meta["time_features"]["dt_unit"] == "time unit"
    assert data.observed.shape == (6, 6)
    assert data.observed[:, 2:].all()
    assert data.observed[:, 0].tolist() == [0, 1, 0, 1, 1, 0]
    require_finite(data)


def test_time_features_datetimes_in_days_and_keep_requested_fill() -> None:
    df = pd.DataFrame(
        {
            "id": ["a", "a", "a"],
            "at": pd.to_datetime(
                ["2024-01-01 00:00", "2024-01-01 12:00", "2024-01-03 00:00"]
            ),
            "x": [1.0, NAN, NAN],
        }
    )
    data = SequenceSet.from_long(
        df, id="id", time="at", time_features=True, fill="ffill"
    )
    np.testing.assert_array_equal(data.values, [[1, 1, 0], [1, 0, 0.5], [1, 0, 2]])
    assert data.meta["fill"] == "ffill"
    assert data.meta["time_features"]["dt_unit"] == "days"


def test_time_features_on_arrays_and_twice_is_an_error() -> None:
    data = SequenceSet.from_arrays([np.array([[NAN], [2.0]])], time_features=True)
    assert data.values.tolist() == [[0.0, 0.0, 0.0], [2.0, 1.0, 0.0]]
    with pytest.raises(ValueError, match="time features were added already"):
        add_time_features(data)


def test_require_finite_names_features_and_fix() -> None:
    data = SequenceSet.from_long(labs(), id="id", time="day")
    with pytest.raises(
        ValueError,
        match=r"NaN in 'lab' \(3 of 6 steps\), 'weight' \(4 of 6 steps\)\. "
        r"Fix: build the SequenceSet with fill='ffill', 'zero' or 'mean', or with "
        r"time_features=True",
    ):
        require_finite(data)


def test_unknown_fill_is_named() -> None:
    with pytest.raises(ValueError, match=r"unknown fill method.*'fwd'"):
        SequenceSet.from_long(labs(), id="id", time="day", fill="fwd")

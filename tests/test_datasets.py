"""Embedded datasets: deterministic, the documented shapes and balance, and they
go through SequenceSet, views, windows and batches."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import timesteps as ts
from timesteps.data.batches import Batches
from timesteps.data.views import SeriesTargetView


def test_bone_size_is_deterministic_with_exact_values() -> None:
    df = ts.datasets.bone_size(n_patients=3)
    expected = pd.DataFrame(
        {
            "patient_id": [1, 2, 3],
            "bone_m1": [50.15, 49.36, 52.62],
            "bone_m2": [51.9, 49.96, 53.68],
            "bone_m3": [53.08, 50.4, 54.66],
            "outcome": [1, 0, 0],
        }
    )
    pd.testing.assert_frame_equal(df, expected)
    big = ts.datasets.bone_size()
    pd.testing.assert_frame_equal(big, ts.datasets.bone_size(seed=0))
    assert not big.equals(ts.datasets.bone_size(seed=1))
    assert big.shape == (4000, 5)
    assert 0.30 <= big["outcome"].mean() <= 0.40


def test_bone_size_outcome_is_learnable_from_growth() -> None:
    df = ts.datasets.bone_size()
    growth = (df["bone_m3"] - df["bone_m1"]).to_numpy()
    outcome = df["outcome"].to_numpy()
    accuracy = max(
        ((growth > t) == outcome).mean() for t in np.quantile(growth, [0.5, 0.6, 0.7])
    )
    majority = max(outcome.mean(), 1 - outcome.mean())
    assert accuracy > majority + 0.1  # learnable ...
    assert accuracy < 0.9  # ... but noisy


def test_bone_size_goes_to_batches_of_shape_b_3_1() -> None:
    data = ts.SequenceSet.from_wide(
        ts.datasets.bone_size(),
        id="patient_id",
        steps=["bone_m1", "bone_m2", "bone_m3"],
        target="outcome",
    )
    batches = Batches(SeriesTargetView(data), batch_size=50)
    batch = next(iter(batches))
    assert tuple(batch.x.shape) == (50, 3, 1) and batches.n_buckets == 1


def test_bone_size_long_visits_and_asynchronous_weight() -> None:
    df = ts.datasets.bone_size_long(n_patients=2)
    assert df["month"].tolist() == [0, 2, 5, 7, 8, 10, 1, 6, 7, 8, 9, 10]
    np.testing.assert_array_equal(
        df["bone_size"].to_numpy()[:6], [50.41, 53.14, 57.1, 59.26, 60.96, np.nan]
    )
    np.testing.assert_array_equal(df["outcome"].to_numpy(), [1] * 6 + [0] * 6)

    df = ts.datasets.bone_size_long()
    pd.testing.assert_frame_equal(df, ts.datasets.bone_size_long(seed=0))
    visits = df.groupby("patient_id")["bone_size"].count()
    weighings = df.groupby("patient_id")["weight"].count()
    assert sorted(visits.unique().tolist()) == [2, 3, 4, 5, 6]
    assert sorted(weighings.unique().tolist()) == [1, 2, 3, 4]
    assert df["bone_size"].isna().any() and df["weight"].isna().any()
    assert not df.duplicated(["patient_id", "month"]).any()
    per_patient = df.groupby("patient_id")["outcome"]
    assert (per_patient.nunique() == 1).all()
    assert 0.30 <= per_patient.first().mean() <= 0.45


def test_sensor_recordings_lengths_labels_and_determinism() -> None:
    small = ts.datasets.sensor_recordings(n_series=3, min_length=5, max_length=8)
    assert small.groupby("recording").size().tolist() == [7, 5, 5]
    assert small.groupby("recording")["fault"].first().tolist() == [
        "normal",
        "bearing",
        "bearing",
    ]
    assert small["pressure"].iloc[0] == pytest.approx(3.2738216, abs=1e-6)
    assert small["step"].tolist() == [*range(7), *range(5), *range(5)]

    df = ts.datasets.sensor_recordings()
    pd.testing.assert_frame_equal(df, ts.datasets.sensor_recordings(seed=0))
    lengths = df.groupby("recording").size()
    assert lengths.min() >= 50 and lengths.max() <= 1000
    assert lengths.max() / lengths.min() > 10  # very different lengths
    shares = df.groupby("recording")["fault"].first().value_counts(normalize=True)
    assert 0.4 <= shares["normal"] <= 0.6
    assert 0.15 <= shares["leak"] <= 0.35 and 0.15 <= shares["bearing"] <= 0.35

    wide = ts.datasets.sensor_recordings(n_series=2, n_features=5, max_length=60)
    assert list(wide.columns)[2:7] == [
        "pressure",
        "temperature",
        "vibration",
        "sensor_3",
        "sensor_4",
    ]
    assert list(ts.datasets.sensor_recordings(n_series=2, n_features=1).columns) == [
        "recording",
        "step",
        "pressure",
        "fault",
    ]


def test_sensor_faults_show_in_the_signal() -> None:
    df = ts.datasets.sensor_recordings(n_series=60)
    last = df[df.groupby("recording")["step"].transform("max") - df["step"] < 50]
    vibration = last.groupby("recording").agg(
        spread=("vibration", "std"), fault=("fault", "first")
    )
    by_fault = vibration.groupby("fault")["spread"].mean()
    assert by_fault["bearing"] > 1.5 * by_fault["normal"]


def test_forecast_series_hourly_calendar_and_daily_season() -> None:
    small = ts.datasets.forecast_series(n_series=2, length=5)
    assert small["time"].iloc[0] == pd.Timestamp("2024-01-01 20:00")
    assert small["value"].iloc[0] == pytest.approx(8.191244, abs=1e-5)
    np.testing.assert_allclose(
        small["hour_sin"], np.sin(2 * np.pi * small["time"].dt.hour / 24), atol=1e-6
    )

    df = ts.datasets.forecast_series()
    pd.testing.assert_frame_equal(df, ts.datasets.forecast_series(seed=0))
    assert df.shape == (20 * 400, 5)
    steps = df.groupby("series")["time"].diff().dropna().unique()
    assert steps.tolist() == [pd.Timedelta(hours=1)]

    # daily season: the value 24 hours ago beats the last value on 20-step guesses
    values = df["value"].to_numpy().reshape(20, 400)
    last_value = np.abs(values[:, 380:] - values[:, 379:380]).mean()
    day_ago = np.abs(values[:, 380:] - values[:, 356:376]).mean()
    assert day_ago < 0.6 * last_value


def test_forecast_series_makes_windows_with_known_future_calendar() -> None:
    data = ts.SequenceSet.from_long(
        ts.datasets.forecast_series(), id="series", time="time"
    )
    w = data.windows(
        lookback=20, horizon=20, target="value", known_future=["hour_sin", "hour_cos"]
    )
    assert len(w) == 20 * (400 - 40 + 1)
    batch = next(iter(w.to_batches(batch_size=64)))
    assert tuple(batch.x.shape) == (64, 20, 3)
    assert tuple(batch.y.shape) == (64, 20, 1)
    assert tuple(batch.future.shape) == (64, 20, 2)


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: ts.datasets.bone_size(n_patients=0), ValueError),
        (lambda: ts.datasets.bone_size(n_patients=2.5), TypeError),
        (
            lambda: ts.datasets.sensor_recordings(min_length=10, max_length=5),
            ValueError,
        ),
        (lambda: ts.datasets.forecast_series(length=1), ValueError),
    ],
)
def test_bad_sizes(call, error) -> None:
    with pytest.raises(error):
        call()

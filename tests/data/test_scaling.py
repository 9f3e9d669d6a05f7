"""Scaler: statistics from the training part only, exact inversion."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from timesteps import Scaler, SequenceSet

NAN = np.nan


def ragged(n: int = 12, seed: int = 0) -> SequenceSet:
    rng = np.random.default_rng(seed)
    X = [
        rng.normal(loc=[5.0, -3.0], scale=[2.0, 0.5], size=(int(t), 2))
        for t in rng.integers(3, 9, size=n)
    ]
    X[0][1, 0] = NAN  # one value not recorded
    return SequenceSet.from_arrays(X, feature_names=["a", "b"])


def test_standard_statistics_come_from_the_training_part_only() -> None:
    train, validation = ragged().split(fraction=0.25, seed=0)
    scaler = Scaler().fit(train)
    values = train.values.astype(np.float64)
    for j in range(2):
        column = values[:, j][~np.isnan(values[:, j])]
        assert scaler.offset_[j] == pytest.approx(column.mean(), rel=1e-12)
        assert scaler.scale_[j] == pytest.approx(column.std(), rel=1e-12)
    scaled = scaler.transform(validation)
    expected = (validation.values - scaler.offset_) / scaler.scale_
    np.testing.assert_allclose(scaled.values, expected, rtol=1e-6)
    assert scaled.lengths.tolist() == validation.lengths.tolist()


def test_unobserved_stay_nan_and_the_mask_is_kept() -> None:
    data = ragged()
    scaled = Scaler().fit_transform(data)
    assert np.isnan(scaled.values[1, 0])
    np.testing.assert_array_equal(scaled.observed, data.observed)
    values = scaled.values[~np.isnan(scaled.values[:, 0]), 0].astype(np.float64)
    assert values.mean() == pytest.approx(0.0, abs=1e-6)
    assert values.std() == pytest.approx(1.0, abs=1e-6)


def test_inverse_recovers_the_original_units() -> None:
    train, validation = ragged().split(fraction=0.25)
    scaler = Scaler(method="minmax").fit(train)
    scaled = scaler.transform(validation)
    back = scaler.inverse_transform_values(scaled.values, ["a", "b"])
    np.testing.assert_allclose(back, validation.values, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(
        scaler.inverse_transform(scaled).values, validation.values, rtol=1e-5
    )
    # a forecast (B, h, K) of feature "b" only, as a torch tensor
    forecast = torch.zeros(3, 4, 1)
    out = scaler.inverse_transform_values(forecast, ["b"])
    assert out.shape == (3, 4, 1)
    np.testing.assert_allclose(out, scaler.offset_[1])


def test_minmax_maps_training_range_to_unit_interval() -> None:
    data = SequenceSet.from_arrays(np.array([[[2.0], [4.0], [10.0]]]))
    scaled = Scaler(method="minmax").fit_transform(data)
    assert scaled.values.ravel().tolist() == [0.0, 0.25, 1.0]


def test_constant_feature_gets_scale_one() -> None:
    data = SequenceSet.from_arrays(np.array([[[3.0, 1.0], [3.0, 2.0]]]))
    for method in ("standard", "minmax"):
        scaler = Scaler(method=method).fit(data)
        assert scaler.scale_[0] == 1.0
        scaled = scaler.transform(data)
        assert np.isfinite(scaled.values).all()
        assert scaled.values[:, 0].tolist() == [0.0, 0.0]


def test_per_series_scales_each_series_by_itself() -> None:
    X = [np.array([[1.0], [3.0]]), np.array([[10.0], [20.0], [30.0]])]
    data = SequenceSet.from_arrays(X)
    scaler = Scaler(per="series")
    scaled = scaler.fit_transform(data)
    for i, series in enumerate(X):
        expected = (series - series.mean()) / series.std()
        np.testing.assert_allclose(scaled[i], expected, rtol=1e-6)
    # forecasts for series 1 then 0 go back with each one's own statistics
    forecast = np.array([[[1.0]], [[1.0]]])  # (B, h, K)
    back = scaler.inverse_transform_values(forecast, [0], positions=[1, 0])
    np.testing.assert_allclose(back.ravel(), [20.0 + np.std([10, 20, 30]), 2.0 + 1.0])


def test_per_series_uses_only_the_context_of_a_future_part() -> None:
    X = np.array([[[0.0], [2.0], [100.0], [200.0]]])
    _, future = SequenceSet.from_arrays(X).split_by_time(steps=2, keep_context=2)
    scaled = Scaler(per="series").fit_transform(future)
    # statistics of the context steps (0, 2) only: mean 1, std 1
    assert scaled.values.ravel().tolist() == [-1.0, 1.0, 99.0, 199.0]


def test_time_feature_indicators_are_not_scaled() -> None:
    data = SequenceSet.from_arrays(
        [np.array([[1.0], [NAN], [5.0]])], times=[[0, 1, 3]], time_features=True
    )
    scaler = Scaler().fit(data)
    assert scaler.scaled_ == ["f0", "f0__dt"]
    scaled = scaler.transform(data)
    np.testing.assert_array_equal(scaled.values[:, 1], data.values[:, 1])


def test_to_dict_round_trips_through_json() -> None:
    data = ragged()
    scaler = Scaler(method="minmax").fit(data)
    state = json.loads(json.dumps(scaler.to_dict()))
    loaded = Scaler.from_dict(state)
    np.testing.assert_array_equal(
        loaded.transform(data).values, scaler.transform(data).values
    )


def test_warns_when_fitted_and_applied_on_the_validation_part() -> None:
    train, validation = ragged().split(fraction=0.25)
    scaler = Scaler().fit(validation)
    with pytest.warns(UserWarning, match=r"scaler fitted on the validation part"):
        scaler.transform(validation)
    scaler.fit(train).transform(train)  # the right way: no warning


def test_errors() -> None:
    with pytest.raises(ValueError, match=r"unknown scaling method.*'zscore'"):
        Scaler(method="zscore")
    with pytest.raises(ValueError, match=r"the scaler is not fitted"):
        Scaler().transform(ragged())
    scaler = Scaler().fit(ragged())
    with pytest.raises(ValueError, match=r"feature 'c' is not one.*fitted"):
        scaler.inverse_transform_values(np.zeros((2, 1)), ["c"])
    with pytest.raises(ValueError, match=r"2 values on the last axis \(K\)"):
        scaler.inverse_transform_values(np.zeros((2, 1)), ["a", "b"])

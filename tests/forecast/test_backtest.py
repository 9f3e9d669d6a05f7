from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest

from timesteps.data.sequence_set import SequenceSet
from timesteps.forecast import backtest, drift, seasonal_naive


def _by(table, column: str) -> dict[tuple[int, str], float]:
    return {(r.fold, r.method): getattr(r, column) for r in table.itertuples()}


def test_linear_series_naive_error_in_closed_form() -> None:
    # y_t = a * t: naive forecasts the last value, so step k is off by a * k;
    # MAE over k = 1..h is a * (h + 1) / 2, the in-sample naive MAE is a,
    # so MASE = (h + 1) / 2 and drift is exact.
    slopes = [1.0, 3.0]
    series = [a * np.arange(40.0) for a in slopes]
    h = 4
    table = backtest(drift, series, horizon=h, lookback=5, folds=3, season=1)
    assert list(table.columns) == [
        "fold",
        "steps_from_end",
        "method",
        "series",
        "mae",
        "rmse",
        "smape",
        "mase",
    ]
    assert table["steps_from_end"].tolist() == [12] * 3 + [8] * 3 + [4] * 3
    mae, mase = _by(table, "mae"), _by(table, "mase")
    for fold in range(3):
        assert mae[fold, "naive"] == pytest.approx(np.mean(slopes) * (h + 1) / 2)
        assert mase[fold, "naive"] == pytest.approx((h + 1) / 2)
        assert mae[fold, "model"] == pytest.approx(0.0, abs=1e-4)
        rmse = np.sqrt(np.mean([(a * k) ** 2 for a in slopes for k in range(1, 5)]))
        assert _by(table, "rmse")[fold, "naive"] == pytest.approx(rmse)
    assert table.attrs["season"] == 1


def test_seasonal_naive_is_exact_on_a_periodic_series_and_season_is_estimated() -> None:
    period = np.array([0.0, 4.0, 1.0, 5.0, 2.0, 9.0])
    series = [np.tile(period, 8) + level for level in (0.0, 10.0, 20.0)]
    with pytest.warns(
        UserWarning,
        match=r"MASE is undefined for 3 of 3 series "
        r"\(0, 1, 2\): their history repeats exactly every 6 step",
    ):
        table = backtest(
            lambda history, h: seasonal_naive(history, h, season=6),
            series,
            horizon=6,
            lookback=12,
            folds=2,
        )
    assert table.attrs["season"] == 6
    mae = _by(table, "mae")
    for fold in range(2):
        assert mae[fold, "seasonal_naive"] == 0.0
        assert mae[fold, "model"] == 0.0
        assert mae[fold, "naive"] == pytest.approx(np.mean(np.abs(period - 9.0)))
    assert table["mase"].isna().all()


def test_the_forecaster_never_sees_the_future() -> None:
    seen: list[tuple[np.ndarray, np.ndarray]] = []

    def spy(history: SequenceSet, h: int) -> np.ndarray:
        seen.append((history.lengths.copy(), history.values[:, 0].copy()))
        return np.zeros((len(history), h, 1))

    series = [np.arange(30.0), 100 + np.arange(25.0)]
    backtest(spy, series, horizon=3, lookback=4, folds=3, step=5, season=1)
    # origins: T_i - 3 - (2 - k) * 5
    assert [lengths.tolist() for lengths, _ in seen] == [[17, 12], [22, 17], [27, 22]]
    for lengths, values in seen:
        np.testing.assert_array_equal(values[: lengths[0]], np.arange(lengths[0]))
        np.testing.assert_array_equal(values[lengths[0] :], 100 + np.arange(lengths[1]))


def test_models_are_refitted_on_a_copy_for_every_fold() -> None:
    class LastValue:
        fitted_on: ClassVar[list[int]] = []

        def fit(self, data: SequenceSet) -> None:
            LastValue.fitted_on.append(int(data.lengths.max()))
            self.level = None

        def forecast(self, data: SequenceSet) -> np.ndarray:
            return np.repeat(data.values[data.offsets[1:] - 1][:, None], 2, axis=1)

    template = LastValue()
    table = backtest(
        template, [np.arange(20.0)], horizon=2, lookback=3, folds=2, season=1
    )
    assert LastValue.fitted_on == [16, 18]
    assert not hasattr(template, "level")  # the template itself was not fitted
    assert (table.query("method == 'model'")["mae"].to_numpy() == 1.5).all()


def test_a_constant_series_is_left_out_of_mase_only() -> None:
    series = [np.arange(20.0), np.ones(20)]
    with pytest.warns(
        UserWarning,
        match=r"fold 0: MASE is undefined for 1 of 2 "
        r"series \(1\)",
    ):
        table = backtest(drift, series, horizon=2, lookback=3, folds=1, season=1)
    naive = table.query("method == 'naive'").iloc[0]
    assert naive["mae"] == 0.75  # series 0 errors 1, 2; series 1 errors 0, 0
    assert naive["mase"] == 1.5  # series 0 only: (1 + 2) / 2 scaled by 1


def test_short_series_are_left_out_with_a_warning() -> None:
    series = [np.arange(30.0), np.arange(9.0)]
    with pytest.warns(UserWarning, match="fold 0: 1 of 2 series are too short"):
        table = backtest(drift, series, horizon=3, lookback=4, folds=2, season=1)
    assert table["series"].tolist() == [1, 1, 1, 2, 2, 2]


def test_errors() -> None:
    with pytest.raises(
        ValueError,
        match=r"no series is long enough for fold 0: "
        r"expected series of at least .* = 14 timesteps",
    ):
        backtest(drift, [np.arange(10.0)], horizon=3, lookback=5, folds=3, season=1)
    with pytest.raises(
        ValueError,
        match=r"wrong shape: expected \(B, h, K\) = "
        r"\(1, 2, 1\), received \(1, 3, 1\)",
    ):
        backtest(
            lambda d, h: np.zeros((1, 3, 1)),
            [np.arange(20.0)],
            horizon=2,
            lookback=3,
            season=1,
        )
    data = SequenceSet(
        np.arange(40.0).reshape(20, 2),
        np.array([0, 20]),
        feature_names=["load", "temp"],
    )
    with pytest.raises(ValueError, match=r"'lod' is not in the data.*'load'"):
        backtest(drift, data, horizon=2, lookback=3, season=1, target="lod")
    with pytest.raises(TypeError, match="model_or_fn must forecast"):
        backtest(3, data, horizon=2, lookback=3, season=1)


def test_target_scores_only_the_named_feature() -> None:
    values = np.stack([np.arange(20.0), np.zeros(20)], axis=1)
    values[:, 1] = np.arange(20.0) ** 2  # a second feature the model ignores
    data = SequenceSet(values, np.array([0, 20]), feature_names=["load", "temp"])
    table = backtest(
        lambda d, h: drift(d.values[:, :1].reshape(1, -1, 1), h),
        data,
        horizon=2,
        lookback=3,
        folds=1,
        season=1,
        target="load",
    )
    assert _by(table, "mae")[0, "naive"] == 1.5
    assert _by(table, "mae")[0, "model"] == pytest.approx(0.0, abs=1e-5)

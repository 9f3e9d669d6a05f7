from __future__ import annotations

import numpy as np
import pytest

from timesteps.forecast import mae, mase, rmse, smape


def test_mae_rmse_exact_on_any_shape() -> None:
    y = np.array([[1.0, 2.0], [3.0, 4.0]])
    p = np.array([[2.0, 2.0], [3.0, 1.0]])  # errors 1, 0, 0, 3
    assert mae(y, p) == 1.0
    assert rmse(y, p) == np.sqrt(10 / 4)
    assert mae(y[None, ..., None], p[None, ..., None]) == 1.0  # (1, 2, 2, 1)


def test_smape_percent_with_zero_over_zero_as_zero() -> None:
    y = np.array([0.0, 100.0, 0.0, -1.0])
    p = np.array([0.0, 110.0, 5.0, 1.0])
    # terms: 0 (0/0), 200*10/210, 200 (0 vs 5), 200 (sign flip)
    assert smape(y, p) == pytest.approx((0 + 2000 / 210 + 200 + 200) / 4)
    assert smape(np.zeros(3), np.zeros(3)) == 0.0
    assert smape([1.0], [0.0]) == 200.0


def test_mase_single_series_closed_form() -> None:
    train = np.array([1.0, 3.0, 2.0, 6.0])  # naive in-sample MAE (2 + 1 + 4) / 3
    y, p = np.array([5.0, 5.0]), np.array([4.0, 7.0])  # MAE 1.5
    assert mase(y, p, train) == pytest.approx(1.5 / (7 / 3))


def test_mase_seasonal_scale() -> None:
    train = np.array([0.0, 10.0, 1.0, 12.0, 3.0, 13.0])  # lag-2 diffs 1, 2, 2, 1
    assert mase([4.0], [5.0], train, season=2) == pytest.approx(1 / 1.5)


def test_mase_scales_each_series_and_output_by_its_own_training_part() -> None:
    trains = [np.array([0.0, 1.0, 2.0]), np.array([0.0, 10.0, 20.0, 30.0])]
    y = np.array([[3.0, 4.0], [40.0, 50.0]])  # (B=2, h=2)
    p = np.array([[2.0, 2.0], [30.0, 30.0]])
    # series 0: errors (1, 2) / 1; series 1: errors (10, 20) / 10
    assert mase(y, p, trains) == pytest.approx((1 + 2 + 1 + 2) / 4)
    stacked = np.stack([np.arange(4.0), np.arange(4.0) * 2], axis=1)  # (T=4, K=2)
    # (h=1, K=2): errors 1 and 4, scales 1 and 2
    assert mase([[4.0, 8.0]], [[3.0, 4.0]], stacked) == pytest.approx((1 + 2) / 2)
    three_d = np.stack([stacked, stacked])  # (B=2, T=4, K=2) is two series
    assert mase(np.ones((2, 1, 2)), np.zeros((2, 1, 2)), three_d) == pytest.approx(
        (1 + 0.5) / 2
    )


def test_mase_constant_training_part_is_an_error() -> None:
    with pytest.raises(ValueError, match="MASE is undefined for y_train: its"):
        mase([1.0], [2.0], np.full(5, 3.0))
    with pytest.raises(ValueError, match="repeats exactly every 2 steps"):
        mase([1.0], [2.0], np.array([1.0, 2.0, 1.0, 2.0]), season=2)
    trains = [np.arange(3.0), np.ones(3)]
    with pytest.raises(ValueError, match="y_train of series 1"):
        mase(np.ones((2, 1)), np.zeros((2, 1)), trains)


def test_nan_without_mask_is_an_error_and_the_mask_skips_it() -> None:
    y = np.array([1.0, np.nan, 3.0])
    p = np.array([2.0, 2.0, 2.0])
    with pytest.raises(
        ValueError,
        match=r"y_true has missing values \(NaN\):.*"
        r"index \(1,\).*pass mask=~np.isnan\(y_true\)",
    ):
        mae(y, p)
    mask = ~np.isnan(y)
    assert mae(y, p, mask=mask) == 1.0
    assert rmse(y, p, mask=mask) == 1.0
    assert smape(y, p, mask=mask) == pytest.approx((200 / 3 + 200 / 5) / 2)
    assert mase(y, p, np.array([0.0, 1.0]), mask=mask) == 1.0
    with pytest.raises(ValueError, match=r"y_pred has missing values .NaN. where the"):
        mae(p, y, mask=np.ones(3, bool))


def test_shape_and_mask_errors() -> None:
    with pytest.raises(ValueError, match=r"same shape: expected y_pred of shape \(3,"):
        mae(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="a boolean array of shape"):
        mae(np.zeros(3), np.zeros(3), mask=np.ones(3))
    with pytest.raises(ValueError, match="nothing to score"):
        mae(np.zeros(2), np.zeros(2), mask=np.zeros(2, bool))
    with pytest.raises(ValueError, match="one forecast per training part"):
        mase(np.zeros((3, 2)), np.zeros((3, 2)), [np.arange(4.0)] * 2)
    with pytest.raises(ValueError, match="season must be at least 1"):
        mase([1.0], [1.0], np.arange(3.0), season=0)
    with pytest.raises(ValueError, match="too short for the seasonal naive scale"):
        mase([1.0], [1.0], np.arange(3.0), season=3)

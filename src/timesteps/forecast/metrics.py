"""Forecast errors: MAE, RMSE, sMAPE and MASE.

Every metric takes ``y_true`` and ``y_pred`` of the same shape, any shape: one
series ``(h,)``, one series with K outputs ``(h, K)``, many series ``(B, h)`` or
``(B, h, K)``. The error is averaged over every element.

Missing values are never skipped silently: a NaN in ``y_true`` or ``y_pred``
raises, unless a boolean ``mask`` of the same shape marks it as not counted
(``True`` = counted). A NaN where the mask is ``True`` raises too.

>>> import numpy as np
>>> y, p = np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 5.0])
>>> float(mae(y, p)), float(rmse(y, p))
(0.6666666666666666, 1.1547005383792515)
>>> float(smape(np.array([0.0, 1.0]), np.array([0.0, 3.0])))
50.0
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._errors import problem

__all__ = ["mae", "mase", "rmse", "smape"]


def mae(y_true: Any, y_pred: Any, mask: Any = None) -> float:
    """Mean absolute error, ``mean(|y_true - y_pred|)`` over the counted elements.

    >>> float(mae([1.0, 2.0], [2.0, 4.0]))
    1.5
    """
    error, counted = _errors(y_true, y_pred, mask)
    return float(np.abs(error[counted]).mean())


def rmse(y_true: Any, y_pred: Any, mask: Any = None) -> float:
    """Root mean squared error, ``sqrt(mean((y_true - y_pred) ** 2))``.

    >>> float(rmse([0.0, 0.0], [3.0, 4.0]))
    3.5355339059327378
    """
    error, counted = _errors(y_true, y_pred, mask)
    return float(np.sqrt(np.square(error[counted]).mean()))


def smape(y_true: Any, y_pred: Any, mask: Any = None) -> float:
    """Symmetric mean absolute percentage error in percent, from 0 to 200.

    Each element contributes ``200 * |y - p| / (|y| + |p|)``. Where both the truth
    and the forecast are 0 the forecast is exact and the term is defined as 0
    (not NaN); a forecast of 0 for a non-zero truth, or the reverse, gives 200.

    >>> float(smape([100.0, 0.0], [110.0, 0.0]))   # (200 * 10 / 210 + 0) / 2
    4.761904761904762
    """
    true, pred, counted = _checked(y_true, y_pred, mask)
    true, pred = true[counted], pred[counted]
    denominator = np.abs(true) + np.abs(pred)
    ratio = np.divide(
        np.abs(true - pred),
        denominator,
        out=np.zeros_like(denominator),
        where=denominator > 0,
    )
    return float(200.0 * ratio.mean())


def mase(
    y_true: Any,
    y_pred: Any,
    y_train: Any,
    season: int = 1,
    mask: Any = None,
) -> float:
    """Mean absolute scaled error: the forecast's MAE divided by the in-sample MAE
    of the naive forecast on the training part (seasonal naive when ``season > 1``,
    i.e. ``mean(|y[t] - y[t - season]|)`` over the training steps).

    Below 1 the forecast beats the (seasonal) naive rule as it did in-sample.

    - One series: ``y_train`` is an array ``(T,)`` or ``(T, K)`` (timesteps first),
      ``y_true`` and ``y_pred`` are ``(h,)`` or ``(h, K)``.
    - Many series: ``y_train`` is a list of ``B`` numpy arrays ``(T_i,)`` or
      ``(T_i, K)``, a ``(B, T, K)`` array, or a SequenceSet; ``y_true`` and ``y_pred``
      are ``(B, h)``/``(B, h, K)``. Each series (and each output K) is scaled by
      its own training part and the scaled errors are averaged.

    Raises ValueError where the scale is 0 (a training part that is constant, or
    repeats exactly every ``season`` steps): MASE is undefined there, because the
    naive rule makes no error in-sample to compare against.

    >>> float(mase([5.0, 6.0], [5.0, 5.0], y_train=[1.0, 2.0, 3.0, 4.0]))
    0.5
    """
    true, pred, counted = _checked(y_true, y_pred, mask)
    season = _season(season)
    trains, single = _train_parts(y_train, true)
    if single:
        true, pred, counted = true[None], pred[None], counted[None]
    if true.ndim not in (2, 3) or len(true) != len(trains):
        raise ValueError(
            problem(
                "y_true must hold one forecast per training part",
                f"(B={len(trains)}, h) or (B={len(trains)}, h, K)",
                f"shape {true.shape[1:] if single else true.shape}",
            )
        )
    true, pred, counted = (_per_series_2d(a) for a in (true, pred, counted))
    n_outputs = true.shape[2]
    scales = np.empty((len(trains), n_outputs))
    for i, train in enumerate(trains):
        scales[i] = _naive_scale(train, season, n_outputs, i, single)
    error = np.abs(true - pred) / scales[:, None, :]
    return float(error[counted].mean())


# -- checks ---------------------------------------------------------------------


def _checked(
    y_true: Any, y_pred: Any, mask: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Arrays of the same shape as float64, and the boolean mask of what counts."""
    true = _as_float(y_true, "y_true")
    pred = _as_float(y_pred, "y_pred")
    if true.shape != pred.shape:
        raise ValueError(
            problem(
                "y_true and y_pred must have the same shape",
                f"y_pred of shape {true.shape} (the shape of y_true)",
                f"y_pred of shape {pred.shape}",
                "forecast the same series, steps (h) and outputs as the truth",
            )
        )
    if mask is None:
        counted = np.ones(true.shape, dtype=bool)
    else:
        counted = np.asarray(mask)
        if counted.dtype != bool or counted.shape != true.shape:
            raise ValueError(
                problem(
                    "mask must mark the elements that count",
                    f"a boolean array of shape {true.shape}",
                    f"{counted.dtype} array of shape {counted.shape}",
                    "pass mask=~np.isnan(y_true) to skip missing truth values",
                )
            )
    for name, values in (("y_true", true), ("y_pred", pred)):
        missing = np.isnan(values) & counted
        if missing.any():
            where = "" if mask is None else " where the mask is True"
            raise ValueError(
                problem(
                    f"{name} has missing values (NaN){where}",
                    "finite numbers",
                    f"{int(missing.sum())} NaN of {values.size}, the first at "
                    f"index {tuple(int(i) for i in np.argwhere(missing)[0])}",
                    "pass mask=~np.isnan(y_true) (True = counted) to leave them out"
                    if mask is None
                    else "set the mask to False where a value is missing",
                )
            )
    if not counted.any():
        raise ValueError(
            problem(
                "nothing to score",
                "at least one counted element",
                f"{true.size} elements, none counted",
                "check the mask and that y_true is not empty",
            )
        )
    return true, pred, counted


def _errors(y_true: Any, y_pred: Any, mask: Any) -> tuple[np.ndarray, np.ndarray]:
    true, pred, counted = _checked(y_true, y_pred, mask)
    return np.where(counted, true - pred, 0.0), counted


def _as_float(values: Any, name: str) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(
            problem(
                f"{name} must be numbers",
                "an array of floats",
                f"{type(values).__name__} ({error})",
                "pass a numpy array of equal-length forecasts",
            )
        ) from None
    return array


def _season(season: Any) -> int:
    if isinstance(season, bool) or not isinstance(season, (int, np.integer)):
        raise TypeError(problem("season must be an int", "an int >= 1", repr(season)))
    if season < 1:
        raise ValueError(
            problem(
                "season must be at least 1",
                "an int >= 1 (1: the naive rule, m: the seasonal naive rule)",
                str(season),
            )
        )
    return int(season)


def _train_parts(y_train: Any, true: np.ndarray) -> tuple[list[np.ndarray], bool]:
    """The training part of each series as float64 ``(T_i, K)`` arrays, and
    whether ``y_true`` is one series (no samples axis)."""
    values = getattr(y_train, "values", None)
    offsets = getattr(y_train, "offsets", None)
    if isinstance(values, np.ndarray) and isinstance(offsets, np.ndarray):
        parts = [values[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]
        return [_as_float(p, "y_train") for p in parts], False
    if (
        isinstance(y_train, Sequence)
        and len(y_train)
        and isinstance(y_train[0], np.ndarray)
    ):
        return [_as_float(p, "y_train") for p in y_train], False
    array = _as_float(y_train, "y_train")
    if array.ndim == 3:
        return list(array), False
    return [array], True


def _per_series_2d(values: np.ndarray) -> np.ndarray:
    """``(B, h)`` -> ``(B, h, 1)``; ``(B, h, K)`` unchanged."""
    return values[..., None] if values.ndim == 2 else values


def _naive_scale(
    train: np.ndarray, season: int, n_outputs: int, i: int, single: bool
) -> np.ndarray:
    """``(K,)`` in-sample MAE of the (seasonal) naive rule on one training part."""
    name = "y_train" if single else f"y_train of series {i}"
    train = train[:, None] if train.ndim == 1 else train
    if train.ndim != 2 or train.shape[1] != n_outputs:
        raise ValueError(
            problem(
                f"{name} must match the outputs of y_true",
                f"(T,) or (T, K={n_outputs}) with timesteps first",
                f"shape {train.shape}",
            )
        )
    if len(train) <= season:
        raise ValueError(
            problem(
                f"{name} is too short for the seasonal naive scale",
                f"more than season={season} timesteps",
                f"T={len(train)}",
                "pass a longer training part or a smaller season",
            )
        )
    if np.isnan(train).any():
        raise ValueError(
            problem(
                f"{name} has missing values (NaN)",
                "a fully observed training part",
                f"{int(np.isnan(train).sum())} NaN",
                "fill the missing values before scoring",
            )
        )
    scale = np.abs(train[season:] - train[:-season]).mean(axis=0)
    if (scale == 0).any():
        raise ValueError(
            problem(
                f"MASE is undefined for {name}: its (seasonal) naive in-sample error "
                "is 0",
                f"a training part that changes over lag season={season}",
                "a constant training part"
                if season == 1
                else f"a part that repeats exactly every {season} steps",
                "score it with mae/rmse/smape instead, or leave the series out",
            )
        )
    return scale

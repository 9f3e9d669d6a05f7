"""Rolling-origin backtest: forecast from several cut points, score each against
what really followed, beside the naive rules.

Fold ``k`` of ``folds`` (oldest first) cuts every series ``i`` at its origin
``T_i - horizon - (folds - 1 - k) * step``: the steps before the origin are all
the forecaster sees (to fit and to forecast from), the ``horizon`` steps after
it are the truth. Origins count from each series' own end, so series of
different lengths are cut at the same distance from their ends. Nothing at or
after an origin is ever handed to the forecaster of that fold.

>>> import numpy as np
>>> from timesteps.forecast import backtest, drift
>>> series = [np.arange(12.0), np.arange(12.0) * 2]     # two lines, slopes 1 and 2
>>> table = backtest(lambda history, h: drift(history, h), series, horizon=2,
...                  lookback=4, folds=2, season=1)
>>> mae_by_fold = table.pivot(index="fold", columns="method", values="mae")
>>> mae_by_fold  # doctest: +NORMALIZE_WHITESPACE
method  model  naive  seasonal_naive
fold
0         0.0   2.25            2.25
1         0.0   2.25            2.25
"""

from __future__ import annotations

import copy
import logging
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .._errors import near_matches, problem
from ..data.sequence_set import SequenceSet
from .baselines import (
    _positive_int,
    estimate_season,
    naive,
    seasonal_naive,
)
from .metrics import mae, mase, rmse, smape

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["backtest"]

logger = logging.getLogger(__name__)

ForecastFn = Callable[[SequenceSet, int], Any]

COLUMNS = ["fold", "steps_from_end", "method", "series", "mae", "rmse", "smape", "mase"]


def backtest(
    model_or_fn: Any,
    data: Any,
    horizon: int,
    lookback: int,
    folds: int = 3,
    step: int | None = None,
    *,
    refit: bool = True,
    season: int | None = None,
    target: str | Sequence[str] | None = None,
    fit_options: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Score a forecaster on ``folds`` rolling origins beside ``naive`` and
    ``seasonal_naive``.

    Args:
        model_or_fn: a function ``fn(history, horizon) -> (B, h, K)`` forecasts
            (``history`` is the cut SequenceSet; the function may fit inside), or
            a model with ``fit(data)`` and ``forecast(data)``/``predict(data)``
            returning ``(B, h, K)``. With ``refit=True`` a fresh copy of the
            model is fitted on each fold's history (``fit(history,
            **fit_options)``); with ``refit=False`` the model is used as it is
            (already fitted: make sure it never saw the test steps). A model's
            known-future features (``known_names_``) are passed to
            ``forecast(history, future=...)`` from the data after the origin:
            they are known in advance by definition.
        data: a SequenceSet, a list of ``(T_i, F)`` arrays or a ``(B, T, F)``
            array.
        horizon: h, the steps forecast from each origin.
        lookback: L, the steps a forecaster reads; a series needs at least
            ``L`` steps before an origin to be scored in that fold.
        folds: the number of origins.
        step: steps between consecutive origins (default ``horizon``: the test
            parts touch but do not overlap).
        season: the season of ``seasonal_naive`` and of the MASE scale; ``None``
            estimates it from the first fold's history with
            :func:`estimate_season` (lags up to half the shortest history, at
            least ``lookback``).
        target: the feature name(s) forecast and scored (default: a model's
            ``target_names_``, else every feature that is not known-future).
        fit_options: keyword arguments of the model's ``fit`` (e.g. epochs).

    Returns:
        One row per fold and method (``model``, ``naive``, ``seasonal_naive``)
        with the columns ``fold, steps_from_end, method, series, mae, rmse,
        smape, mase``; ``steps_from_end`` is how far each origin lies before its
        series' end, ``series`` how many series were scored. ``attrs["season"]``
        holds the season used. A series whose history repeats exactly every
        ``season`` steps (e.g. a constant one) has no MASE scale: it is left out
        of MASE, with a warning, and kept in the other metrics.
    """
    horizon = _positive_int(horizon, "horizon", "h")
    lookback = _positive_int(lookback, "lookback", "L")
    folds = _positive_int(folds, "folds", "folds")
    step = horizon if step is None else _positive_int(step, "step", "step")
    data = _as_sequence_set(data)
    if target is not None:
        _target_columns(data, target)  # a wrong name fails before any fitting
    forecaster = _Forecaster(model_or_fn, refit, dict(fit_options or {}))

    rows: list[dict[str, Any]] = []
    for fold in range(folds):
        cut = horizon + (folds - 1 - fold) * step
        origins = data.lengths - cut
        kept = np.flatnonzero(origins >= max(lookback, 2))
        if not len(kept):
            raise ValueError(
                problem(
                    f"no series is long enough for fold {fold}",
                    f"series of at least L + h + (folds - 1) x step = "
                    f"{lookback + cut} timesteps",
                    f"the longest has T={int(data.lengths.max())}",
                    "use fewer folds, a smaller step, or a shorter lookback",
                )
            )
        if len(kept) < len(data):
            warnings.warn(
                f"fold {fold}: {len(data) - len(kept)} of {len(data)} series are too "
                f"short to be cut {cut} steps before their end and keep lookback "
                f"L={lookback} steps; they are left out of this fold",
                stacklevel=2,
            )
        history = _history(data, kept, origins[kept])
        after = (data.offsets[kept] + origins[kept])[:, None] + np.arange(horizon)
        model_forecast, columns = forecaster(history, data, after, target)
        truth = data.values[after][:, :, columns].astype(np.float64)  # (B, h, K)
        if season is None:
            longest_lag = max(lookback, int(history.lengths.min()) // 2)
            season = estimate_season(_columns_of(history, columns), longest_lag)
        scaled = _scaled(history, columns, season, fold)
        forecasts = {
            "model": model_forecast,
            "naive": naive(_columns_of(history, columns), horizon),
            "seasonal_naive": seasonal_naive(
                _columns_of(history, columns), horizon, season
            ),
        }
        train = _columns_of(history, columns)
        train = [train[i] for i in scaled]
        for method, forecast in forecasts.items():
            rows.append(
                {
                    "fold": fold,
                    "steps_from_end": cut,
                    "method": method,
                    "series": len(kept),
                    "mae": mae(truth, forecast),
                    "rmse": rmse(truth, forecast),
                    "smape": smape(truth, forecast),
                    "mase": mase(truth[scaled], forecast[scaled], train, season)
                    if len(scaled)
                    else float("nan"),
                }
            )
        logger.info(
            "fold %d: %d series cut %d steps before the end", fold, len(kept), cut
        )
    import pandas as pd

    table = pd.DataFrame(rows, columns=COLUMNS)
    table.attrs["season"] = season
    return table


class _Forecaster:
    """One calling convention for functions and models: ``(B, h, K)`` float64
    forecasts and the feature columns they forecast."""

    def __init__(
        self, model_or_fn: Any, refit: bool, fit_options: dict[str, Any]
    ) -> None:
        is_model = hasattr(model_or_fn, "fit") and (
            hasattr(model_or_fn, "forecast") or hasattr(model_or_fn, "predict")
        )
        if not is_model and not callable(model_or_fn):
            raise TypeError(
                problem(
                    "model_or_fn must forecast",
                    "a function fn(history, horizon) or a model with fit() and "
                    "forecast()/predict()",
                    type(model_or_fn).__name__,
                )
            )
        self.model_or_fn = model_or_fn
        self.is_model = is_model
        self.refit = refit
        self.fit_options = fit_options

    def __call__(
        self,
        history: SequenceSet,
        data: SequenceSet,
        after: np.ndarray,
        target: str | Sequence[str] | None,
    ) -> tuple[np.ndarray, list[int]]:
        """Forecast ``h = after.shape[1]`` steps from the end of ``history``;
        ``after`` ``(B, h)`` are the rows of ``data`` being forecast, read only
        for the model's known-future features (known in advance by definition).
        """
        horizon = after.shape[1]
        if not self.is_model:
            columns = _target_columns(data, target)
            result = self.model_or_fn(history, horizon)
            return _as_forecast(result, len(history), horizon, len(columns)), columns
        model = self.model_or_fn
        if self.refit:
            model = copy.deepcopy(model)
            model.fit(history, **self.fit_options)
        known = [str(n) for n in getattr(model, "known_names_", None) or []]
        if target is None:
            named = [str(n) for n in getattr(model, "target_names_", None) or []]
            target = named or [n for n in data.feature_names if n not in known]
        columns = _target_columns(data, target)
        options: dict[str, Any] = {}
        if known:
            known_columns = _target_columns(data, known)
            options["future"] = data.values[after][:, :, known_columns]
        method = getattr(model, "forecast", None) or model.predict
        result = method(history, **options)
        return _as_forecast(result, len(history), horizon, len(columns)), columns


def _as_forecast(result: Any, n_series: int, horizon: int, n_outputs: int) -> Any:
    if hasattr(result, "detach"):
        result = result.detach().cpu().numpy()
    forecast = np.asarray(result, dtype=np.float64)
    if forecast.ndim == 2 and n_outputs == 1:
        forecast = forecast[..., None]
    expected = (n_series, horizon, n_outputs)
    if forecast.shape == expected and np.isnan(forecast).any():
        missing = int(np.isnan(forecast).any(axis=(1, 2)).sum())
        raise ValueError(
            problem(
                "the forecaster returned NaN forecasts",
                "a forecast for every series",
                f"NaN for {missing} of {n_series} series",
                "pass lookback= at least the model's lookback L, so that series "
                "too short for it are left out",
            )
        )
    if forecast.shape != expected:
        raise ValueError(
            problem(
                "the forecaster returned forecasts of the wrong shape",
                "(B, h, K) = " + str(expected),
                str(forecast.shape),
                "return one forecast of h steps for every series it was given",
            )
        )
    return forecast


def _as_sequence_set(data: Any) -> SequenceSet:
    if isinstance(data, SequenceSet):
        return data
    if isinstance(data, (list, tuple)) and data:
        parts = [np.asarray(s, dtype=np.float32) for s in data]
        parts = [p[:, None] if p.ndim == 1 else p for p in parts]
        lengths = [len(p) for p in parts]
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        return SequenceSet(np.concatenate(parts), offsets)
    array = np.asarray(data, dtype=np.float32)
    if array.ndim == 3:
        B, T, F = array.shape
        return SequenceSet(array.reshape(B * T, F), np.arange(B + 1) * T)
    raise ValueError(
        problem(
            "data must be many series",
            "a SequenceSet, a list of (T_i, F) arrays or a (B, T, F) array",
            f"{type(data).__name__} of shape {getattr(array, 'shape', '?')}",
            "wrap one series as [series]",
        )
    )


def _target_columns(data: SequenceSet, target: str | Sequence[str] | None) -> list[int]:
    if target is None:
        return list(range(data.n_features))
    names = [target] if isinstance(target, str) else list(target)
    for name in names:
        if name not in data.feature_names:
            raise ValueError(
                problem(
                    f"target feature {name!r} is not in the data",
                    "one of the feature names",
                    repr(name),
                    near_matches(name, data.feature_names),
                )
            )
    return [data.feature_names.index(name) for name in names]


def _history(data: SequenceSet, kept: np.ndarray, origins: np.ndarray) -> SequenceSet:
    """The ``kept`` series up to their ``origins``: a new SequenceSet holding
    nothing at or after them."""
    starts = data.offsets[kept]
    within = np.arange(int(origins.sum())) - np.repeat(
        np.cumsum(origins) - origins, origins
    )
    steps = np.repeat(starts, origins) + within  # flat rows before each origin
    offsets = np.concatenate([[0], np.cumsum(origins)]).astype(np.int64)
    target = data.target
    if target is not None:
        target = target[kept] if data.target_level == "series" else target[steps]
    return data.replace(
        values=data.values[steps],
        offsets=offsets,
        ids=data.ids[kept],
        times=data.times[steps],
        observed=None if data.observed is None else data.observed[steps],
        static=None if data.static is None else data.static[kept],
        target=target,
    )


def _columns_of(history: SequenceSet, columns: list[int]) -> list[np.ndarray]:
    values = history.values[:, columns].astype(np.float64)
    return [
        values[a:b]
        for a, b in zip(history.offsets[:-1], history.offsets[1:], strict=True)
    ]


def _scaled(
    history: SequenceSet, columns: list[int], season: int, fold: int
) -> np.ndarray:
    """Positions of the series whose MASE is defined: their history changes over
    the season. The others are named in a warning and left out of MASE only."""
    ids = history.ids.tolist()
    parts = _columns_of(history, columns)
    flat = [
        i
        for i, part in enumerate(parts)
        if (np.abs(part[season:] - part[:-season]).mean(axis=0) == 0).any()
    ]
    if flat:
        shown = ", ".join(repr(ids[i]) for i in flat[:5])
        more = "" if len(flat) <= 5 else f" and {len(flat) - 5} more"
        warnings.warn(
            f"fold {fold}: MASE is undefined for {len(flat)} of {len(parts)} series "
            f"({shown}{more}): their history repeats exactly every {season} "
            "step(s), so the (seasonal) naive rule makes no in-sample error to "
            "scale by; they are left out of MASE (NaN if none is left) but kept in "
            "MAE, RMSE and sMAPE",
            stacklevel=3,
        )
    return np.setdiff1d(np.arange(len(parts)), flat)

"""Naive forecasts that every model must beat: last value, last season, drift.

Each baseline forecasts ``h`` steps after the end of every series, from that
series alone. ``history`` may be

- one series: ``(T,)`` or ``(T, F)`` (timesteps first) -> ``(h,)`` or ``(h, F)``
- many series of one length: ``(B, T, F)`` -> ``(B, h, F)``
- many series of any lengths: a list of ``(T_i,)``/``(T_i, F)`` numpy arrays or a
  SequenceSet -> ``(B, h)``/``(B, h, F)``; each series ends at its own ``T_i``.

>>> import numpy as np
>>> naive(np.array([1.0, 2.0, 3.0]), horizon=2)
array([3., 3.])
>>> seasonal_naive(np.array([1.0, 2.0, 3.0, 4.0]), horizon=3, season=2)
array([3., 4., 3.])
>>> drift(np.array([1.0, 2.0, 3.0]), horizon=2)
array([4., 5.])
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._errors import problem

__all__ = ["drift", "estimate_season", "naive", "seasonal_naive"]

logger = logging.getLogger(__name__)

SEASON_SAMPLE = 200
"""Series read by :func:`estimate_season` at most (evenly spaced)."""


def naive(history: Any, horizon: int) -> np.ndarray:
    """Repeat each series' last value ``horizon`` times.

    >>> naive([np.array([1.0, 5.0]), np.array([7.0])], horizon=2)
    array([[5., 5.],
           [7., 7.]])
    """
    return seasonal_naive(history, horizon, season=1)


def seasonal_naive(history: Any, horizon: int, season: int) -> np.ndarray:
    """Repeat each series' last ``season`` values: step ``T + k`` (k = 1..h) gets
    the value at ``T - season + ((k - 1) mod season) + 1``, the same position one
    season earlier. ``season=1`` is :func:`naive`.

    >>> seasonal_naive(np.arange(6.0).reshape(1, 6, 1), horizon=4, season=3)[0, :, 0]
    array([3., 4., 5., 3.])
    """
    horizon = _positive_int(horizon, "horizon", "h")
    season = _positive_int(season, "season", "season")
    flat = _Flat.of(history)
    short = flat.lengths < season
    if short.any():
        i = int(np.flatnonzero(short)[0])
        raise ValueError(
            problem(
                f"series {flat.name(i)} is shorter than one season",
                f"at least season={season} timesteps",
                f"T={int(flat.lengths[i])}",
                "pass a smaller season or leave out the short series",
            )
        )
    ends = flat.offsets[1:]
    k = np.arange(horizon)
    rows = ends[:, None] - season + (k % season)[None, :]  # (B, h)
    return flat.shaped(
        flat.used(rows, "last value" if season == 1 else f"last {season} values")
    )


def drift(history: Any, horizon: int) -> np.ndarray:
    """Extend the line from each series' first to its last value: step ``T + k``
    gets ``y[T] + k * (y[T] - y[1]) / (T - 1)``. Needs ``T >= 2``.

    >>> drift(np.array([[0.0, 10.0], [2.0, 10.0]]), horizon=2)
    array([[ 4., 10.],
           [ 6., 10.]])
    """
    horizon = _positive_int(horizon, "horizon", "h")
    flat = _Flat.of(history)
    if (flat.lengths < 2).any():
        i = int(np.flatnonzero(flat.lengths < 2)[0])
        raise ValueError(
            problem(
                f"series {flat.name(i)} is too short for a drift",
                "at least 2 timesteps",
                f"T={int(flat.lengths[i])}",
                "use naive() for series of one step",
            )
        )
    first = flat.used(flat.offsets[:-1, None], "first value")[:, 0]  # (B, F)
    last = flat.used(flat.offsets[1:, None] - 1, "last value")[:, 0]  # (B, F)
    slope = (last - first) / (flat.lengths[:, None] - 1)
    k = np.arange(1, horizon + 1, dtype=np.float64)
    forecast = last[:, None, :] + k[None, :, None] * slope[:, None, :]  # (B, h, F)
    return flat.shaped(forecast)


def estimate_season(history: Any, max_lag: int) -> int:
    """The lag 2..``max_lag`` at which the series repeat best, or 1 if none does.

    The autocorrelation of each demeaned series and feature (at most
    :data:`SEASON_SAMPLE` series, evenly spaced) is averaged over all of them,
    weighted by length; the answer is the lag of its highest local peak if that
    peak is above 0.3 (a weaker one is indistinguishable from noise on short
    series), else 1 (no season: the seasonal naive rule is then the naive rule).
    Missing values are left out of each series before it is correlated.

    >>> t = np.arange(60.0)
    >>> estimate_season(np.sin(2 * np.pi * t / 12), max_lag=20)
    12
    """
    max_lag = _positive_int(max_lag, "max_lag", "lag")
    flat = _Flat.of(history)
    picked = np.unique(
        np.linspace(0, flat.n_series - 1, min(flat.n_series, SEASON_SAMPLE)).astype(int)
    )
    total = np.zeros(max_lag + 2)
    weight = np.zeros(max_lag + 2)
    for i in picked:
        series = flat.values[flat.offsets[i] : flat.offsets[i + 1]]
        for column in series.T:
            column = column[~np.isnan(column)]
            acf = _autocorrelation(column - column.mean(), max_lag + 1)
            total[: len(acf)] += acf * len(column)
            weight[: len(acf)] += len(column)
    acf = np.divide(total, weight, out=np.zeros_like(total), where=weight > 0)
    best, best_value = 1, 0.3
    for lag in range(2, max_lag + 1):
        peak = acf[lag] > acf[lag - 1] and acf[lag] >= acf[lag + 1]
        if peak and weight[lag] > 0 and acf[lag] > best_value:
            best, best_value = lag, acf[lag]
    logger.info("estimated season %d (autocorrelation %.2f)", best, best_value)
    return best


def _autocorrelation(column: np.ndarray, max_lag: int) -> np.ndarray:
    """Autocorrelation at lags 0..min(max_lag, T - 2) of one demeaned series,
    through the FFT: ``O(T log T)`` instead of one dot product per lag."""
    T = len(column)
    energy = float(column @ column)
    if T < 3 or energy == 0:
        return np.zeros(0)
    size = 1 << int(2 * T - 1).bit_length()
    spectrum = np.fft.rfft(column, size)
    products = np.fft.irfft(spectrum * np.conj(spectrum), size)[
        : min(max_lag, T - 2) + 1
    ]
    return products / energy


# -- one flat layout for every kind of history -------------------------------


class _Flat:
    """All series' steps in one ``(N, F)`` float64 buffer with ``offsets``, and a
    way back to the caller's layout."""

    def __init__(
        self,
        values: np.ndarray,
        offsets: np.ndarray,
        shaped: Callable[[np.ndarray], np.ndarray],
        ids: Sequence[Any] | None = None,
    ) -> None:
        self.values = values
        self.offsets = offsets
        self.lengths = np.diff(offsets)
        self.n_series = len(offsets) - 1
        self.shaped = shaped  # (B, h, F) -> the caller's layout
        self.ids = ids

    def name(self, i: int) -> str:
        return f"{self.ids[i]!r}" if self.ids is not None else f"at position {i}"

    def used(self, rows: np.ndarray, what: str) -> np.ndarray:
        """``values[rows]`` for a ``(B, k)`` row index, ``(B, k, F)``; a NaN there
        is an error (a baseline cannot repeat a value that was not recorded)."""
        picked = self.values[rows]
        missing = np.isnan(picked).any(axis=(1, 2))
        if missing.any():
            i = int(np.flatnonzero(missing)[0])
            raise ValueError(
                problem(
                    f"series {self.name(i)} has a missing value (NaN) among its {what}",
                    "recorded values where the baseline reads them",
                    f"NaN in {int(missing.sum())} of {self.n_series} series",
                    "fill missing values first (e.g. forward fill) or drop those "
                    "series",
                )
            )
        return picked

    @classmethod
    def of(cls, history: Any) -> _Flat:
        values = getattr(history, "values", None)
        offsets = getattr(history, "offsets", None)
        if isinstance(values, np.ndarray) and isinstance(offsets, np.ndarray):
            return cls(
                values.astype(np.float64), offsets, lambda f: f, history.ids.tolist()
            )
        if (
            isinstance(history, (list, tuple))
            and history
            and all(isinstance(s, np.ndarray) for s in history)
        ):
            return cls._of_list(list(history))
        array = np.asarray(history, dtype=np.float64)
        if array.ndim == 1:
            return cls(array[:, None], np.array([0, len(array)]), lambda f: f[0, :, 0])
        if array.ndim == 2:
            return cls(array, np.array([0, len(array)]), lambda f: f[0])
        if array.ndim == 3:
            B, T, F = array.shape
            offsets = np.arange(B + 1) * T
            return cls(array.reshape(B * T, F), offsets, lambda f: f)
        raise ValueError(
            problem(
                "history must be one series or many",
                "(T,), (T, F), (B, T, F), a list of arrays or a SequenceSet",
                f"an array with {array.ndim} axes, shape {array.shape}",
            )
        )

    @classmethod
    def _of_list(cls, series: list[np.ndarray]) -> _Flat:
        dims = {s.ndim for s in series}
        if not dims <= {1, 2} or len(dims) > 1:
            raise ValueError(
                problem(
                    "a list history must hold series of the same kind",
                    "all (T_i,) or all (T_i, F) arrays",
                    f"arrays with {sorted(dims)} axes",
                )
            )
        parts = [s[:, None] if s.ndim == 1 else s for s in series]
        widths = {p.shape[1] for p in parts}
        if len(widths) > 1:
            raise ValueError(
                problem(
                    "every series must have the same features F",
                    "one F for all series",
                    f"F in {sorted(widths)}",
                )
            )
        lengths = np.array([len(p) for p in parts])
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        values = np.concatenate(parts).astype(np.float64)
        one_d = dims == {1}
        return cls(values, offsets, (lambda f: f[..., 0]) if one_d else (lambda f: f))


def _positive_int(value: Any, name: str, letter: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(problem(f"{name} must be an int", "an int >= 1", repr(value)))
    if value < 1:
        raise ValueError(
            problem(f"{name} ({letter}) must be at least 1", "an int >= 1", str(value))
        )
    return int(value)

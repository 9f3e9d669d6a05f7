"""Hourly series with daily seasonality: the "next 20 from the last 20" demo.

How it is generated (``numpy.random.default_rng(seed)``), per series:

- it starts on 2024-01-01 at a random hour (0..23) and has ``length`` hourly
  steps, so the hour of day at step 0 differs between series;
- ``value`` = level + daily wave + half-day wave + slow trend + AR(1) noise:
  level ``N(10, 2)``; daily amplitude 1..3 with a per-series phase; half-day
  amplitude 0..1; trend ``N(0, 1)`` over the whole series; noise
  ``e_t = 0.7 e_(t-1) + N(0, 0.25)``;
- ``hour_sin``, ``hour_cos`` = sin, cos of 2 pi hour / 24, a calendar feature
  known in advance for any future step (a "known future" input).

With a lookback of 20 hours the last value is a poor guess for the next 20
(the daily wave moves by up to twice its amplitude), the seasonal naive guess
needs 24 hours of history, and a network that reads the last 20 values and the
hour of day can learn the wave's shape and beat both.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .bone import _check_size


def forecast_series(
    n_series: int = 20, length: int = 400, seed: int = 0
) -> pd.DataFrame:
    """Long table of hourly series: one row per (series, hour).

    Columns: ``series`` (``"s00"`` ...), ``time`` (datetime64, hourly),
    ``value`` (float), ``hour_sin``, ``hour_cos`` (calendar, known in advance).
    As model input: ``B=n_series`` series of ``(T=length, F=3)``; forecast
    ``value`` with ``hour_sin``/``hour_cos`` as known-future features.

    >>> df = forecast_series(n_series=2, length=48)
    >>> df.shape, list(df.columns)
    ((96, 5), ['series', 'time', 'value', 'hour_sin', 'hour_cos'])
    >>> str(df["time"].iloc[1] - df["time"].iloc[0])
    '0 days 01:00:00'
    """
    _check_size("n_series", n_series)
    _check_size("length", length, minimum=2)
    rng = np.random.default_rng(seed)
    B, T = n_series, length
    start_hour = rng.integers(0, 24, B)
    level = rng.normal(10.0, 2.0, B)
    daily = rng.uniform(1.0, 3.0, B)
    daily_phase = rng.uniform(0.0, 2 * np.pi, B)
    half_day = rng.uniform(0.0, 1.0, B)
    half_day_phase = rng.uniform(0.0, 2 * np.pi, B)
    trend = rng.normal(0.0, 1.0, B)

    hours = start_hour[:, None] + np.arange(T)[None, :]  # (B, T) hours since 2024
    angle = 2 * np.pi * (hours % 24) / 24
    noise = np.empty((B, T))
    shocks = rng.normal(0.0, 0.25, (B, T))
    noise[:, 0] = shocks[:, 0] / np.sqrt(1 - 0.7**2)
    for t in range(1, T):
        noise[:, t] = 0.7 * noise[:, t - 1] + shocks[:, t]
    value = (
        level[:, None]
        + daily[:, None] * np.sin(angle + daily_phase[:, None])
        + half_day[:, None] * np.sin(2 * angle + half_day_phase[:, None])
        + trend[:, None] * np.arange(T)[None, :] / T
        + noise
    )

    start = np.datetime64("2024-01-01T00:00", "h")
    return pd.DataFrame(
        {
            "series": np.repeat([f"s{i:02d}" for i in range(B)], T),
            "time": (start + hours.reshape(-1)).astype("datetime64[ns]"),
            "value": value.reshape(-1).astype(np.float32),
            "hour_sin": np.sin(angle).reshape(-1).astype(np.float32),
            "hour_cos": np.cos(angle).reshape(-1).astype(np.float32),
        }
    )

"""Sensor recordings: independent multivariate series of very different lengths,
each with a machine-fault label.

How it is generated (``numpy.random.default_rng(seed)``), per recording:

- its length is log-uniform in ``[min_length, max_length]``, so short and long
  recordings are equally common on a log scale (the case length buckets exist
  for);
- its fault class is ``"normal"`` (50%), ``"leak"`` (25%) or ``"bearing"``
  (25%);
- ``pressure`` = level + amplitude x sin(2 pi t / period + phase) + noise, with
  per-recording level, amplitude (0.5..2), period (12..48 steps) and phase; a
  leak adds a downward drift that reaches -1.5 at the end of the recording;
- ``temperature`` follows pressure a few steps late (an exponentially weighted
  mean of its last 40 steps) plus its own slow trend and noise;
- ``vibration`` is noise; a bearing fault adds a fast oscillation (period 3..5
  steps) whose amplitude grows from 0 to about 1 over the recording;
- further features (``sensor_3`` ...) are random mixtures of the first three
  plus noise.

Noise is Gaussian with standard deviation 0.3 on every feature, so the classes
overlap at the start of a recording and separate as the fault develops.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._errors import problem
from .bone import _check_size

FAULTS = ("normal", "leak", "bearing")
_NAMES = ("pressure", "temperature", "vibration")


def sensor_recordings(
    n_series: int = 200,
    min_length: int = 50,
    max_length: int = 1000,
    n_features: int = 3,
    seed: int = 0,
) -> pd.DataFrame:
    """Long table of recordings: one row per (recording, step).

    Columns: ``recording`` (``"rec-0000"`` ...), ``step`` (0..T_i-1), the
    features (``pressure``, ``temperature``, ``vibration``, then ``sensor_3``
    ... when ``n_features > 3``; the first ``n_features`` of those), and
    ``fault`` (``"normal"``, ``"leak"`` or ``"bearing"``, constant within a
    recording). As model input: ``B=n_series`` series of ``(T_i, F=n_features)``.

    >>> df = sensor_recordings(n_series=20, min_length=10, max_length=100)
    >>> list(df.columns)
    ['recording', 'step', 'pressure', 'temperature', 'vibration', 'fault']
    >>> lengths = df.groupby("recording").size()
    >>> bool(lengths.min() >= 10 and lengths.max() <= 100)
    True
    """
    _check_size("n_series", n_series)
    _check_size("min_length", min_length)
    _check_size("max_length", max_length)
    _check_size("n_features", n_features)
    if max_length < min_length:
        raise ValueError(
            problem("max_length", f">= min_length={min_length}", str(max_length))
        )
    rng = np.random.default_rng(seed)
    B = n_series
    log_length = rng.uniform(np.log(min_length), np.log(max_length + 1), B)
    lengths = np.clip(np.exp(log_length).astype(np.int64), min_length, max_length)
    fault = rng.choice(3, B, p=[0.5, 0.25, 0.25])

    level = rng.normal(0.0, 1.0, B)
    amplitude = rng.uniform(0.5, 2.0, B)
    period = rng.uniform(12.0, 48.0, B)
    phase = rng.uniform(0.0, 2 * np.pi, B)
    fast_period = rng.uniform(3.0, 5.0, B)
    temperature_trend = rng.normal(0.0, 0.5, B)
    mixing = rng.normal(0.0, 1.0, (max(n_features - 3, 0), 3))

    # one row per step of every recording: per-recording parameters repeated
    series = np.repeat(np.arange(B), lengths)
    step = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    progress = step / np.repeat(lengths, lengths)  # 0 .. 1 within each recording

    def per_step(values: np.ndarray) -> np.ndarray:
        return values[series]

    angle = 2 * np.pi * step / per_step(period) + per_step(phase)
    pressure = per_step(level) + per_step(amplitude) * np.sin(angle)
    pressure = pressure - 1.5 * progress * (per_step(fault) == 1)
    pressure = pressure + rng.normal(0.0, 0.3, len(step))

    temperature = _smooth(pressure, step, 0.2) + per_step(temperature_trend) * progress
    temperature = temperature + rng.normal(0.0, 0.3, len(step))

    fast = np.sin(2 * np.pi * step / per_step(fast_period))
    vibration = progress * fast * (per_step(fault) == 2)
    vibration = vibration + rng.normal(0.0, 0.3, len(step))

    base = np.column_stack([pressure, temperature, vibration])
    extra = base @ mixing.T + rng.normal(0.0, 0.3, (len(step), len(mixing)))
    values = np.column_stack([base, extra])[:, :n_features].astype(np.float32)
    names = [*_NAMES, *(f"sensor_{j}" for j in range(3, n_features))][:n_features]

    table = {
        "recording": np.array([f"rec-{i:04d}" for i in range(B)])[series],
        "step": step,
    }
    table.update({name: values[:, j] for j, name in enumerate(names)})
    table["fault"] = np.array(FAULTS)[fault][series]
    return pd.DataFrame(table)


def _smooth(values: np.ndarray, step: np.ndarray, weight: float) -> np.ndarray:
    """Exponentially weighted mean of the last 40 steps of the same recording
    (weights ``weight x (1 - weight)^k`` for lag k, renormalised near a
    recording's start); vectorised over all recordings, 40 passes."""
    total = np.zeros_like(values)
    norm = np.zeros_like(values)
    for lag in range(min(40, len(values))):
        c = weight * (1.0 - weight) ** lag
        inside = step >= lag  # the lagged step belongs to the same recording
        total[lag:] += c * values[: len(values) - lag] * inside[lag:]
        norm[lag:] += c * inside[lag:]
    return total / norm

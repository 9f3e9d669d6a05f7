"""Forecast evaluation: error metrics, naive baselines and rolling-origin
backtests. A forecaster's numbers mean something only beside the naive rules on
the same time split, so every backtest reports them too.

>>> import numpy as np, timesteps as ts
>>> history = np.array([1.0, 2.0, 3.0, 4.0])
>>> ts.forecast.naive(history, horizon=2)
array([4., 4.])
>>> float(ts.forecast.mae([5.0, 6.0], [4.0, 4.0]))
1.5
"""

from __future__ import annotations

# numpy only: pandas is imported inside backtest() when it builds its table.
from .backtest import backtest
from .baselines import drift, estimate_season, naive, seasonal_naive
from .metrics import mae, mase, rmse, smape

__all__ = [
    "backtest",
    "drift",
    "estimate_season",
    "mae",
    "mase",
    "naive",
    "rmse",
    "seasonal_naive",
    "smape",
]

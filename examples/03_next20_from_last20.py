"""Predict the next 20 steps from the last 20: LSTM(300) + Dense(20), explained.

The model from the question: an ``LSTM(300)`` reads a window of the last
L=20 values and a ``Dense(20)`` maps its final state to the next h=20 values at
once (the "direct" strategy). This example

- explains it: every layer's shapes, where its 362,400 (Keras) or 363,600
  (PyTorch) parameters come from, and the network unrolled over its 20 steps,
  drawn to a file;
- shows why windows must be split by time, not at random: neighbouring windows
  share 39 of their 40 steps, so a random split puts the test targets into the
  training inputs (the share is printed);
- trains the direct model on the past of every series and compares it, on a
  rolling-origin backtest over the held-out future, with the recursive
  strategy (one step, fed back 20 times), the encoder-decoder (seq2seq) one,
  and the naive baselines: the last value repeated, and the value one day
  (24 hours) earlier.

Run: ``python examples/03_next20_from_last20.py`` (``TIMESTEPS_EXAMPLE_SMALL=1``
for the quick version the tests run: fewer units, series and epochs; the
explained model is LSTM(300) + Dense(20) in both).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import torch

import timesteps as ts
from timesteps import format_shape

L, h, DAY = 20, 20, 24


def explain_question(out_dir: Path) -> ts.Sequential:
    net = ts.Sequential([ts.LSTM(300), ts.Dense(20)], input_shape=(L, 1))
    print("1. LSTM(300) + Dense(20) on windows of L=20 steps of F=1 feature")
    print(ts.explain(net))
    path = ts.diagram(net, out_dir / "lstm300_dense20.svg")
    print(
        f"   the network unrolled over T={L} steps: {path.name} "
        f"({path.stat().st_size:,} bytes)"
    )
    return net


def random_split_leak(data: ts.SequenceSet, seed: int = 0) -> float:
    """Share of test target steps that a random window split shows in training."""
    windows = data.windows(lookback=L, horizon=h)
    positions, starts = windows.locate(np.arange(len(windows)))
    flat = data.offsets[positions] + starts  # first step of each window
    test = np.random.default_rng(seed).random(len(windows)) < 0.2
    seen = np.zeros(data.n_steps, dtype=bool)
    for s in flat[~test]:
        seen[s : s + L + h] = True  # inputs and targets of a training window
    targets = flat[test][:, None] + L + np.arange(h)  # (n_test, h)
    leak = float(seen[targets].mean())
    print(
        f"\n2. {len(windows)} windows (L={L}, h={h}, stride 1); a random 80/20 "
        f"split of them leaks: {leak:.0%} of the test target steps are inside "
        f"some training window"
    )
    return leak


def strategies(units: int) -> dict[str, ts.Forecaster]:
    direct_net = ts.Sequential([ts.LSTM(units), ts.Dense(h)], input_shape=(L, 1))
    return {
        "direct": ts.Forecaster(lookback=L, horizon=h, network=direct_net),
        "recursive": ts.Forecaster(
            lookback=L, horizon=h, strategy="recursive", units=units
        ),
        "seq2seq": ts.Forecaster(
            lookback=L, horizon=h, strategy="seq2seq", units=units
        ),
    }


def compare(data: ts.SequenceSet, units: int, epochs: int, lr: float) -> pd.DataFrame:
    folds = 3
    held_out = h + (folds - 1) * h  # the backtest's test steps, at each end
    past, _ = data.split_by_time(steps=held_out)
    print(
        f"\n3. time split: the models train on the first {past.lengths[0]} "
        f"steps of each series; the last {held_out} are never seen in training"
    )
    scores, baselines = {}, {}
    for name, model in strategies(units).items():
        model.fit(past, epochs=epochs, lr=lr, verbose=0)
        table = ts.forecast.backtest(
            model, data, horizon=h, lookback=L, folds=folds, refit=False, season=DAY
        )
        means = table.groupby("method")[["mae", "mase"]].mean()
        scores[name] = means.loc["model"]
        baselines["naive (last value)"] = means.loc["naive"]
        baselines[f"seasonal naive ({DAY} h)"] = means.loc["seasonal_naive"]
    result = pd.DataFrame({**scores, **baselines}).T
    print(
        f"   rolling-origin backtest, {folds} origins {h} steps apart, "
        f"forecasts of h={h} (mean over origins):"
    )
    print("   " + result.round(3).to_string().replace("\n", "\n   "))
    best = result["mae"].idxmin()
    naive = result.loc["naive (last value)", "mae"]
    print(
        f"   lowest MAE: {best}; the direct LSTM's MAE is "
        f"{result.loc['direct', 'mae'] / naive:.2f} x the last-value guess"
    )
    return result


def main(small: bool = False, out_dir: str | Path = "example_output") -> None:
    torch.manual_seed(0)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    explain_question(out)

    n_series, length = (8, 200) if small else (20, 500)
    table = ts.datasets.forecast_series(n_series=n_series, length=length)
    data = ts.SequenceSet.from_long(table, id="series", time="time", features="value")
    print(
        f"\n   data: {len(data)} hourly series of T={length}, as "
        f"{format_shape((len(data), length, data.n_features), 'BTF')}"
    )
    random_split_leak(data)
    units, epochs, lr = (32, 5, 0.01) if small else (300, 10, 0.001)
    compare(data, units, epochs, lr)


if __name__ == "__main__":
    main(small=os.environ.get("TIMESTEPS_EXAMPLE_SMALL") == "1")

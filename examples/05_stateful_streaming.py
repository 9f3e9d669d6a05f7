"""Stateful streaming: steps arrive one at a time, per series id, in any order.

A deployed model rarely sees whole sequences. Readings arrive for pump 7, then
pump 2, then pump 7 again; running the model over each pump's whole history at
every new reading costs O(T) per step. The naive fix, one stateful layer for
everything, mixes the pumps' states: it only works if every call carries the
same series in the same rows. ``timesteps.layers.stream`` keeps one state per
series id in a ``StateStore``, so:

1. each series is fed a few steps at a time, interleaved with the others in a
   random order, and the outputs equal one full run over each whole sequence
   (the maximum absolute difference is printed);
2. a next-step model warmed up on each series' known history generates the
   future one step at a time, feeding each prediction back, with the state
   carried between steps; it is compared with the last-value guess, and checked
   against one full run over history + generated steps;
3. the same task with the library's model for it, ``Generator("autoregressive")``,
   whose ``generate(history, steps)`` warms up on each series and goes on from
   its end.

Run: ``python examples/05_stateful_streaming.py`` (``TIMESTEPS_EXAMPLE_SMALL=1``
for the quick version the tests run).
"""

from __future__ import annotations

import os

import numpy as np
import torch

import timesteps as ts
from timesteps import format_shape
from timesteps.layers import StateStore, stream


def out_of_order(n_series: int, max_length: int, seed: int = 0) -> float:
    """Stream interleaved chunks; return the max abs diff to the full run."""
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    F = 3
    lengths = rng.integers(max_length // 3, max_length + 1, n_series)
    ids = [f"pump-{i:02d}" for i in range(n_series)]
    x = torch.zeros(n_series, int(lengths.max()), F)  # (B, T, F), post-padded
    for i, n in enumerate(lengths):
        x[i, :n] = torch.randn(int(n), F)

    model = ts.Sequential(
        [ts.LSTM(16, return_sequences=True), ts.TimeDistributed(ts.Dense(1))],
        input_shape=(None, F),
    ).eval()
    with torch.no_grad():
        full = model(x, lengths=torch.from_numpy(lengths))  # (B, T, 1)
    print(f"1. {n_series} series of {lengths.min()}..{lengths.max()} steps, F={F}")
    print(
        f"   full run: {format_shape(tuple(x.shape), 'BTF')} -> "
        f"{format_shape(tuple(full.shape), 'BTK')}"
    )

    store = StateStore.for_model(model)
    streamed = torch.zeros_like(full)
    done = np.zeros(n_series, dtype=np.int64)  # steps already sent per series
    calls = 0
    with torch.no_grad():
        while (done < lengths).any():
            waiting = np.flatnonzero(done < lengths)
            rows = rng.permutation(waiting)[: rng.integers(1, len(waiting) + 1)]
            sizes = np.minimum(
                rng.integers(1, 4, len(rows)), lengths[rows] - done[rows]
            )
            chunk = torch.zeros(len(rows), int(sizes.max()), F)  # (B', T', F)
            for k, (i, n) in enumerate(zip(rows, sizes, strict=True)):
                chunk[k, :n] = x[i, done[i] : done[i] + n]
            out = stream(
                model,
                [ids[i] for i in rows],
                chunk,
                lengths=torch.from_numpy(sizes),
                store=store,
            )
            for k, (i, n) in enumerate(zip(rows, sizes, strict=True)):
                streamed[i, done[i] : done[i] + n] = out[k, :n]
            done[rows] += sizes
            calls += 1
    diff = float((streamed - full).abs().max())
    print(
        f"   streamed in {calls} calls of 1..3 steps for a random subset of ids,"
        f" {len(store)} states stored"
    )
    print(f"   streamed vs full run: max abs diff {diff:.2e}")
    return diff


def waves(n_series: int, length: int, rng: np.random.Generator) -> np.ndarray:
    """``(B, T, 1)`` noisy sine waves, each with its own period, phase, level."""
    period = rng.uniform(8.0, 16.0, (n_series, 1))
    phase = rng.uniform(0.0, 2 * np.pi, (n_series, 1))
    level = rng.normal(0.0, 0.5, (n_series, 1))
    t = np.arange(length)[None, :]
    values = level + np.sin(2 * np.pi * t / period + phase)
    values += rng.normal(0.0, 0.05, values.shape)
    return values[:, :, None].astype(np.float32)


def generate_after_warm_up(small: bool, seed: int = 0) -> tuple[float, float, float]:
    """Train a next-step model, warm it up, generate; return (model MAE, naive
    MAE, max abs diff of step-by-step generation to one full run)."""
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    history, horizon = 40, 20
    train = waves(128 if small else 1024, history + horizon, rng)
    model = ts.Sequential(
        [ts.LSTM(32, return_sequences=True), ts.TimeDistributed(ts.Dense(1))],
        input_shape=(None, 1),
    )
    model.compile(loss="mse", optimizer="adam", lr=0.01)
    epochs = 25 if small else 40
    result = model.fit(
        train[:, :-1], train[:, 1:], batch_size=32, epochs=epochs, verbose=0, seed=seed
    )
    print(
        f"2. next-step LSTM(32) trained on {format_shape(train.shape, 'BTF')} "
        f"for {epochs} epochs, final mse {result.history['loss'][-1]:.4f}"
    )

    test = waves(16 if small else 200, history + horizon, rng)
    known, future = torch.from_numpy(test[:, :history]), test[:, history:, 0]
    ids = list(range(len(test)))
    model.eval()
    store = StateStore.for_model(model)
    with torch.no_grad():
        out = stream(model, ids, known, store=store)  # warm-up: (B, T=40, 1)
        step = out[:, -1:]  # the first predicted step (B, 1, 1)
        generated = [step]
        for _ in range(horizon - 1):
            step = stream(model, ids, step, store=store)  # (B, 1, 1), state carried
            generated.append(step)
        forecast = torch.cat(generated, dim=1)  # (B, h, 1)
        replay = torch.cat([known, forecast[:, :-1]], dim=1)
        check = model(replay)[:, history - 1 :]  # one run over the same inputs
    diff = float((forecast - check).abs().max())

    model_mae = float(np.abs(forecast[:, :, 0].numpy() - future).mean())
    naive_mae = float(np.abs(test[:, history - 1 : history, 0] - future).mean())
    shown = format_shape(tuple(forecast.shape), "BhF")
    print(
        f"   warm-up on the known {format_shape(tuple(known.shape), 'BTF')}, then "
        f"{horizon} steps fed back one by one: {shown}"
    )
    print(
        f"   MAE over the {horizon} generated steps: model {model_mae:.3f}, "
        f"last value repeated {naive_mae:.3f}"
    )
    print(f"   step-by-step generation vs one full run: max abs diff {diff:.2e}")
    return model_mae, naive_mae, diff


def generator_model(small: bool, seed: int = 0) -> tuple[float, float]:
    """``Generator("autoregressive")`` on the same kind of waves; return (model
    MAE, naive MAE) over the generated steps."""
    rng = np.random.default_rng(seed)
    history, horizon = 40, 20
    train = waves(128 if small else 1024, history + horizon, rng)
    test = waves(16 if small else 200, history + horizon, rng)
    model = ts.Generator("autoregressive", units=32, seed=seed)
    model.fit(list(train), epochs=25 if small else 40, lr=0.01, verbose=0)
    known = ts.SequenceSet.from_arrays(test[:, :history])
    table = model.generate(known, steps=horizon)  # id, step 1..h, f0
    forecast = table["f0"].to_numpy().reshape(len(test), horizon)
    future = test[:, history:, 0]
    model_mae = float(np.abs(forecast - future).mean())
    naive_mae = float(np.abs(test[:, history - 1 : history, 0] - future).mean())
    print(
        f"3. Generator('autoregressive'): fit on {len(train)} sequences, then "
        f"generate(history, steps={horizon}) -> a table of {len(table)} rows "
        f"(id, step, f0)"
    )
    print(
        f"   MAE over the {horizon} generated steps: model {model_mae:.3f}, "
        f"last value repeated {naive_mae:.3f}"
    )
    return model_mae, naive_mae


def main(small: bool = False) -> None:
    out_of_order(n_series=6 if small else 50, max_length=12 if small else 300)
    generate_after_warm_up(small)
    generator_model(small)


if __name__ == "__main__":
    main(small=os.environ.get("TIMESTEPS_EXAMPLE_SMALL") == "1")

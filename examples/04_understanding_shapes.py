"""Understanding shapes: many-to-one, many-to-many, one-to-many, windows, tanks.

Every shape printed here is read from a real tensor. The topologies:

1. many-to-one: a recurrent layer keeps only its last step, ``(B, T, F) -> (B, H)``;
2. many-to-many: ``return_sequences=True`` keeps every step and a
   ``TimeDistributed`` head maps each step, ``(B, T, F) -> (B, T, K)``;
3. one-to-many with ``RepeatVector``: one vector per sample is repeated along a
   new time axis, ``(B, F) -> (B, n, K)``;
4. one-to-many, autoregressive: one step at a time, each output fed back as the
   next input, the state carried by a stateful layer (checked against one full
   run over the same inputs);
5. sliding windows: made by hand over series joined end to end (the mistake:
   windows that start in one series and end in the next) versus
   ``SequenceSet.windows()``, which never crosses;
6. the "oil tanks" picture: N tanks, 5 hourly readings, pressure and
   temperature, as ``(B=N, T=5, F=2)``.

Run: ``python examples/04_understanding_shapes.py`` (``TIMESTEPS_EXAMPLE_SMALL=1``
for the quick version the tests run).
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import torch

import timesteps as ts
from timesteps import format_shape


def shape_of(x: torch.Tensor | np.ndarray, letters: str) -> str:
    """A tensor's shape in the axis vocabulary, e.g. ``(B=8, T=10, F=2)``."""
    return format_shape(tuple(x.shape), letters)


def many_to_one(B: int, T: int, F: int) -> None:
    print("1. many-to-one: the recurrent layer keeps its last step only")
    x = torch.randn(B, T, F)
    lstm, head = ts.LSTM(16), ts.Dense(1)
    model = ts.Sequential([lstm, head], input_shape=(T, F))
    h = lstm(x)
    print(f"   input            {shape_of(x, 'BTF')}")
    print(
        f"   LSTM(16)         {shape_of(h, 'BH')}   <- T is gone: one vector a sample"
    )
    print(f"   Dense(1)         {shape_of(model(x), 'BK')}")
    longer = torch.randn(B, 3 * T, F)
    lstm_any = ts.LSTM(16)
    print(
        f"   same LSTM(16) on {shape_of(longer, 'BTF')} -> "
        f"{shape_of(lstm_any(longer), 'BH')}: H=16 does not depend on T"
    )


def many_to_many(B: int, T: int, F: int) -> None:
    print("2. many-to-many: return_sequences=True, a TimeDistributed head")
    x = torch.randn(B, T, F)
    lstm = ts.LSTM(16, return_sequences=True)
    head = ts.TimeDistributed(ts.Dense(3))
    model = ts.Sequential([lstm, head], input_shape=(None, F))
    seq = lstm(x)
    print(f"   input                     {shape_of(x, 'BTF')}")
    print(f"   LSTM(16, return_seq=True) {shape_of(seq, 'BTH')}")
    print(f"   TimeDistributed(Dense(3)) {shape_of(model(x), 'BTK')}")
    lengths = torch.tensor([T] + [T // 2] * (B - 1))
    out = model(x, lengths=lengths)
    print(
        f"   with true lengths {lengths[:3].tolist()}...: steps past each end are "
        f"zero: {bool((out[1:, T // 2 :] == 0).all())}"
    )


def one_to_many_repeat(B: int, F: int, n: int) -> None:
    print("3. one-to-many with RepeatVector: one vector in, n steps out")
    x = torch.randn(B, F)
    model = ts.Sequential(
        [
            ts.Dense(16, activation="tanh"),
            ts.RepeatVector(n),
            ts.LSTM(16, return_sequences=True),
            ts.TimeDistributed(ts.Dense(1)),
        ],
        input_shape=(F,),
    )
    print(f"   {'input':<34}{shape_of(x, 'BF')}")
    y = x
    for layer, letters in zip(model.layers, ["BH", "BTH", "BTH", "BTK"], strict=True):
        y = layer(y)
        print(f"   {layer!r:<34}{shape_of(y, letters)}")


def one_to_many_autoregressive(B: int, steps: int) -> float:
    """Generate ``steps`` values one at a time; return the max abs difference
    to one full run of the same network over the generated inputs."""
    print("4. one-to-many, autoregressive: each output is the next input")
    torch.manual_seed(0)
    rnn = ts.LSTM(16, return_sequences=True, stateful=True)
    head = ts.TimeDistributed(ts.Dense(1))
    net = ts.Sequential([rnn, head], input_shape=(None, 1)).eval()

    x = torch.randn(B, 1, 1)  # (B, T=1, F=1): the seed value of each sample
    inputs, outputs = [x], []
    with torch.no_grad():
        rnn.reset_states()
        for step in range(steps):
            y = net(inputs[-1])  # (B, 1, 1); the state moves on by one step
            outputs.append(y)
            if step < 2:
                print(
                    f"   step {step}: in {shape_of(inputs[-1], 'BTF')} -> out "
                    f"{shape_of(y, 'BTF')}, carried state "
                    f"{shape_of(rnn.states[0], 'BH')}"
                )
            inputs.append(y)
        generated = torch.cat(outputs, dim=1)  # (B, steps, 1)
        rnn.reset_states()
        full = net(torch.cat(inputs[:-1], dim=1))  # the same inputs, one call
    diff = float((generated - full).abs().max())
    print(f"   generated {shape_of(generated, 'BTF')}")
    print(f"   step by step vs one full run: max abs diff {diff:.2e}")
    return diff


def sliding_windows(lengths: list[int], L: int, h: int) -> tuple[int, int]:
    """Windows by hand over joined series versus ``SequenceSet.windows``."""
    print(f"5. sliding windows, lookback L={L}, horizon h={h}")
    rng = np.random.default_rng(0)
    series = [
        rng.normal(size=(n, 1)).astype(np.float32) + 10 * i
        for i, n in enumerate(lengths)
    ]
    owner = np.concatenate([np.full(n, i) for i, n in enumerate(lengths)])
    joined = np.concatenate(series)  # the mistake: one long series

    starts = np.arange(len(joined) - L - h + 1)
    x_hand = np.stack([joined[s : s + L] for s in starts])  # (n_windows, L, F)
    crossing = int(sum(owner[s] != owner[s + L + h - 1] for s in starts))
    print(f"   by hand over the joined series: x {shape_of(x_hand, 'BLF')}")
    s = int(next(s for s in starts if owner[s] != owner[s + L + h - 1]))
    print(
        f"   {crossing} of them cross from one series into the next, e.g. "
        f"window {s}: steps of series {sorted(set(owner[s : s + L + h].tolist()))}"
    )

    data = ts.SequenceSet.from_arrays(series)
    windows = data.windows(lookback=L, horizon=h)
    batch = next(iter(windows.to_batches(batch_size=len(windows), shuffle=False)))
    positions, steps = windows.locate(np.arange(len(windows)))
    ends_inside = bool((steps + L + h <= data.lengths[positions]).all())
    expected = sum(n - L - h + 1 for n in lengths)
    print(
        f"   data.windows(): x {shape_of(batch.x, 'BLF')}, y "
        f"{shape_of(batch.y, 'BhK')}; {len(windows)} windows = sum(T_i - L - h + 1)"
        f" = {expected}; every window inside its own series: {ends_inside}"
    )
    print(f"   index held by the windows: {windows.nbytes} bytes (no copies)")
    return crossing, len(windows)


def oil_tanks(n_tanks: int) -> None:
    print(f"6. oil tanks: {n_tanks} tanks, 5 hourly readings of 2 features")
    rng = np.random.default_rng(1)
    hours = pd.date_range("2024-05-01 06:00", periods=5, freq="h")
    table = pd.DataFrame(
        {
            "tank": np.repeat([f"T{i:03d}" for i in range(n_tanks)], 5),
            "time": np.tile(hours, n_tanks),
            "pressure": rng.normal(2.0, 0.1, 5 * n_tanks).round(3),
            "temperature": rng.normal(15.0, 2.0, 5 * n_tanks).round(1),
        }
    )
    print(f"   long table: {table.shape[0]} rows = {n_tanks} tanks x 5 hours")
    data = ts.SequenceSet.from_long(table, id="tank", time="time")
    x = np.stack([data.series(i) for i in range(len(data))])
    print(f"   as model input: {shape_of(x, 'BTF')}")
    print(
        f"   B = tanks ({len(data)}), T = hourly readings "
        f"({int(data.lengths[0])}), F = {data.feature_names}"
    )
    model = ts.Sequential([ts.GRU(8), ts.Dense(1)], input_shape=(5, 2))
    out = model(torch.from_numpy(x))
    print(f"   GRU(8) + Dense(1): one number per tank {shape_of(out, 'BK')}")


def main(small: bool = False) -> None:
    torch.manual_seed(0)
    B, T, F = (4, 6, 2) if small else (32, 20, 2)
    many_to_one(B, T, F)
    many_to_many(B, T, F)
    one_to_many_repeat(B, F=3, n=5)
    one_to_many_autoregressive(B, steps=8 if small else 30)
    sliding_windows([12, 9, 15] if small else [120, 90, 150], L=5, h=2)
    oil_tanks(40 if small else 1000)


if __name__ == "__main__":
    main(small=os.environ.get("TIMESTEPS_EXAMPLE_SMALL") == "1")

"""Many recordings of very different lengths: batch them, never join them.

Thousands of independent multivariate recordings (machines, patients, runs),
from tens to thousands of steps each, with a fault label per recording. The
usual first attempts, and what goes wrong:

- **joining them along time** into one long series and cutting windows: some
  windows start in one recording and end in the next (shown), so the model
  learns transitions that never happened;
- **padding every recording to the longest**: most of each batch is padding
  (the share is printed);
- **a loop over the recordings, one at a time**: no padding, but one small
  kernel call per recording (the measured epoch time is printed).

What `timesteps` does instead: recordings stay separate rows of the samples
axis B, grouped into **length buckets** with their true lengths, so almost
nothing is padded and each batch is one fused call. Then, for very long
recordings, a **strided Conv1D** front shortens T before the recurrent layer,
and **chunks with state carried** let a stateful layer read a recording piece
by piece (chunk by chunk equals one full run).

Run: ``python examples/02_many_recordings.py`` (``TIMESTEPS_EXAMPLE_SMALL=1``
for the quick version the tests run).
"""

from __future__ import annotations

import copy
import os
import time

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

import timesteps as ts
from timesteps import format_shape
from timesteps.data import Batch
from timesteps.data.views import SeriesTargetView
from timesteps.training import TrainConfig, fit


def load(n_series: int, min_length: int, max_length: int) -> ts.SequenceSet:
    table = ts.datasets.sensor_recordings(
        n_series=n_series, min_length=min_length, max_length=max_length
    )
    data = ts.SequenceSet.from_long(table, id="recording", time="step", target="fault")
    codes, classes = pd.factorize(data.target, sort=True)  # class names -> 0, 1, 2
    print(
        f"{len(data)} recordings, T_i from {data.lengths.min()} to "
        f"{data.lengths.max()} steps, F={data.n_features} {data.feature_names}, "
        f"classes {list(classes)}"
    )
    return data.replace(
        target=codes.astype(np.int64), meta={**data.meta, "classes": list(classes)}
    )


def joined_windows(data: ts.SequenceSet, L: int) -> int:
    """Cut windows over all recordings joined end to end; count the bad ones."""
    owner = np.repeat(np.arange(len(data)), data.lengths)  # recording of each step
    starts = np.arange(data.n_steps - L + 1)
    crossing = np.flatnonzero(owner[starts] != owner[starts + L - 1])
    labels = data.target[owner]
    mixed = crossing[labels[crossing] != labels[crossing + L - 1]]
    s = int(mixed[0] if len(mixed) else crossing[0])  # prefer one that mixes labels
    parts, counts = np.unique(owner[s : s + L], return_counts=True)
    label = data.meta["classes"]
    print(
        f"\n1. joined along time: one series of T={data.n_steps}; windows of "
        f"L={L}: {len(starts)}, of which {len(crossing)} cross into the next "
        f"recording"
    )
    mix = ", ".join(
        f"{n} steps of {data.ids[r]} ({label[data.target[r]]})"
        for r, n in zip(parts, counts, strict=True)
    )
    print(f"   e.g. window {s}: {mix}")
    return len(crossing)


def make_network(F_: int, n_classes: int, units: int) -> ts.Sequential:
    torch.manual_seed(0)
    return ts.Sequential([ts.LSTM(units), ts.Dense(n_classes)], input_shape=(None, F_))


def loss_fn(module: torch.nn.Module, batch: Batch) -> tuple[torch.Tensor, int]:
    logits = module(batch.x, lengths=batch.lengths)  # (B, K)
    return F.cross_entropy(logits, batch.y), len(batch)


def padded_to_longest(data: ts.SequenceSet, batch_size: int) -> list[Batch]:
    """Every recording padded to the longest one, in random batches."""
    T_max = int(data.lengths.max())
    x = torch.zeros(len(data), T_max, data.n_features)  # (B, T_max, F)
    for i in range(len(data)):
        x[i, : data.lengths[i]] = torch.from_numpy(data.series(i))
    lengths, y = torch.from_numpy(data.lengths), torch.from_numpy(data.target)
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(0))
    return [
        Batch(x[rows], lengths[rows], rows, y[rows]) for rows in order.split(batch_size)
    ]


def one_at_a_time(data: ts.SequenceSet) -> list[Batch]:
    """One batch per recording: (B=1, T_i, F)."""
    return [
        Batch(
            torch.from_numpy(data.series(i))[None],
            torch.tensor([data.lengths[i]]),
            torch.tensor([i]),
            torch.from_numpy(data.target[i : i + 1]),
        )
        for i in range(len(data))
    ]


def padding_share(batches: list[Batch]) -> float:
    processed = sum(b.x.shape[0] * b.x.shape[1] for b in batches)
    real = sum(int(b.lengths.sum()) for b in batches)
    return 1.0 - real / processed


def time_epoch(network: ts.Sequential, batches: object) -> float:
    """Seconds for one training epoch of a copy of ``network``."""
    module = copy.deepcopy(network)
    config = TrainConfig(epochs=1, verbose=0, seed=0)
    start = time.perf_counter()
    fit(module, loss_fn, batches, config=config)  # type: ignore[arg-type]
    return time.perf_counter() - start


def compare_batching(
    data: ts.SequenceSet, units: int, batch_size: int
) -> dict[str, float]:
    network = make_network(data.n_features, 3, units)
    buckets = SeriesTargetView(data).to_batches(batch_size=batch_size, seed=0)
    longest = padded_to_longest(data, batch_size)
    single = one_at_a_time(data)
    fit(
        copy.deepcopy(network),
        loss_fn,
        single[:2],
        config=TrainConfig(epochs=1, verbose=0),
    )  # warm-up: first-call costs

    print(
        f"\n2. one epoch of the same LSTM({units}) + Dense(3), batch size "
        f"{batch_size}, on {data.n_steps} real steps"
    )
    rows = {
        "length buckets + true lengths": (buckets, buckets.padding_share),
        "padded to the longest": (longest, padding_share(longest)),
        "one recording at a time": (single, 0.0),
    }
    seconds = {}
    for name, (batches, share) in rows.items():
        seconds[name] = time_epoch(network, batches)
        print(
            f"   {name:<30} {len(batches):>5} batches, padding {share:6.1%}, "
            f"epoch {seconds[name]:6.2f} s"
        )
    fast = seconds["length buckets + true lengths"]
    print(
        f"   buckets are {seconds['padded to the longest'] / fast:.1f}x faster "
        f"than padding to the longest and "
        f"{seconds['one recording at a time'] / fast:.1f}x faster than the loop"
    )
    first = next(iter(buckets))
    print(
        f"   a bucketed batch: x {format_shape(tuple(first.x.shape), 'BTF')}, "
        f"true lengths {first.lengths[:4].tolist()}..., "
        f"{buckets.n_buckets} buckets in all"
    )
    return seconds


def conv_front(data: ts.SequenceSet, units: int, stride: int) -> None:
    longest = np.argsort(data.lengths)[-4:]
    batch = next(
        iter(
            SeriesTargetView(data, rows=longest).to_batches(batch_size=4, shuffle=False)
        )
    )
    conv = ts.Conv1D(16, kernel_size=stride, strides=stride, activation="relu")
    net = ts.Sequential(
        [conv, ts.LSTM(units), ts.Dense(3)], input_shape=(None, data.n_features)
    )
    explanation = ts.explain(net, batch)
    print(
        f"\n3. a strided Conv1D front for the longest recordings "
        f"(kernel {stride}, stride {stride}):"
    )
    for row in explanation.rows:
        print(f"   {row.spec:<44} {row.shapes}")
    print(
        f"   true lengths {batch.lengths.tolist()} -> after the Conv1D "
        f"{conv.output_lengths(batch.lengths).tolist()}: the LSTM runs "
        f"{stride}x fewer steps"
    )


def chunked(data: ts.SequenceSet, n_longest: int, chunk: int, units: int) -> float:
    """A stateful LSTM fed chunk by chunk equals one full run; then train
    chunk by chunk (truncated backpropagation through time)."""
    rows = np.argsort(data.lengths)[-n_longest:]
    T = int(data.lengths[rows].min()) // chunk * chunk  # equal length, whole chunks
    x = torch.from_numpy(np.stack([data.series(i)[:T] for i in rows]))  # (B, T, F)
    y = torch.from_numpy(data.target[rows])

    torch.manual_seed(0)
    lstm = ts.LSTM(units, return_sequences=True, stateful=True)
    head = ts.TimeDistributed(ts.Dense(3))
    net = ts.Sequential([lstm, head], input_shape=(None, data.n_features))
    with torch.no_grad():
        lstm.reset_states()
        full = net(x)  # (B, T, 3), one call
        lstm.reset_states()
        pieces = [net(part) for part in x.split(chunk, dim=1)]
    diff = float((torch.cat(pieces, dim=1) - full).abs().max())
    print(
        f"\n4. the {n_longest} longest recordings cut to "
        f"{format_shape(tuple(x.shape), 'BTF')}, fed as {T // chunk} chunks of "
        f"{format_shape((n_longest, chunk, data.n_features), 'BTF')}"
    )
    print(
        f"   stateful LSTM({units}), chunk by chunk vs one full run: "
        f"max abs diff {diff:.2e}"
    )

    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    losses = []
    for _ in range(2):
        lstm.reset_states()  # a new pass starts each recording from zeros
        for part in x.split(chunk, dim=1):
            logits = net(part)[:, -1]  # (B, 3) at the chunk's last step
            loss = F.cross_entropy(logits, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # stops at the chunk: the carried state is detached
            optimizer.step()
            losses.append(loss.item())
    print(
        f"   trained chunk by chunk, state carried (2 passes): loss "
        f"{losses[0]:.3f} on the first chunk, {losses[-1]:.3f} on the last"
    )
    return diff


def main(small: bool = False) -> None:
    if small:
        data = load(n_series=120, min_length=20, max_length=300)
        units, batch_size, chunk = 16, 16, 25
    else:
        data = load(n_series=1000, min_length=50, max_length=2000)
        units, batch_size, chunk = 32, 32, 250
    joined_windows(data, L=50)
    compare_batching(data, units, batch_size)
    conv_front(data, units, stride=4)
    chunked(data, n_longest=8, chunk=chunk, units=units)


if __name__ == "__main__":
    main(small=os.environ.get("TIMESTEPS_EXAMPLE_SMALL") == "1")

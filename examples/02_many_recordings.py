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
``fit(..., chunk_length=C)`` reads each recording in **chunks with the state
carried** from one chunk to the next (chunk by chunk equals one full run).

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


def chunked(data: ts.SequenceSet, share: int, chunk: int, units: int) -> float:
    """Train on the longest recordings in chunks of ``chunk`` steps, the state
    carried from chunk to chunk and detached in between (truncated
    backpropagation through time); predicting in the same chunks equals one
    full run."""
    rows = np.argsort(data.lengths)[-len(data) // share :]
    part = data.subset(rows)
    model = ts.Classifier(units=units, seed=0)
    history = model.fit(
        part, epochs=2, batch_size=16, validation=None, verbose=0, chunk_length=chunk
    )
    by_chunks = model.predict_proba(part)  # in chunks of `chunk`, as in fit
    whole = model.predict_proba(part, chunk_length=None)
    diff = float(np.abs(by_chunks.iloc[:, 1:] - whole.iloc[:, 1:]).to_numpy().max())
    print(
        f"\n4. the {len(part)} longest recordings (T_i {part.lengths.min()} to "
        f"{part.lengths.max()}), read as chunks of "
        f"{format_shape((16, chunk, data.n_features), 'BTF')}: "
        f"Classifier(units={units}).fit(..., chunk_length={chunk})"
    )
    print(
        f"   predicted chunk by chunk vs one full run: max abs diff {diff:.2e}; "
        f"training loss {history.loss[0]:.3f} in epoch 1, "
        f"{history.loss[-1]:.3f} in epoch 2"
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
    chunked(data, share=4, chunk=chunk, units=units)


if __name__ == "__main__":
    main(small=os.environ.get("TIMESTEPS_EXAMPLE_SMALL") == "1")

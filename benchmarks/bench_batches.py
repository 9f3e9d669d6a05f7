"""Length-bucketed batches against plain padding and a per-sample DataLoader.

Run: ``python benchmarks/bench_batches.py`` (under a minute on 2 idle cores).

Two measurements, alternatives side by side in one run:

1. the data pipeline alone: seconds per epoch to produce every batch of
   - ``Batches(bucket=True)``: buckets padded once, a gather per batch;
   - ``Batches(bucket=False)``: a random batch padded to its own longest row;
   - ``torch.utils.data.DataLoader`` over a per-sample Dataset with
     ``pad_sequence`` in ``collate_fn`` (the usual hand-written loop);
   for the bone-size shape (4000 x 3 x 1, B=50) and for 256 series of
   100..1000 steps (F=8, B=32);
2. training ``nn.LSTM(8, 64)`` + a linear head on the 256 ragged series for one
   epoch, bucketed vs plain padding, in real (unpadded) steps per second.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable

import numpy as np
import torch
from torch.nn.utils.rnn import pad_sequence

from timesteps.data.batches import Batches
from timesteps.data.sequence_set import SequenceSet
from timesteps.data.views import InputView, SeriesTargetView


def _ragged(lengths: np.ndarray, n_features: int) -> SequenceSet:
    rng = np.random.default_rng(0)
    offsets = np.r_[0, np.cumsum(lengths)]
    values = rng.standard_normal((int(offsets[-1]), n_features), dtype=np.float32)
    return SequenceSet(values, offsets, target=np.arange(len(lengths)) % 2)


def _data_loader(data: SequenceSet, batch_size: int) -> Iterable:
    series = [torch.from_numpy(data.series(i)) for i in range(len(data))]
    targets = torch.from_numpy(data.target)

    def collate(rows: list[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = pad_sequence([series[i] for i in rows], batch_first=True)
        lengths = torch.tensor([len(series[i]) for i in rows])
        return x, lengths, targets[rows]

    return torch.utils.data.DataLoader(
        range(len(data)), batch_size=batch_size, shuffle=True, collate_fn=collate
    )


def _seconds_per_epoch(make_epoch: Callable[[int], Iterable], epochs: int) -> float:
    times = []
    for epoch in range(epochs):
        start = time.perf_counter()
        for _ in make_epoch(epoch):
            pass
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def _epochs(batches: Batches) -> Callable[[int], Iterable]:
    def run(epoch: int) -> Iterable:
        batches.set_epoch(epoch)
        return batches

    return run


def pipeline() -> None:
    cases = {
        "bone-size 4000 x 3 x 1, B=50": (_ragged(np.full(4000, 3), 1), 50),
        "256 series T=100..1000, F=8, B=32": (
            _ragged(np.random.default_rng(1).integers(100, 1001, 256), 8),
            32,
        ),
    }
    print("data pipeline, seconds per epoch (median of 5)")
    for name, (data, batch_size) in cases.items():
        view = SeriesTargetView(data)
        bucketed = Batches(view, batch_size=batch_size, bucket=True)
        plain = Batches(view, batch_size=batch_size, bucket=False)
        loader = _data_loader(data, batch_size)
        t_bucketed = _seconds_per_epoch(_epochs(bucketed), 5)
        t_plain = _seconds_per_epoch(_epochs(plain), 5)
        t_loader = _seconds_per_epoch(lambda epoch, loader=loader: loader, 5)
        print(
            f"  {name}: bucketed {t_bucketed * 1e3:.1f} ms "
            f"(padding {bucketed.padding_share:.1%}), plain {t_plain * 1e3:.1f} ms "
            f"(padding {plain.padding_share:.1%}), DataLoader {t_loader * 1e3:.1f} ms"
            f" -> DataLoader / bucketed = {t_loader / t_bucketed:.1f}x"
        )


def training() -> None:
    torch.manual_seed(0)
    lengths = np.random.default_rng(1).integers(100, 1001, 256)
    data = _ragged(lengths, 8)
    view = InputView(data)
    lstm, head = torch.nn.LSTM(8, 64, batch_first=True), torch.nn.Linear(64, 1)
    optimizer = torch.optim.Adam([*lstm.parameters(), *head.parameters()], 1e-3)

    def epoch(batches: Batches, limit: int | None = None) -> float:
        start = time.perf_counter()
        for batch in itertools.islice(batches, limit):
            out, _ = lstm(batch.x)  # (B, T, H)
            last = out[torch.arange(len(batch)), batch.lengths - 1]  # (B, H)
            loss = head(last).pow(2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return time.perf_counter() - start

    real = float(lengths.sum())
    print("training nn.LSTM(8, 64) one epoch, 256 series T=100..1000, B=32")
    rates = {}
    for bucket in (True, False):
        batches = Batches(view, batch_size=32, bucket=bucket, seed=0)
        epoch(batches, limit=2)  # warm-up
        batches.set_epoch(1)
        seconds = epoch(batches)
        rates[bucket] = real / seconds
        print(
            f"  bucket={bucket}: {seconds:.2f} s, {rates[bucket] / 1e3:.0f}k real "
            f"steps/s, padding {batches.padding_share:.1%}"
        )
    print(f"  bucketed / plain = {rates[True] / rates[False]:.2f}x")


if __name__ == "__main__":
    torch.set_num_threads(2)
    pipeline()
    training()

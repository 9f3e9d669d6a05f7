"""Training speed of timesteps' LSTM on sequences of varying lengths, side by side.

192 series, lengths uniform in 100..3,000, F=8 features, LSTM with H=64 units,
batches of B=32, training = forward + backward with the loss on each sequence's
own last step. Figures are real (unpadded) sample-timesteps per second:

  (a) timesteps.layers.LSTM on length-bucketed batches (sorted, cut in batches)
  (b) torch.nn.LSTM by hand on the same batches, last step taken by index
  (c) torch.nn.LSTM on random batches padded to their longest sequence
  (d) torch.nn.LSTM on one series at a time
  (e) torch.nn.LSTM on packed sequences (shortest bucket only: quadratic in T
      on CPU, the full set would take minutes)
  (f) timesteps.layers.LSTM on the random batches of (c)
  (g) timesteps.layers.LSTM on the bucketed batches, forced to one dense padded
      call (its fallback path when segments between distinct lengths would be
      short)
  (h) timesteps.layers.LSTM on the data layer's own buckets (``ts.Batches``)
  (i), (j) timesteps.layers.LSTM on the batches of (a) and (f), forced to one
      fused call per distinct length (exact segments; by default it groups
      the distinct lengths into fewer calls when the final states are not
      needed)

Run: ``python benchmarks/bench_recurrent.py [--rounds 3] [--threads N]``.
Medians over rounds that interleave the set-ups; the machine is shared, so
trust ratios over figures (with two threads on two busy cores oneDNN's per-step
barriers stall and figures drop several-fold).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
from torch.nn.utils.rnn import pack_padded_sequence

from timesteps.layers import LSTM

N_SERIES, LOW, HIGH, F, H, B, ROUNDS = 192, 100, 3000, 8, 64, 32, 3

Batch = tuple[torch.Tensor, torch.Tensor]  # x (B, T, F), lengths (B,)


def make_series(seed: int = 0) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    lengths = torch.randint(LOW, HIGH + 1, (N_SERIES,), generator=generator)
    return [torch.randn(int(n), F, generator=generator) for n in lengths]


def pad(series: list[torch.Tensor]) -> Batch:
    lengths = torch.tensor([len(s) for s in series])
    x = torch.zeros(len(series), int(lengths.max()), F)
    for i, s in enumerate(series):
        x[i, : len(s)] = s  # (B, T, F), padded after each end
    return x, lengths


def bucketed(series: list[torch.Tensor]) -> list[Batch]:
    ordered = sorted(series, key=len)
    return [pad(ordered[i : i + B]) for i in range(0, len(ordered), B)]


def random_batches(series: list[torch.Tensor]) -> list[Batch]:
    order = torch.randperm(len(series), generator=torch.Generator().manual_seed(1))
    shuffled = [series[i] for i in order]
    return [pad(shuffled[i : i + B]) for i in range(0, len(shuffled), B)]


def library_batches(series: list[torch.Tensor]) -> list[Batch]:
    """One epoch of the data layer's own length buckets (``ts.Batches``)."""
    from timesteps.data.sequence_set import SequenceSet
    from timesteps.data.views import InputView

    data = SequenceSet.from_arrays([s.numpy() for s in series])
    batches = InputView(data).to_batches(batch_size=B, shuffle=True, seed=0)
    return [(b.x, b.lengths) for b in batches]


def by_hand(rnn: torch.nn.LSTM) -> Callable[[Batch], torch.Tensor]:
    def step(batch: Batch) -> torch.Tensor:
        x, lengths = batch
        out, _ = rnn(x)  # (B, T, H)
        return out[torch.arange(len(lengths)), lengths - 1]  # (B, H)

    return step


def packed(rnn: torch.nn.LSTM) -> Callable[[Batch], torch.Tensor]:
    def step(batch: Batch) -> torch.Tensor:
        x, lengths = batch
        pack = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        _, (h, _) = rnn(pack)
        return h[0]  # (B, H) at each own end

    return step


def ours(layer: LSTM) -> Callable[[Batch], torch.Tensor]:
    def step(batch: Batch) -> torch.Tensor:
        x, lengths = batch
        return layer(x, lengths=lengths)  # (B, H) at each own end

    return step


def epoch(run: Callable[[Batch], torch.Tensor], batches: list[Batch]) -> float:
    start = time.perf_counter()
    for batch in batches:
        last = run(batch)
        last.pow(2).mean().backward()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument(
        "--threads", type=int, default=None, help="default: torch's own choice"
    )
    args = parser.parse_args()
    rounds = args.rounds
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    series = make_series()
    real = sum(len(s) for s in series)
    buckets, shuffled = bucketed(series), random_batches(series)
    singles = [pad([s]) for s in series]
    library = library_batches(series)
    shortest = buckets[:1]
    layer = LSTM(H)
    layer.build((None, F))
    dense = LSTM(H)
    dense.build((None, F))
    dense._variable_path = "dense"
    segments = LSTM(H)
    segments.build((None, F))
    segments._variable_path = "segments"
    rnn = torch.nn.LSTM(F, H, batch_first=True)
    setups = {
        "a": ("timesteps LSTM, bucketed", ours(layer), buckets),
        "b": ("nn.LSTM by hand, bucketed", by_hand(rnn), buckets),
        "c": ("nn.LSTM, random padded", by_hand(rnn), shuffled),
        "d": ("nn.LSTM, one series at a time", by_hand(rnn), singles),
        "e": ("nn.LSTM packed, shortest bucket", packed(rnn), shortest),
        "f": ("timesteps LSTM, random batches", ours(layer), shuffled),
        "g": ("timesteps LSTM, bucketed, dense path", ours(dense), buckets),
        "h": ("timesteps LSTM, ts.Batches buckets", ours(layer), library),
        "i": ("timesteps LSTM, bucketed, segments", ours(segments), buckets),
        "j": ("timesteps LSTM, random, segments", ours(segments), shuffled),
    }
    for _, run, batches in setups.values():
        epoch(run, batches[:1])  # warm up kernels and allocator
    times: dict[str, list[float]] = {key: [] for key in setups}
    for _ in range(rounds):
        for key, (_, run, batches) in setups.items():
            times[key].append(epoch(run, batches))

    def steps_of(batches: list[Batch]) -> int:
        return sum(int(lengths.sum()) for _, lengths in batches)

    def padded_of(batches: list[Batch]) -> int:
        return sum(x.shape[0] * x.shape[1] for x, _ in batches)

    print(
        f"{N_SERIES} series, lengths {LOW}..{HIGH} ({real:,} real steps), "
        f"F={F}, H={H}, B={B}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, median of {rounds} rounds"
    )
    rate = {}
    for key, (name, _, batches) in setups.items():
        seconds = statistics.median(times[key])
        rate[key] = steps_of(batches) / seconds
        padding = padded_of(batches) / steps_of(batches)
        print(
            f"({key}) {name:34s} {rate[key] / 1e3:7.1f}k steps/s  "
            f"{seconds:6.2f} s/pass  padded/real {padding:.2f}"
        )
    print(f"(a)/(b) = {rate['a'] / rate['b']:.2f}  (goal >= 0.8)")
    print(f"(a)/(c) = {rate['a'] / rate['c']:.2f}  (goal >= 2)")
    print(f"(a)/(d) = {rate['a'] / rate['d']:.2f}")
    print(f"(a)/(e) = {rate['a'] / rate['e']:.2f}  (packed measured on one bucket)")
    print(f"(f)/(c) = {rate['f'] / rate['c']:.2f}  (same random batches)")
    print(f"(a)/(g) = {rate['a'] / rate['g']:.2f}  (default vs one dense call)")
    print(f"(a)/(i) = {rate['a'] / rate['i']:.2f}  (default vs exact segments)")
    print(f"(f)/(j) = {rate['f'] / rate['j']:.2f}  (default vs exact segments)")
    print(f"(h)/(c) = {rate['h'] / rate['c']:.2f}  (the library's buckets, goal >= 2)")


if __name__ == "__main__":
    main()

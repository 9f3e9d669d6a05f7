"""A sequence autoencoder: embeddings, and anomalies found by reconstruction error.

An ``Autoencoder`` reads each series into one vector of H numbers (the
embedding) and rebuilds the series from that vector alone. Trained on normal
series only, it rebuilds normal series well and unusual ones badly, so the
reconstruction error of a series is an anomaly score.

Why not simply flag extreme values? A per-value threshold (how many standard
deviations a value lies from the mean) finds spikes, but a sensor that is stuck
at a normal-looking value, or a wave that suddenly runs at another speed, has
no extreme value at all. This example injects three kinds of anomaly into
held-out series and prints where each lands in the ranking of both scores, and
each score's AUC (the chance that a random anomalous series scores above a
random normal one).

Run: ``python examples/06_autoencoder.py`` (``TIMESTEPS_EXAMPLE_SMALL=1`` for the
quick version the tests run).
"""

from __future__ import annotations

import os

import numpy as np
import torch

import timesteps as ts
from timesteps import format_shape

KINDS = ("spike", "stuck", "faster")


def normal_series(n: int, T: int, rng: np.random.Generator) -> np.ndarray:
    """``(B, T, F=2)`` waves: a sine with its own period and phase, and a
    second feature that follows it with a lag, plus noise."""
    t = np.arange(T)[None, :]
    period = rng.uniform(10.0, 14.0, (n, 1))
    phase = rng.uniform(0.0, 2 * np.pi, (n, 1))
    first = np.sin(2 * np.pi * t / period + phase)
    second = 0.8 * np.sin(2 * np.pi * (t - 2) / period + phase)
    x = np.stack([first, second], axis=-1)
    return (x + rng.normal(0.0, 0.05, x.shape)).astype(np.float32)


def inject(x: np.ndarray, kind: str, rng: np.random.Generator) -> None:
    """Change one ``(T, F)`` series in place into an anomaly of ``kind``."""
    T = len(x)
    start = int(rng.integers(T // 4, T // 2))
    if kind == "spike":  # one extreme value
        x[start, 0] += 3.0
    elif kind == "stuck":  # the sensor repeats its last reading
        x[start:] = x[start]
    else:  # "faster": the wave runs at twice its speed from `start` on
        t = np.arange(T - start)
        x[start:, 0] = np.sin(2 * np.pi * t / 6.0)
        x[start:, 1] = 0.8 * np.sin(2 * np.pi * (t - 1) / 6.0)


def auc(scores: np.ndarray, is_anomaly: np.ndarray) -> float:
    """P(score of a random anomaly > score of a random normal series)."""
    ranks = scores.argsort().argsort() + 1.0  # 1 = lowest
    n_pos, n_neg = is_anomaly.sum(), (~is_anomaly).sum()
    return float((ranks[is_anomaly].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def report(name: str, scores: np.ndarray, kinds: np.ndarray) -> float:
    order = np.argsort(-scores)  # highest score first
    rank = np.empty(len(scores), dtype=np.int64)
    rank[order] = np.arange(1, len(scores) + 1)
    is_anomaly = kinds != "normal"
    value = auc(scores, is_anomaly)
    print(f"   {name}: AUC {value:.3f}")
    for kind in KINDS:
        ranks = sorted(rank[kinds == kind].tolist())
        print(f"     {kind:<7} anomalies rank {ranks} of {len(scores)}")
    return value


def main(small: bool = False) -> None:
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    T = 24
    n_train, n_test, per_kind = (300, 120, 4) if small else (3000, 1000, 20)
    train = normal_series(n_train, T, rng)
    test = normal_series(n_test, T, rng)
    kinds = np.array(["normal"] * n_test, dtype=object)
    picked = rng.choice(n_test, per_kind * len(KINDS), replace=False)
    for k, i in enumerate(picked):
        kinds[i] = KINDS[k // per_kind]
        inject(test[i], kinds[i], rng)
    print(
        f"train on {format_shape(train.shape, 'BTF')} normal series; test on "
        f"{format_shape(test.shape, 'BTF')} with {len(picked)} injected anomalies "
        f"({per_kind} of each: {', '.join(KINDS)})"
    )

    model = ts.Autoencoder(units=32, seed=0)
    epochs, lr = (15, 0.02) if small else (60, 0.005)
    history = model.fit(train, epochs=epochs, lr=lr, batch_size=16, verbose=0)
    embeddings = model.embed(test)
    rebuilt = model.predict(test)
    print(
        f"\n1. Autoencoder(units=32), {len(history.loss)} epochs, validation "
        f"loss {history.val_loss[-1]:.4f}"
    )
    print(
        f"   embed:   {format_shape(test.shape, 'BTF')} -> "
        f"{format_shape(embeddings.shape, 'BH')}: one vector of H=32 per series"
    )
    print(
        f"   predict: {format_shape(test.shape, 'BTF')} -> "
        f"{format_shape(rebuilt.shape, 'BTF')}: rebuilt from that vector alone"
    )

    print("\n2. anomaly scores (higher = more unusual)")
    scores = model.score(test)
    print(
        f"   reconstruction error per step {format_shape(scores.steps.shape, 'BT')},"
        f" per series {format_shape(scores.series.shape, 'B')}"
    )
    mean, std = train.mean(axis=(0, 1)), train.std(axis=(0, 1))
    extreme = np.abs((test - mean) / std).max(axis=(1, 2))  # the naive score
    report("largest |z| of any value (naive)", extreme, kinds)
    report("reconstruction error (Autoencoder)", scores.series, kinds)


if __name__ == "__main__":
    main(small=os.environ.get("TIMESTEPS_EXAMPLE_SMALL") == "1")

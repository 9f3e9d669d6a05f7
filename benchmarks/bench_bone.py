"""The bone-size case: timesteps' Keras-style fit against the shortest PyTorch loop.

4,000 series of 3 steps and 1 feature (``ts.datasets.bone_size()``, raw mm as a
researcher would feed them), SimpleRNN(10, relu) then Dense(1, sigmoid), SGD with
lr 0.01, binary cross-entropy, batch 50, 100 epochs. Both sides start from the
same weights and shuffle with their own generator seeded alike; runs are
interleaved and the medians compared. Goals: timesteps <= 1.2x the hand loop, and
the same or a lower final loss.

    python benchmarks/bench_bone.py [--epochs 100] [--repeats 3] [--threads N]

Keras is timed too when ``import tensorflow`` works (it is not a dependency).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

import timesteps as ts


def bone_arrays() -> tuple[np.ndarray, np.ndarray]:
    table = ts.datasets.bone_size()
    X = table[["bone_m1", "bone_m2", "bone_m3"]].to_numpy(np.float32)[..., None]
    y = table["outcome"].to_numpy(np.float32)
    return X, y  # (B=4000, T=3, F=1), (B=4000,)


def timesteps_model(seed: int) -> ts.Sequential:
    torch.manual_seed(seed)
    return ts.Sequential(
        [ts.SimpleRNN(10, activation="relu"), ts.Dense(1, activation="sigmoid")],
        input_shape=(3, 1),
    )


def run_timesteps(
    start: dict[str, torch.Tensor], X: np.ndarray, y: np.ndarray, epochs: int, seed: int
) -> tuple[float, ts.Sequential]:
    model = timesteps_model(seed)
    model.load_state_dict(start)
    model.compile(loss="binary_crossentropy", optimizer="sgd")  # lr 0.01 (Keras)
    began = time.perf_counter()
    model.fit(X, y, batch_size=50, epochs=epochs, verbose=0, seed=seed)
    return time.perf_counter() - began, model


class HandModel(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rnn = torch.nn.RNN(1, 10, nonlinearity="relu", batch_first=True)
        self.linear = torch.nn.Linear(10, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, h = self.rnn(x)
        return torch.sigmoid(self.linear(h[-1]))


def run_hand(
    start: dict[str, torch.Tensor], X: np.ndarray, y: np.ndarray, epochs: int, seed: int
) -> tuple[float, HandModel]:
    model = HandModel()
    model.load_state_dict(_hand_names(start))
    began = time.perf_counter()
    xs, ys = torch.from_numpy(X.copy()), torch.from_numpy(y)[:, None]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = torch.nn.BCELoss()
    generator = torch.Generator().manual_seed(seed)
    n = len(xs)
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator)
        for i in range(0, n, 50):
            rows = order[i : i + 50]
            loss = loss_fn(model(xs[rows]), ys[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return time.perf_counter() - began, model


def run_trainer_only(
    start: dict[str, torch.Tensor], X: np.ndarray, y: np.ndarray, epochs: int, seed: int
) -> tuple[float, HandModel]:
    """The hand model (torch.nn only) through timesteps.training.fit: the
    trainer's own overhead, without timesteps' layers."""
    from timesteps.training import ArrayBatches, TrainConfig, fit

    model = HandModel()
    model.load_state_dict(_hand_names(start))
    began = time.perf_counter()
    xs, ys = torch.from_numpy(X.copy()), torch.from_numpy(y)[:, None]
    batches = ArrayBatches(xs, ys, None, 50, seed=seed)
    loss = torch.nn.BCELoss()

    def loss_fn(
        module: torch.nn.Module, batch: ArrayBatches
    ) -> tuple[torch.Tensor, int]:
        return loss(module(batch.x), batch.y), batch.n

    config = TrainConfig(
        epochs=epochs, optimizer="sgd", lr=0.01, clip_norm=None, seed=None, verbose=0
    )
    fit(model, loss_fn, batches, config=config)
    return time.perf_counter() - began, model


def _hand_names(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """timesteps' parameter names -> the hand model's (same tensors, same order)."""
    names = {"layers.0.rnn.": "rnn.", "layers.1.linear.": "linear."}
    renamed = {}
    for key, value in state.items():
        prefix = next(p for p in names if key.startswith(p))
        renamed[names[prefix] + key[len(prefix) :]] = value
    return renamed


def full_loss(model: torch.nn.Module, X: np.ndarray, y: np.ndarray) -> float:
    """Binary cross-entropy over all 4,000 samples (evaluation mode)."""
    model.eval()
    with torch.no_grad():
        p = model(torch.from_numpy(X.copy())).clamp(1e-7, 1 - 1e-7)
        return float(
            torch.nn.functional.binary_cross_entropy(p, torch.from_numpy(y)[:, None])
        )


def run_keras(X: np.ndarray, y: np.ndarray, epochs: int) -> float | None:
    try:
        import tensorflow as tf  # noqa: F401  (optional, not a dependency)
    except ImportError:
        return None
    from tensorflow import keras

    model = keras.Sequential(
        [
            keras.Input((3, 1)),
            keras.layers.SimpleRNN(10, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(loss="binary_crossentropy", optimizer="sgd")
    began = time.perf_counter()
    model.fit(X, y, batch_size=50, epochs=epochs, verbose=0)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    X, y = bone_arrays()
    print(
        f"bone size: X {ts.format_shape(X.shape, 'BTF')}, SimpleRNN(10, relu) + "
        f"Dense(1, sigmoid), SGD lr 0.01, batch 50, {args.epochs} epochs, "
        f"torch {torch.__version__}, {args.threads} threads"
    )
    contenders = {
        "timesteps": run_timesteps,
        "hand loop": run_hand,
        "fit(nn)": run_trainer_only,
    }
    times: dict[str, list[float]] = {name: [] for name in contenders}
    cpu_times: dict[str, list[float]] = {name: [] for name in contenders}
    losses: dict[str, list[float]] = {name: [] for name in contenders}
    warm = timesteps_model(0).state_dict()
    for run in contenders.values():  # first calls pay one-time costs: untimed
        run(warm, X, y, 1, 0)
    for repeat in range(args.repeats):
        start = timesteps_model(repeat).state_dict()
        runs = list(contenders.items())
        runs = runs[repeat % 3 :] + runs[: repeat % 3]  # rotate who goes first
        for name, run in runs:
            cpu = time.process_time()
            seconds, model = run(start, X, y, args.epochs, repeat)
            cpu_times[name].append(time.process_time() - cpu)
            times[name].append(seconds)
            losses[name].append(full_loss(model, X, y))
            print(f"  repeat {repeat}: {name:<10} {seconds:7.2f} s "
                  f"(CPU {cpu_times[name][-1]:6.2f} s), "
                  f"final loss {losses[name][-1]:.4f}")  # fmt: skip
    medians = {name: statistics.median(values) for name, values in times.items()}
    cpu = {name: statistics.median(values) for name, values in cpu_times.items()}
    hand, hand_cpu = medians["hand loop"], cpu["hand loop"]
    for name, seconds in medians.items():
        print(
            f"median {name:<10} {seconds:7.2f} s {seconds / hand:5.2f}x the hand "
            f"loop | CPU {cpu[name]:6.2f} s {cpu[name] / hand_cpu:5.2f}x | final "
            f"loss {statistics.median(losses[name]):.4f}"
        )
    print("goal: timesteps <= 1.2x the hand loop, final loss the same or lower;")
    print("fit(nn) is the hand model trained by timesteps.training.fit: the trainer's")
    print("own overhead, without timesteps' layers. CPU time (this process) is the")
    print("steadier figure when other jobs share the cores.")
    keras = run_keras(X, y, args.epochs)
    if keras is None:
        print("Keras: skipped (tensorflow is not installed)")
    else:
        print(f"Keras (TensorFlow): {keras:.2f} s, {keras / hand:.2f}x the hand loop")


if __name__ == "__main__":
    main()

"""Keras-style compile/fit/evaluate/predict on Sequential, against torch.nn loops,
and Keras' losses and metrics by name."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import timesteps as ts
from timesteps.training import ArrayBatches, Compilable, losses
from timesteps.training.compiled import _epoch_seed


def _rnn_model(head: str | None = "sigmoid", seed: int = 0) -> ts.Sequential:
    torch.manual_seed(seed)
    return ts.Sequential(
        [ts.SimpleRNN(10, activation="relu"), ts.Dense(1, activation=head)],
        input_shape=(3, 1),
    )


def _growth_data(n: int = 320, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Did the series grow between its first and last step? (B, 3, 1) -> (B,)"""
    X = np.random.default_rng(seed).normal(size=(n, 3, 1)).astype(np.float32)
    return X, (X[:, -1, 0] > X[:, 0, 0]).astype(np.float32)


class _Hand(torch.nn.Module):
    """nn.RNN(relu) + nn.Linear with timesteps' initial weights, giving logits."""

    def __init__(self, model: ts.Sequential) -> None:
        super().__init__()
        self.rnn = torch.nn.RNN(1, 10, nonlinearity="relu", batch_first=True)
        self.linear = torch.nn.Linear(10, 1)
        # layers.0.rnn.weight_ih_l0 -> rnn.weight_ih_l0, layers.1.linear.bias -> ...
        state = model.state_dict()
        self.load_state_dict({k.split(".", 2)[2]: v for k, v in state.items()})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)
        return self.linear(out[:, -1])


def _hand_fit(hand, X, y, loss, batch_size, epochs, lr):
    optimizer = torch.optim.SGD(hand.parameters(), lr=lr)
    xs, ys = torch.from_numpy(X), torch.from_numpy(y)[:, None]
    for _ in range(epochs):
        for i in range(0, len(xs), batch_size):
            value = loss(hand(xs[i : i + batch_size]), ys[i : i + batch_size])
            optimizer.zero_grad()
            value.backward()
            optimizer.step()


def _assert_same(model: ts.Sequential, hand: _Hand) -> None:
    ours = [p.detach() for p in model.parameters()]
    theirs = [p.detach() for p in hand.parameters()]
    assert len(ours) == len(theirs) == 6
    for a, b in zip(ours, theirs, strict=True):
        assert torch.equal(a, b)


def test_a_keras_tutorial_model_learns() -> None:
    X, y = _growth_data()
    X.setflags(write=False)  # as pandas hands out arrays: no torch warning
    model = _rnn_model()
    model.compile(
        loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"], lr=0.02
    )
    history = model.fit(X, y, batch_size=32, epochs=10, verbose=0, seed=0)
    assert history["accuracy"][-1] > 0.9
    assert history.loss[-1] < history.loss[0] / 2
    assert model.evaluate(X, y)["accuracy"] > 0.9
    assert model.layers[-1].activation == "sigmoid"  # put back after training


def test_bce_on_a_sigmoid_head_equals_a_torch_loop_on_logits() -> None:
    X, y = _growth_data(96)
    model = _rnn_model()
    hand = _Hand(model)
    model.compile(loss="bce", optimizer="sgd")  # Keras' SGD rate: 0.01
    model.fit(X, y, batch_size=16, epochs=2, verbose=0, shuffle=False)
    _hand_fit(hand, X, y, F.binary_cross_entropy_with_logits, 16, 2, lr=0.01)
    _assert_same(model, hand)
    assert model._optimizer.param_groups[0]["lr"] == 0.01


def test_mse_equals_a_torch_loop() -> None:
    X, y = _growth_data(96)
    model = _rnn_model(head=None)
    hand = _Hand(model)
    model.compile(loss="mse", optimizer="sgd", lr=0.05)
    model.fit(X, y, batch_size=32, epochs=2, verbose=0, shuffle=False)
    _hand_fit(hand, X, y, F.mse_loss, 32, 2, lr=0.05)
    _assert_same(model, hand)


def test_validation_split_keeps_the_last_samples_out() -> None:
    X, y = _growth_data(100)
    model = _rnn_model()
    model.compile(loss="bce", optimizer="adam", metrics=["accuracy"])
    history = model.fit(X, y, batch_size=20, validation_split=0.25, verbose=0, seed=1)
    held_out = model.evaluate(X[75:], y[75:], batch_size=20)
    assert history.val_loss == [pytest.approx(held_out["loss"], rel=1e-12)]
    assert history["val_accuracy"] == [held_out["accuracy"]]
    first_part = _rnn_model()
    first_part.compile(loss="bce", optimizer="adam")
    first_part.fit(X[:75], y[:75], batch_size=20, verbose=0, seed=1)
    for a, b in zip(model.parameters(), first_part.parameters(), strict=True):
        assert torch.equal(a, b)


def test_evaluate_gives_exact_means_and_predict_the_outputs() -> None:
    X, y = _growth_data(50)
    model = _rnn_model()
    model.compile(loss="bce", metrics=["accuracy", "mae"])
    result = model.evaluate(X, y, batch_size=7)  # batches of 7 ... and 1
    with torch.no_grad():
        p = model(torch.from_numpy(X))[:, 0]
    target = torch.from_numpy(y)
    assert set(result) == {"loss", "accuracy", "mae"}
    assert result["loss"] == pytest.approx(
        float(F.binary_cross_entropy(p, target)), 1e-5
    )
    assert result["accuracy"] == int(((p > 0.5) == (target > 0.5)).sum()) / 50
    assert result["mae"] == pytest.approx(float((p - target).abs().mean()), 1e-6)
    predicted = model.predict(X, batch_size=16)
    assert predicted.shape == (50, 1)
    np.testing.assert_allclose(predicted[:, 0], p.numpy(), rtol=0, atol=1e-7)


def test_padded_rows_are_read_up_to_their_lengths() -> None:
    X, y = _growth_data(6)
    lengths = np.array([3, 2, 1, 3, 2, 1])
    X[np.arange(3)[None, :] >= lengths[:, None]] = 0.0
    model = _rnn_model()
    model.compile(loss="bce")
    together = model.evaluate(X, y, lengths=lengths)["loss"]
    alone = [
        model.evaluate(X[i : i + 1, :n], y[i : i + 1])["loss"]
        for i, n in enumerate(lengths)
    ]
    assert together == pytest.approx(sum(alone) / 6, rel=1e-6)
    assert model.evaluate(X, y)["loss"] != pytest.approx(together, rel=1e-3)
    model.fit(X, y, batch_size=4, lengths=lengths, verbose=0, seed=0)


def test_a_seed_repeats_a_run_and_fit_keeps_the_optimizer() -> None:
    X, y = _growth_data(64)
    runs = []
    for _ in range(2):
        model = _rnn_model()
        model.compile(loss="bce", optimizer="adam")
        model.fit(X, y, batch_size=16, epochs=2, verbose=0, seed=7)
        runs.append(model)
    for a, b in zip(runs[0].parameters(), runs[1].parameters(), strict=True):
        assert torch.equal(a, b)
    optimizer = runs[0]._optimizer
    runs[0].fit(X, y, batch_size=16, epochs=1, verbose=0)
    assert runs[0]._optimizer is optimizer  # Adam's moments carry on, as in Keras
    steps = optimizer.state[next(iter(runs[0].parameters()))]["step"]
    assert int(steps) == 3 * 4
    assert optimizer.param_groups[0]["lr"] == 0.001


def test_array_batches_shuffle_by_seed_and_epoch_and_shard_by_rows() -> None:
    x = torch.arange(10, dtype=torch.float32)[:, None, None]
    batches = ArrayBatches(x, None, None, 4, seed=3)

    def rows(b):
        return [batch.x[:, 0, 0].long().tolist() for batch in b]

    first = rows(batches)
    order = torch.randperm(
        10, generator=torch.Generator().manual_seed(_epoch_seed(3, 0))
    )
    assert list(itertools.chain(*first)) == order.tolist()
    assert [len(r) for r in first] == [4, 4, 2]
    assert rows(ArrayBatches(x, None, None, 4, seed=3)) == first
    batches.set_epoch(1)
    assert rows(batches) != first
    shards = [batches.shard(r, 2) for r in (0, 1)]
    for shard in shards:
        shard.set_epoch(1)
    for whole, *parts in zip(rows(batches), *map(rows, shards), strict=True):
        assert parts == [whole[0::2], whole[1::2]]
    assert [s.n_rows for s in shards] == [5, 5] and len(shards[0]) == 3


def test_any_module_with_the_mixin_trains() -> None:
    class Net(Compilable, torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.gru = torch.nn.GRU(1, 4, batch_first=True)
            self.out = torch.nn.Linear(4, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.softmax(self.out(self.gru(x)[0][:, -1]), -1)

    X = np.random.default_rng(0).normal(size=(60, 4, 1)).astype(np.float32)
    codes = np.digitize(X[:, -1, 0], [-0.5, 0.5])
    net = Net()
    net.compile("adam", "sparse_categorical_crossentropy", ["accuracy"], lr=0.05)
    history = net.fit(X, codes, batch_size=20, epochs=25, verbose=0, seed=0)
    assert history["accuracy"][-1] > 0.8
    sparse = net.evaluate(X, codes)
    one_hot = np.eye(3, dtype=np.float32)[codes]
    net.compile("adam", "categorical_crossentropy", ["accuracy"])
    categorical = net.evaluate(X, one_hot)
    assert categorical["accuracy"] == sparse["accuracy"]
    assert categorical["loss"] == pytest.approx(sparse["loss"], rel=1e-6)


def test_errors_name_the_problem_and_the_fix() -> None:
    X, y = _growth_data(20)
    model = _rnn_model()
    with pytest.raises(RuntimeError, match=r"fit\(\) before compile\(\).*Fix: call"):
        model.fit(X, y)
    with pytest.raises(ValueError, match=r"unknown loss.*did you mean 'mse'"):
        model.compile(loss="msee")
    with pytest.raises(ValueError, match=r"compile needs a loss"):
        model.compile(optimizer="sgd")
    with pytest.raises(ValueError, match=r"unknown metric.*did you mean 'accuracy'"):
        model.compile(loss="mse", metrics=["acuracy"])
    model.compile(loss="bce", optimizer="sgd")
    with pytest.raises(
        ValueError, match=r"3 axes \(B, T, F\).*received 2 axes \(20, 3\)"
    ):
        model.fit(X[..., 0], y)
    with pytest.raises(ValueError, match=r"one target per sample.*expected 20 targets"):
        model.fit(X, y[:15])
    with pytest.raises(
        ValueError, match=r"does not match the network's output.*\(B=20, 1\)"
    ):
        model.fit(X, np.zeros((20, 2)))
    with pytest.raises(
        ValueError, match=r"validation_split: expected a share in \[0, 1\)"
    ):
        model.fit(X, y, validation_split=1.0)
    with pytest.raises(ValueError, match=r"must be one array"):
        model.fit([np.zeros((3, 1)), np.zeros((2, 1))], y[:2])
    with pytest.warns(UserWarning, match=r"validation_split=0.5 is ignored"):
        model.fit(X, y, validation_split=0.5, validation_data=(X, y), verbose=0)


def test_keras_losses_and_accuracy_by_name() -> None:
    p = torch.tensor([[0.9], [0.2], [1.0]])
    y = torch.tensor([[1.0], [0.0], [0.0]])
    top = float(torch.tensor(1 - 1e-7))  # the clip's upper end in float32, as Keras
    clipped = -(math.log(0.9) + math.log(0.8) + math.log(1 - top)) / 3
    assert float(losses.binary_crossentropy(p, y)) == pytest.approx(clipped, rel=1e-4)
    assert float(losses.mean_squared_error(p, y)) == pytest.approx(
        (0.01 + 0.04 + 1) / 3
    )
    assert float(losses.mean_absolute_error(p, y)) == pytest.approx((0.1 + 0.2 + 1) / 3)
    probs = torch.softmax(torch.randn(5, 4), -1)
    codes = torch.tensor([0, 3, 1, 1, 2])
    expected = F.nll_loss(probs.log(), codes)
    assert torch.allclose(
        losses.sparse_categorical_crossentropy(probs, codes), expected
    )
    one_hot = F.one_hot(codes, 4).float()
    assert torch.allclose(losses.categorical_crossentropy(probs, one_hot), expected)
    name, accuracy = losses.get_metric("accuracy", "binary_crossentropy", 1)
    assert (name, accuracy) == ("accuracy", losses.binary_accuracy)
    assert losses.get_metric("acc", "sparse_categorical_crossentropy", 4)[1] is (
        losses.sparse_categorical_accuracy
    )
    assert losses.get_metric("accuracy", "mean_squared_error", 3)[1] is (
        losses.categorical_accuracy
    )
    hits, count = losses.sparse_categorical_accuracy(probs, probs.argmax(-1))
    assert (int(hits), count) == (5, 5)

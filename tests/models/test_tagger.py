from __future__ import annotations

import numpy as np
import pytest
import torch

import timesteps as ts
from timesteps.data.batches import Batch


def _running_sign(rng, lengths):
    X = [rng.normal(size=(n, 1)).astype(np.float32) for n in lengths]
    y = [np.where(np.cumsum(x[:, 0]) > 0, "up", "down") for x in X]
    return X, y


def test_tagger_labels_every_step_of_mixed_lengths():
    rng = np.random.default_rng(0)
    X, y = _running_sign(rng, rng.integers(4, 13, size=200))
    model = ts.Tagger(units=8)
    model.fit(X, y, epochs=25, lr=0.02, verbose=0)
    assert model.classes_.tolist() == ["down", "up"]
    result = model.evaluate(X, y)
    assert result["accuracy"] > 0.9
    assert result["n_steps"] == sum(len(x) for x in X)
    predicted = model.predict(X)
    assert [len(p) for p in predicted] == [len(x) for x in X]
    frame = model.predict(ts.SequenceSet.from_arrays(X[:2]))
    assert frame.columns.tolist() == ["id", "time", "prediction"]
    assert frame["time"].tolist() == list(range(len(X[0]))) + list(range(len(X[1])))


def test_padding_never_counts_in_the_loss():
    rng = np.random.default_rng(1)
    X, y = _running_sign(rng, [3, 7])
    model = ts.Tagger(units=4)
    model.fit(X, y, epochs=1, validation=None, verbose=0)
    codes = [torch.from_numpy((label == "up").astype(np.int64)) for label in y]

    def batch_of(xs, ys, T):
        x = torch.zeros(len(xs), T, 1)
        target = torch.zeros(len(xs), T, dtype=torch.int64)
        for i, (a, b) in enumerate(zip(xs, ys, strict=True)):
            x[i, : len(a)] = torch.from_numpy(model._scale_values(a))
            target[i, : len(b)] = b
        lengths = torch.tensor([len(a) for a in xs])
        return Batch(x, lengths, torch.arange(len(xs)), y=target)

    together, n = model._loss(model.network, batch_of(X, codes, 7))
    short, n0 = model._loss(model.network, batch_of(X[:1], codes[:1], 3))
    long, n1 = model._loss(model.network, batch_of(X[1:], codes[1:], 7))
    assert (n, n0, n1) == (10, 3, 7)
    torch.testing.assert_close(together, (short * 3 + long * 7) / 10)
    # garbage in the padding changes nothing
    noisy = batch_of(X, codes, 7)
    noisy.x[0, 3:] = 50.0
    torch.testing.assert_close(model._loss(model.network, noisy)[0], together)


def test_bidirectional_tagger_and_equal_lengths_give_a_cube():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(30, 5, 2)).astype(np.float32)
    y = (X[..., 0] > X[..., 1]).astype(int)
    model = ts.Tagger(units=4, bidirectional=True)
    model.fit(X, y, epochs=2, verbose=0)
    assert model.predict(X).shape == (30, 5)
    assert model.predict_proba(X).shape == (30, 5, 2)


def test_stream_gives_the_labels_of_the_new_steps():
    rng = np.random.default_rng(3)
    X, y = _running_sign(rng, [8] * 40)
    model = ts.Tagger(units=4)
    model.fit(X, y, epochs=2, validation=None, verbose=0)
    cube = np.stack(X)
    first = model.stream([0, 1], cube[:2, :3])
    rest = model.stream([0, 1], cube[:2, 3:])
    np.testing.assert_array_equal(
        np.concatenate([first, rest], axis=1), model.predict(cube[:2])
    )


def test_tagger_needs_a_label_per_step():
    with pytest.raises(ValueError, match="Tagger learns a label per step"):
        ts.Tagger().fit(np.zeros((4, 3, 1)), np.array([0, 1, 0, 1]), verbose=0)
    with pytest.raises(ValueError, match="strides=1"):
        ts.Tagger(conv=dict(filters=2, kernel_size=3, strides=2))

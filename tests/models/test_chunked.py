"""Chunked training and prediction (truncated backpropagation through time):
chunked predictions equal whole-series ones, a step on one chunk equals the
unchunked step, the state really crosses chunks, and the refusals."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import timesteps as ts
from timesteps.data.batches import Batches
from timesteps.data.views import SeriesTargetView
from timesteps.layers.state import _forward_carrying
from timesteps.training import TrainConfig
from timesteps.training import fit as train
from timesteps.training.distributed import Distributed
from timesteps.training.trainer import _check_chunks_alone


def _ragged(n: int = 30, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(3, 40, size=n)
    return [rng.normal(size=(int(L), 2)).astype(np.float32) for L in lengths]


def _with_static(X: list[np.ndarray], y: np.ndarray) -> ts.SequenceSet:
    lengths = [len(x) for x in X]
    return ts.SequenceSet(
        np.concatenate(X),
        np.r_[0, np.cumsum(lengths)],
        static=np.arange(len(X), dtype=np.float32)[:, None] / 10,
        static_names=["s"],
        target=y,
        target_level="series",
    )


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("layers", [1, 2])
def test_chunked_predict_equals_whole_series(cell: str, layers: int) -> None:
    X = _ragged()
    up = np.array([int(x[:, 0].sum() > 0) for x in X])
    fit = dict(epochs=1, validation=None, verbose=0, batch_size=8)

    classifier = ts.Classifier(units=6, cell=cell, layers=layers)
    classifier.fit(_with_static(X, up), **fit)  # static features joined
    data = _with_static(X, up)
    whole = classifier.predict_proba(data, chunk_length=None)
    for C in (1, 7):
        chunked = classifier.predict_proba(data, chunk_length=C)
        np.testing.assert_allclose(
            chunked.iloc[:, 1:].to_numpy(), whole.iloc[:, 1:].to_numpy(), atol=1e-5
        )

    regressor = ts.Regressor(units=6, cell=cell, layers=layers)
    regressor.fit(X, np.array([x.sum() for x in X]), chunk_length=5, **fit)
    assert regressor.chunk_length_ == 5
    np.testing.assert_allclose(
        regressor.predict(X), regressor.predict(X, chunk_length=None), atol=1e-5
    )

    Y = [(x[:, 0] > 0).astype(int) for x in X]
    tagger = ts.Tagger(units=6, cell=cell, layers=layers)
    tagger.fit(X, Y, chunk_length=6, **fit)
    chunked, whole = tagger.predict_proba(X), tagger.predict_proba(X, chunk_length=None)
    for a, b in zip(chunked, whole, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)
    plain, by_chunks = tagger.evaluate(X, Y, chunk_length=None), tagger.evaluate(X, Y)
    assert by_chunks["loss"] == pytest.approx(plain["loss"], abs=1e-6)
    assert by_chunks["accuracy"] == plain["accuracy"]


@pytest.mark.parametrize("model", ["classifier", "tagger"])
def test_one_chunk_step_equals_unchunked_step(model: str) -> None:
    """chunk_length >= every length: each batch is one chunk, same update."""
    X = _ragged(n=24)
    if model == "classifier":
        y = np.array([int(x[:, 0].sum() > 0) for x in X])
        make = lambda: ts.Classifier(units=5, cell="lstm", layers=2)  # noqa: E731
    else:
        y = [(x[:, 0] > 0).astype(int) for x in X]
        make = lambda: ts.Tagger(units=5, cell="gru", layers=2)  # noqa: E731
    settings = dict(epochs=2, batch_size=8, validation=0.25, verbose=0, lr=0.05)
    plain, chunked = make(), make()
    h1 = plain.fit(X, y, **settings)
    h2 = chunked.fit(X, y, chunk_length=40, **settings)
    assert plain.network is not None and chunked.network is not None
    for (name, a), (_, b) in zip(
        plain.network.state_dict().items(),
        chunked.network.state_dict().items(),
        strict=True,
    ):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5, msg=name)
    np.testing.assert_allclose(h1.loss, h2.loss, rtol=1e-5)
    np.testing.assert_allclose(h1.val_loss, h2.val_loss, rtol=1e-5)


def test_truncated_bptt_matches_a_hand_written_loop() -> None:
    """Rows end in different chunks: a chunk where none ends carries the state
    without a step; the others step on the rows that end there."""
    lengths = [5, 10, 10, 8]
    rng = np.random.default_rng(3)
    X = [rng.normal(size=(L, 1)).astype(np.float32) for L in lengths]
    y = np.array([0, 1, 1, 0])
    torch.manual_seed(0)
    network = ts.Sequential([ts.GRU(4), ts.Dense(1)], input_shape=(None, 1))
    reference = copy.deepcopy(network)
    model = ts.Classifier(network=network)
    settings = dict(epochs=1, batch_size=4, validation=None, early_stopping=None)
    model.fit(X, y, verbose=0, scale=False, chunk_length=3, lr=0.01, **settings)

    optimizer = torch.optim.Adam(reference.parameters(), lr=0.01)
    data = ts.SequenceSet.from_arrays(X, y)
    states: list[torch.Tensor] = []
    steps = 0
    for chunk in Batches(SeriesTargetView(data), batch_size=4, chunk_length=3):
        ends = chunk.ends
        assert ends is not None
        if not ends.any():
            with torch.no_grad():
                _, states = _forward_carrying(reference, chunk.x, chunk.lengths, states)
            continue
        out, final = _forward_carrying(reference, chunk.x, chunk.lengths, states)
        target = chunk.y[ends].float()
        loss = F.binary_cross_entropy_with_logits(out[ends, 0], target)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(reference.parameters()), 1.0)
        optimizer.step()
        steps += 1
        states = [s.detach() for s in final]
    assert steps == 3  # chunks ending rows (5), (8), (10, 10); none in the first
    for a, b in zip(
        network.state_dict().values(), reference.state_dict().values(), strict=True
    ):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)


def test_a_zero_weight_batch_makes_no_optimiser_step() -> None:
    """Adam with momentum: three batches, the middle one with weight 0, end
    where the two others alone end."""
    batches = [
        (torch.full((4, 1), float(i)), torch.full((4, 1), 2.0 * i)) for i in (1, 2, 3)
    ]

    def loss_fn(module: torch.nn.Module, batch: tuple) -> tuple[torch.Tensor, int]:
        x, target = batch
        if x[0, 0] == 2.0:
            return x.new_zeros(()), 0
        return F.mse_loss(module(x), target), len(x)

    torch.manual_seed(0)
    a = torch.nn.Linear(1, 1)
    b = copy.deepcopy(a)
    config = TrainConfig(epochs=3, lr=0.1, verbose=0, seed=0)
    history = train(a, loss_fn, batches, config=config)
    expected = train(b, loss_fn, [batches[0], batches[2]], config=config)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)
    assert history.loss == expected.loss


def test_tagger_carries_state_across_chunks() -> None:
    """The label of every step is the sign of the series' first value: steps
    50..199 see only noise, so they are right only if the state crossed the
    chunk boundaries."""
    rng = np.random.default_rng(0)
    B, T = 96, 200
    sign = rng.choice([-1.0, 1.0], size=B)
    X = 0.1 * rng.normal(size=(B, T, 1))
    X[:, 0, 0] = sign
    y = np.repeat((sign > 0).astype(int)[:, None], T, axis=1)  # (B, T)
    model = ts.Tagger(units=8, cell="gru", seed=0)
    settings = dict(epochs=12, batch_size=16, lr=0.03, validation=None, verbose=0)
    model.fit(X[:64], y[:64], early_stopping=None, chunk_length=50, **settings)
    predicted = model.predict(X[64:])  # (B, T), in chunks of 50 as in fit
    accuracy = float((predicted[:, 50:] == y[64:, 50:]).mean())
    assert accuracy > 0.9, accuracy


def test_refusals_name_the_reason_and_the_fix() -> None:
    X = _ragged(n=8)
    y = np.array([0, 1] * 4)
    with pytest.raises(
        ValueError,
        match=r"^Classifier\.fit: chunk_length=5 carries each layer's state from "
        r"one chunk to the next, which LSTM\(4, bidirectional=True\) cannot do: "
        r"expected layers that read the steps in order: SimpleRNN, LSTM, GRU "
        r"\(one direction\), Dense, TimeDistributed, Conv1D with kernel_size=1 "
        r"and strides=1, received LSTM\(4, bidirectional=True\): its backward "
        r"direction starts at each series' own end, which lies in a later chunk\. "
        r"Fix: use bidirectional=False, or fit without chunk_length \(whole "
        r"series\)\.$",
    ):
        ts.Classifier(units=4, bidirectional=True).fit(
            X, y, epochs=1, validation=None, verbose=0, chunk_length=5
        )
    conv = dict(filters=4, kernel_size=3, strides=2)
    with pytest.raises(
        ValueError,
        match=r"received Conv1D\(4, 3, strides=2.*\): its window \(kernel_size=3, "
        r"strides=2\) reaches back into the previous chunk, and chunk boundaries "
        r"need not fall on its strides\. Fix: drop the chunking: the strided "
        r"Conv1D already shortens long series by its strides, or fit without "
        r"chunk_length \(whole series\); or use conv=None\.$",
    ):
        ts.Regressor(units=4, conv=conv).fit(
            X, y.astype(float), epochs=1, validation=None, verbose=0, chunk_length=5
        )
    model = ts.Classifier(units=4)
    model.fit(X, y, epochs=1, validation=None, verbose=0)
    with pytest.raises(ValueError, match=r"chunk_length is out of range"):
        model.predict(X, chunk_length=0)
    forecaster = ts.Forecaster(lookback=4, horizon=1, units=4)
    with pytest.raises(
        ValueError,
        match=r"^Forecaster\.fit: chunk_length is for models that read each series "
        r"in order to one state: expected chunk_length=None, received "
        r"chunk_length=10\. Fix: use a Classifier, Regressor or Tagger for chunked "
        r"series, or leave chunk_length out\.$",
    ):
        forecaster.fit(np.ones((4, 20, 1)), chunk_length=10)


def test_chunked_training_refuses_torchrun() -> None:
    data = ts.SequenceSet.from_arrays(np.ones((4, 6, 1)), np.array([0, 1, 0, 1]))
    batches = SeriesTargetView(data).to_batches(batch_size=2, chunk_length=3)
    _check_chunks_alone(batches, Distributed(world_size=1))  # one process: fine
    with pytest.raises(
        ValueError,
        match=r"^chunked training \(truncated backpropagation through time\) under "
        r"torchrun: expected one process, or batches without chunk_length, "
        r"received chunk_length=3 on 2 processes, .* wait for each other "
        r"forever\. Fix: train chunked in one process",
    ):
        _check_chunks_alone(batches, Distributed(world_size=2))


def test_saved_model_keeps_its_chunk_length(tmp_path: object) -> None:
    X = _ragged(n=8)
    model = ts.Tagger(units=4)
    labels = [(x[:, 0] > 0).astype(int) for x in X]
    model.fit(X, labels, epochs=1, validation=None, verbose=0, chunk_length=4)
    loaded = ts.load(model.save(tmp_path / "tagger"))  # type: ignore[operator]
    assert loaded.chunk_length_ == 4
    for a, b in zip(loaded.predict_proba(X), model.predict_proba(X), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)

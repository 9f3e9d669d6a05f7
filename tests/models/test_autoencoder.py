from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

import timesteps as ts


def _waves(rng, B, T=16):
    t = np.arange(T)
    phases = rng.uniform(0, 2 * np.pi, B)
    return np.sin(t[None, :] / 2 + phases[:, None])[..., None].astype(np.float32)


def test_anomalies_reconstruct_worse_than_normal_series():
    rng = np.random.default_rng(0)
    train = _waves(rng, 120)
    model = ts.Autoencoder(units=8)
    model.fit(train, epochs=25, lr=0.02, verbose=0)
    normal = _waves(rng, 20)
    anomalous = _waves(rng, 20)
    anomalous[:, 6:10, 0] += 2.5  # a burst in the middle
    scores = model.score(np.concatenate([normal, anomalous]))
    assert scores.steps.shape == (40, 16)
    series = scores.series
    assert series[20:].min() > series[:20].max()
    # the burst steps carry the error
    assert scores.steps[20:, 6:10].mean() > 5 * scores.steps[20:, :4].mean()


def test_embed_predict_and_frames_by_id():
    rng = np.random.default_rng(1)
    X = [rng.normal(size=(n, 2)).astype(np.float32) for n in (5, 8, 6, 7)] * 5
    model = ts.Autoencoder(units=3, cell="gru")
    model.fit(X, epochs=1, validation=None, verbose=0)
    assert model.embed(X).shape == (20, 3)
    data = ts.SequenceSet.from_arrays(
        X, ids=[f"s{i}" for i in range(20)], feature_names=["a", "b"]
    )
    embedding = model.embed(data)
    assert embedding.columns.tolist() == ["id", "h0", "h1", "h2"]
    rebuilt = model.predict(data)
    assert rebuilt.columns.tolist() == ["id", "time", "f0", "f1"]  # the model's names
    assert len(rebuilt) == data.n_steps
    np.testing.assert_allclose(
        rebuilt[["f0", "f1"]].to_numpy()[:5], model.predict(X)[0], rtol=1e-6
    )
    steps, series = model.score(data)
    assert isinstance(steps, pd.DataFrame) and steps.columns.tolist() == [
        "id",
        "time",
        "error",
    ]
    expected = steps.groupby("id", sort=False)["error"].mean().to_numpy()
    np.testing.assert_allclose(series["score"].to_numpy(), expected, rtol=1e-5)


def test_loss_counts_recorded_values_only():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(10, 6, 1)).astype(np.float32)
    X[0, 2, 0] = np.nan
    data = ts.SequenceSet.from_arrays(X, fill="zero")
    model = ts.Autoencoder(units=2)
    model.fit(data, epochs=1, validation=None, verbose=0)
    batch = next(iter(model.batches(data)))
    with torch.no_grad():
        out = model.forward_batch(batch)
        loss, n = model._loss(model.network, batch)
    counted = batch.observed.float()
    expected = (((out - batch.x) ** 2) * counted).sum() / counted.sum()
    assert int(n) == 59
    assert float(loss) == pytest.approx(float(expected), rel=1e-6)


def test_autoencoder_takes_no_custom_network():
    with pytest.raises(TypeError):
        ts.Autoencoder(network=ts.Sequential([ts.LSTM(2)], input_shape=(None, 1)))

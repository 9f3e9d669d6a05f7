from __future__ import annotations

import numpy as np
import pytest
import torch

import timesteps as ts


def _waves(amplitudes, T=12, start=0):
    t = np.arange(start, start + T)
    return (amplitudes[:, None, :] * np.sin(t / 2)[None, :, None]).astype(np.float32)


def test_repeat_generator_draws_the_wave_of_each_amplitude():
    rng = np.random.default_rng(0)
    vectors = rng.uniform(0.5, 2.0, size=(128, 1)).astype(np.float32)
    model = ts.Generator("repeat", units=16)
    model.fit(vectors, _waves(vectors), epochs=40, lr=0.02, verbose=0)
    test = np.array([[0.7], [1.5]], dtype=np.float32)
    generated = model.generate(test, steps=12)
    truth = _waves(test)
    assert generated.shape == (2, 12, 1)
    assert np.abs(generated - truth).mean() < 0.15 * np.abs(truth).mean()
    assert model.evaluate(vectors, _waves(vectors))["mae"] < 0.15


def test_autoregressive_generator_continues_the_history():
    rng = np.random.default_rng(1)
    t = np.arange(40)
    phases = rng.uniform(0, 2 * np.pi, 64)
    waves = np.sin(t[None, :] / 2 + phases[:, None])[..., None].astype(np.float32)
    model = ts.Generator("autoregressive", units=16)
    model.fit(waves, epochs=30, lr=0.02, verbose=0)
    history = ts.SequenceSet.from_arrays(waves[:4, :20])
    frame = model.generate(history, steps=6)
    assert frame.columns.tolist() == ["id", "step", "f0"]
    generated = frame["f0"].to_numpy().reshape(4, 6)
    truth = waves[:4, 20:26, 0]
    naive = np.abs(truth - waves[:4, 19:20, 0]).mean()
    assert np.abs(generated - truth).mean() < 0.5 * naive


def test_generation_after_warm_up_equals_the_teacher_forced_run():
    rng = np.random.default_rng(2)
    vectors = rng.normal(size=(6, 2)).astype(np.float32)
    sequences = rng.normal(size=(6, 9, 3)).astype(np.float32)
    model = ts.Generator("autoregressive", units=5, layers=2, cell="gru")
    model.fit(vectors, sequences, epochs=1, validation=None, verbose=0)
    history = ts.SequenceSet.from_arrays(
        [sequences[i, : 4 + i % 3] for i in range(6)]
    ).replace(static=vectors, static_names=["s0", "s1"])
    first = model.generate(history, steps=1)
    # the teacher-forced run over the whole sequence predicts step T_i at T_i
    batch = next(iter(model.batches(vectors, sequences)))
    with torch.no_grad():
        forced = model.forward_batch(batch).numpy()
    order = np.argsort(batch.index.numpy())
    forced = model.scaler_.inverse_transform_values(forced[order], ["f0", "f1", "f2"])
    expected = np.stack([forced[i, 4 + i % 3] for i in range(6)])
    np.testing.assert_allclose(
        first[["f0", "f1", "f2"]].to_numpy(), expected, rtol=1e-4, atol=1e-5
    )


def test_generator_needs_vectors_for_repeat():
    with pytest.raises(ValueError, match="use strategy='autoregressive'"):
        ts.Generator("repeat").fit(np.zeros((4, 5, 1)), verbose=0)
    with pytest.raises(ValueError, match="unknown strategy"):
        ts.Generator("repeats")

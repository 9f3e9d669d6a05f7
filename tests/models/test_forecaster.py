from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

import timesteps as ts
from timesteps.data.splits import split_by_time


@pytest.mark.parametrize("strategy", ["direct", "recursive", "seq2seq"])
def test_forecaster_beats_the_naive_forecast_on_noisy_sines(noisy_sines, strategy):
    data = ts.SequenceSet.from_arrays(noisy_sines)
    past, future = split_by_time(data, steps=20, keep_context=12)
    model = ts.Forecaster(lookback=12, horizon=4, strategy=strategy, units=16)
    model.fit(past, epochs=12, lr=0.01, verbose=0)
    result = model.evaluate(future)
    # 20 held-out steps, 4 ahead: windows start at 0..16 of the 32-step part
    assert result["n_windows"] == 16 * 17
    assert result["mae_ratio"] < 0.7
    assert result["mae"] == pytest.approx(result["mae_ratio"] * result["naive_mae"])


def test_validation_windows_predict_only_held_out_steps():
    T, L = 40, 5
    values = np.tile(np.arange(T, dtype=np.float32), 3).reshape(3, T, 1)
    data = ts.SequenceSet.from_arrays(values)
    model = ts.Forecaster(lookback=L, horizon=2)
    data = model._prepare_fit(data, refit=False)
    train, validation = model._validation_parts(data, 0.25)
    held = 10  # round(0.25 x 40)
    assert train.values.max() == T - held - 1
    windows = model._source(validation, "validation")
    targets = np.stack([windows[i][1][:, 0] for i in range(len(windows))])
    inputs = np.stack([windows[i][0][:, 0] for i in range(len(windows))])
    assert targets.min() == T - held  # the first held-out step
    assert inputs.min() == T - held - L  # context read, never predicted
    assert len(windows) == 3 * (held - 2 + 1)


def test_predict_from_the_end_gives_steps_and_extrapolated_times(noisy_sines):
    frame = pd.DataFrame(
        {
            "id": np.repeat(["a", "b"], 30),
            "time": np.tile(np.arange(0, 60, 2), 2),
            "load": noisy_sines[:2, :30, 0].reshape(-1),
        }
    )
    data = ts.SequenceSet.from_long(frame, id="id", time="time")
    model = ts.Forecaster(lookback=6, horizon=3, units=4)
    model.fit(data, epochs=1, verbose=0)
    result = model.predict(data)
    assert result.columns.tolist() == ["id", "step", "time", "load"]
    assert result["id"].tolist() == ["a"] * 3 + ["b"] * 3
    assert result["step"].tolist() == [1, 2, 3] * 2
    assert result["time"].tolist() == [60, 62, 64] * 2
    np.testing.assert_allclose(
        result["load"].to_numpy(), model.forecast(data).reshape(-1), rtol=1e-12
    )
    table = model.predict(frame)  # a long table with the training columns
    pd.testing.assert_frame_equal(table, result)


def test_recursive_feeds_each_forecast_back(noisy_sines):
    model = ts.Forecaster(lookback=8, horizon=2, strategy="recursive", units=8)
    model.fit(noisy_sines, epochs=1, verbose=0)
    two = model.forecast(noisy_sines)  # (B, 2, 1)
    extended = np.concatenate([noisy_sines, two[:, :1].astype(np.float32)], axis=1)
    one = model.forecast(extended, horizon=1)
    np.testing.assert_allclose(two[:, 1], one[:, 0], rtol=1e-5, atol=1e-6)
    assert model.forecast(noisy_sines, horizon=7).shape == (16, 7, 1)


def test_seq2seq_feeds_back_what_teacher_forcing_reads():
    net_model = ts.Forecaster(
        lookback=6, horizon=4, strategy="seq2seq", units=4, layers=2
    )
    X = np.random.default_rng(0).normal(size=(8, 20, 1)).astype(np.float32)
    net_model.fit(X, epochs=1, validation=None, verbose=0)
    network = net_model.network.eval()
    x = torch.from_numpy(X[:, :6])
    with torch.no_grad():
        free = network(x)
        forced = network(x, teacher=free)
    torch.testing.assert_close(forced, free)


def test_recursive_refuses_inputs_nobody_forecasts():
    X = np.random.default_rng(0).normal(size=(4, 30, 2)).astype(np.float32)
    data = ts.SequenceSet.from_arrays(X, feature_names=["load", "temp"])
    model = ts.Forecaster(lookback=5, horizon=2, strategy="recursive", target="load")
    message = (
        r"expected features \['load'\] \(targets and known_future\), received also "
        r"\['temp'\], whose future values nobody gives. Fix: use strategy='direct'"
    )
    with pytest.raises(ValueError, match=message):
        model.fit(data, verbose=0)


@pytest.mark.parametrize("strategy", ["direct", "seq2seq", "recursive"])
def test_known_future_values_are_needed_and_used(strategy):
    rng = np.random.default_rng(0)
    hour = np.tile(np.arange(24.0), 3)[None, :, None].repeat(6, axis=0)
    load = np.sin(hour / 4) + 0.1 * rng.normal(size=hour.shape)
    X = np.concatenate([load, hour], axis=2).astype(np.float32)
    data = ts.SequenceSet.from_arrays(X, feature_names=["load", "hour"])
    model = ts.Forecaster(
        lookback=6, horizon=3, strategy=strategy, known_future="hour", units=4
    )
    model.fit(data, epochs=1, verbose=0)
    assert model.target_names_ == ["load"]
    with pytest.raises(ValueError, match="known-future features' values"):
        model.predict(data)
    future = np.arange(72.0, 75.0)[None, :, None].repeat(6, axis=0)  # (B, h, 1)
    assert model.predict(data, future=future).shape == (18, 4)
    other = model.predict(data, future=future + 5)
    assert not np.allclose(other["load"], model.predict(data, future=future)["load"])
    if strategy == "recursive":
        with pytest.raises(ValueError, match=r"at least 4 steps of \['hour'\]"):
            model.predict(data, future=future, horizon=5)
        assert model.forecast(data, future=future, horizon=4).shape == (6, 4, 1)


def test_short_series_are_skipped_with_a_warning(noisy_sines):
    model = ts.Forecaster(lookback=10, horizon=2, units=4)
    model.fit(noisy_sines, epochs=1, verbose=0)
    series = [noisy_sines[0], noisy_sines[1, :5], noisy_sines[2]]
    with pytest.warns(UserWarning, match=r"1 of 3 series have fewer than 10"):
        result = model.forecast(series)
    assert np.isnan(result[1]).all() and not np.isnan(result[[0, 2]]).any()
    with pytest.warns(UserWarning, match="Ids: \\[1\\]"):
        frame = model.predict(ts.SequenceSet.from_arrays(series))
    assert sorted(set(frame["id"])) == [0, 2]
    with pytest.raises(ValueError, match="no series is long enough"):
        model.predict([noisy_sines[0, :4]])


def test_bad_forecaster_settings():
    with pytest.raises(ValueError, match="unknown strategy"):
        ts.Forecaster(5, 2, strategy="recursiv")
    with pytest.raises(ValueError, match="bidirectional=False"):
        ts.Forecaster(5, 2, strategy="seq2seq", bidirectional=True)
    model = ts.Forecaster(5, 2)
    with pytest.raises(ValueError, match=r"horizon <= 2"):
        model._check_horizon(3)


@pytest.mark.parametrize("strategy", ["direct", "seq2seq"])
def test_static_features_reach_the_forecast(noisy_sines, strategy):
    data = ts.SequenceSet.from_arrays(noisy_sines[:, :40]).replace(
        static=np.linspace(0, 1, 16)[:, None].astype(np.float32), static_names=["size"]
    )
    model = ts.Forecaster(lookback=6, horizon=2, strategy=strategy, units=4)
    model.fit(data, epochs=1, verbose=0)
    assert model.static_names_ == ["size"]
    moved = data.replace(static=data.static + 3.0)
    assert not np.allclose(model.forecast(data), model.forecast(moved))
    with pytest.raises(ValueError, match=r"expected S=1 static features \['size'\]"):
        model.forecast(noisy_sines)


def test_resumed_training_ends_with_the_same_weights(noisy_sines, tmp_path):
    def fresh():
        return ts.Forecaster(lookback=6, horizon=2, units=4)

    straight = fresh()
    straight.fit(noisy_sines, epochs=3, early_stopping=None, verbose=0)
    fresh().fit(
        noisy_sines, epochs=2, early_stopping=None, verbose=0, checkpoint_dir=tmp_path
    )
    resumed = fresh()
    history = resumed.fit(
        noisy_sines,
        epochs=3,
        early_stopping=None,
        verbose=0,
        checkpoint_dir=tmp_path,
        resume=True,
    )
    assert history.epochs == 3
    for a, b in zip(
        straight.network.parameters(), resumed.network.parameters(), strict=True
    ):
        assert torch.equal(a, b)


def test_the_backtest_drives_a_forecaster(noisy_sines):
    from timesteps.forecast import backtest

    model = ts.Forecaster(lookback=8, horizon=3, units=4)
    model.fit(noisy_sines, epochs=1, verbose=0)
    table = backtest(
        model,
        ts.SequenceSet.from_arrays(noisy_sines[:4]),
        horizon=3,
        lookback=8,
        folds=2,
        season=1,
    )
    assert set(table["method"]) >= {"model", "naive"}

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import timesteps as ts
from timesteps.models.saving import MODEL_FILE, WEIGHTS_FILE


@pytest.fixture(scope="module")
def series() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(24, 16, 2)).astype(np.float32)


def _fit(model, *args, **kwargs):
    model.fit(*args, epochs=1, validation=None, verbose=0, **kwargs)
    return model


def _round_trip(model, folder):
    model.save(folder)
    loaded = ts.load(folder)
    assert type(loaded) is type(model)
    assert loaded.config == model.config
    assert not loaded.network.training
    return loaded


def test_classifier_round_trip_predicts_exactly_the_same(series, tmp_path):
    labels = np.array(["a", "b", "c"])[np.arange(24) % 3]
    model = _fit(ts.Classifier(units=4, layers=2), series, labels)
    loaded = _round_trip(model, tmp_path)
    assert loaded.classes_.tolist() == ["a", "b", "c"]
    np.testing.assert_array_equal(
        loaded.predict_proba(series), model.predict_proba(series)
    )
    np.testing.assert_array_equal(loaded.predict(series), model.predict(series))
    document = json.loads((tmp_path / MODEL_FILE).read_text())
    assert document["format"] == 1
    assert document["kind"] == "Classifier"
    assert document["state"]["feature_names"] == ["f0", "f1"]
    assert document["state"]["classes"] == {"kind": "str", "values": ["a", "b", "c"]}
    assert document["network"]["class_name"] == "ManyToOne"
    assert (tmp_path / WEIGHTS_FILE).read_bytes()[8:9] == b"{"  # safetensors header


def test_regressor_and_tagger_round_trips(series, tmp_path):
    regressor = _fit(ts.Regressor(units=3, cell="rnn"), series, series.sum(axis=(1, 2)))
    loaded = _round_trip(regressor, tmp_path / "r")
    np.testing.assert_array_equal(loaded.predict(series), regressor.predict(series))
    tagger = _fit(ts.Tagger(units=3, bidirectional=True), series, series[..., 0] > 0)
    loaded = _round_trip(tagger, tmp_path / "t")
    assert loaded.classes_.tolist() == [False, True]
    np.testing.assert_array_equal(
        loaded.predict_proba(series), tagger.predict_proba(series)
    )


@pytest.mark.parametrize("strategy", ["direct", "recursive", "seq2seq"])
def test_forecaster_round_trip(series, tmp_path, strategy):
    data = ts.SequenceSet.from_arrays(series, feature_names=["load", "hour"])
    model = ts.Forecaster(
        lookback=5, horizon=3, strategy=strategy, known_future="hour", units=4
    )
    _fit(model, data)
    loaded = _round_trip(model, tmp_path)
    future = np.ones((24, 3, 1))
    a = loaded.predict(data, future=future)
    b = model.predict(data, future=future)
    np.testing.assert_array_equal(a["load"].to_numpy(), b["load"].to_numpy())
    assert loaded.known_names_ == ["hour"] and loaded.lookback == 5


@pytest.mark.parametrize("strategy", ["repeat", "autoregressive"])
def test_generator_round_trip(series, tmp_path, strategy):
    vectors = series[:, 0, :]
    model = _fit(ts.Generator(strategy, units=4), vectors, series)
    loaded = _round_trip(model, tmp_path)
    np.testing.assert_array_equal(
        loaded.generate(vectors, 7), model.generate(vectors, 7)
    )


def test_autoencoder_round_trip(series, tmp_path):
    model = _fit(ts.Autoencoder(units=3, conv=dict(filters=2, kernel_size=3)), series)
    loaded = _round_trip(model, tmp_path)
    np.testing.assert_array_equal(loaded.embed(series), model.embed(series))
    np.testing.assert_array_equal(
        loaded.score(series).series, model.score(series).series
    )


def test_custom_network_round_trip(series, tmp_path):
    network = ts.Sequential([ts.GRU(3), ts.Dense(1)], input_shape=(None, 2))
    model = _fit(ts.Regressor(network=network), series, series.sum(axis=(1, 2)))
    loaded = _round_trip(model, tmp_path)
    assert loaded.custom_network and isinstance(loaded.network, ts.Sequential)
    np.testing.assert_array_equal(loaded.predict(series), model.predict(series))


def test_bare_sequential_round_trip(tmp_path):
    network = ts.Sequential(
        [ts.LSTM(4, return_sequences=True), ts.TimeDistributed(ts.Dense(2))],
        input_shape=(None, 3),
    ).eval()
    ts.models.save(network, tmp_path)
    loaded = ts.load(tmp_path)
    x = torch.randn(5, 7, 3)
    assert isinstance(loaded, ts.Sequential)
    assert torch.equal(loaded(x), network(x))


@pytest.fixture
def saved(series, tmp_path):
    model = _fit(ts.Classifier(units=2), series, np.arange(24) % 2)
    model.save(tmp_path)
    return tmp_path


def test_truncated_weights_are_refused(saved):
    weights = saved / WEIGHTS_FILE
    weights.write_bytes(weights.read_bytes()[:-10])
    with pytest.raises(
        ValueError, match=r"weights.safetensors does not match model.json"
    ):
        ts.load(saved)


def test_broken_json_is_refused_naming_the_file(saved):
    model_file = saved / MODEL_FILE
    model_file.write_text(model_file.read_text()[:100])
    with pytest.raises(ValueError, match=r"model.json is not a readable saved model"):
        ts.load(saved)


def _edit(folder, change):
    model_file = folder / MODEL_FILE
    document = json.loads(model_file.read_text())
    change(document)
    model_file.write_text(json.dumps(document))


def test_unknown_layer_class_is_refused_not_imported(saved):
    def change(document):
        document["network"]["config"]["encoder"][0]["class_name"] = "os.system"

    _edit(saved, change)
    with pytest.raises(ValueError, match=r"unknown layer in a saved configuration"):
        ts.load(saved)


def test_other_format_and_kind_are_refused(saved):
    _edit(saved, lambda d: d.update(format=2))
    with pytest.raises(ValueError, match=r'expected "format": 1, received "format": 2'):
        ts.load(saved)
    _edit(saved, lambda d: d.update(format=1, kind="Pickle"))
    with pytest.raises(ValueError, match=r"unknown model kind"):
        ts.load(saved)


def test_weights_that_do_not_fit_the_network_are_refused(saved):
    _edit(
        saved, lambda d: d["network"]["config"]["encoder"][0]["config"].update(units=3)
    )
    with pytest.raises(ValueError, match=r"does not fit the network"):
        ts.load(saved)


def test_missing_folder_and_unfitted_model(tmp_path):
    with pytest.raises(FileNotFoundError, match="no saved model there"):
        ts.load(tmp_path / "nothing")
    with pytest.raises(ValueError, match=r"Classifier.save needs a fitted model"):
        ts.Classifier().save(tmp_path)

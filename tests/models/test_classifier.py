from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

import timesteps as ts
from timesteps.data.splits import split
from timesteps.models.base import balanced_weights


@pytest.fixture(scope="module")
def fitted(sign_data):
    X, y = sign_data
    model = ts.Classifier(units=8, seed=1)
    model.fit(X, y, epochs=20, lr=0.02, verbose=0)
    return model


def test_classifier_learns_sign_of_sum(fitted, sign_data):
    X, y = sign_data
    assert fitted.classes_.tolist() == ["neg", "pos"]
    assert fitted.binary
    assert (fitted.predict(X) == y).mean() > 0.9
    result = fitted.evaluate(X, y)
    assert result["accuracy"] > 0.9
    assert result["n_series"] == 300.0


def test_predict_proba_rows_sum_to_one_and_agree_with_predict(fitted, sign_data):
    X, _ = sign_data
    proba = fitted.predict_proba(X[:20])
    assert proba.shape == (20, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(
        fitted.classes_[proba.argmax(axis=1)], fitted.predict(X[:20])
    )


def test_sequence_set_input_gives_frame_by_id(fitted, sign_data):
    X, _ = sign_data
    ids = [f"s{i}" for i in range(10)]
    data = ts.SequenceSet.from_arrays(X[:10], ids=ids)
    frame = fitted.predict(data)
    assert isinstance(frame, pd.DataFrame)
    assert frame.columns.tolist() == ["id", "prediction"]
    assert frame["id"].tolist() == ids
    np.testing.assert_array_equal(frame["prediction"], fitted.predict(X[:10]))
    proba = fitted.predict_proba(data)
    assert proba.columns.tolist() == ["id", "neg", "pos"]


def test_series_of_different_lengths_get_their_own_last_step(fitted):
    rng = np.random.default_rng(3)
    series = [rng.normal(size=(n, 1)).astype(np.float32) for n in (3, 9, 5)]
    together = fitted.predict_proba(series)
    alone = np.concatenate([fitted.predict_proba([s]) for s in series])
    np.testing.assert_allclose(together, alone, atol=1e-6)


def test_stream_in_pieces_equals_predict(fitted, sign_data):
    X, _ = sign_data
    fitted.reset_stream()
    fitted.stream(["a", "b"], X[:2, :5])
    labels = fitted.stream(["b", "a"], X[[1, 0], 5:])
    np.testing.assert_array_equal(labels, fitted.predict(X[[1, 0]]))
    fitted.reset_stream()


def test_multiclass_with_int_labels_and_balanced_weights():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(240, 6, 2)).astype(np.float32)
    s = X[:, :, 0].sum(axis=1)
    y = np.digitize(s, [-1.0, 1.0]) * 10  # classes 0, 10, 20
    model = ts.Classifier(units=12, cell="gru", seed=0)
    model.fit(X, y, epochs=25, lr=0.02, class_weight="balanced", verbose=0)
    assert model.classes_.tolist() == [0, 10, 20]
    assert not model.binary
    assert model.predict_proba(X).shape == (240, 3)
    assert (model.predict(X) == y).mean() > 0.8


def test_balanced_weights_are_n_over_classes_times_count():
    codes = np.array([0, 0, 0, 1])
    np.testing.assert_allclose(balanced_weights(codes, 2), [4 / 6, 4 / 2])


def test_class_weight_dict_weights_the_loss_in_training_only(sign_data):
    X, y = sign_data
    model = ts.Classifier(units=4)
    model.fit(X, y, epochs=1, validation=None, verbose=0, class_weight={"pos": 3.0})
    assert model.class_weights_.tolist() == [1.0, 3.0]
    batch = next(iter(model.batches(ts.SequenceSet.from_arrays(X, y=y))))
    model.network.eval()
    plain, n = model._loss(model.network, batch)
    model.network.train()
    weighted, _ = model._loss(model.network, batch)
    model.network.eval()
    logits = model.forward_batch(batch)[:, 0]
    per = torch.nn.functional.binary_cross_entropy_with_logits(
        logits, batch.y.float(), reduction="none"
    )
    torch.testing.assert_close(plain, per.mean())
    factor = torch.where(batch.y == 1, 3.0, 1.0)
    torch.testing.assert_close(weighted, (per * factor).mean())
    assert n == len(batch)


def test_static_features_join_the_vector():
    rng = np.random.default_rng(0)
    B = 200
    X = rng.normal(size=(B * 4, 1)).astype(np.float32)
    static = rng.normal(size=(B, 1)).astype(np.float32)
    frame = pd.DataFrame(
        {
            "id": np.repeat(np.arange(B), 4),
            "time": np.tile(np.arange(4), B),
            "x": X[:, 0],
            "age": np.repeat(static[:, 0], 4),
            "y": np.repeat((static[:, 0] > 0).astype(int), 4),
        }
    )
    data = ts.SequenceSet.from_long(
        frame, id="id", time="time", target="y", static="age"
    )
    model = ts.Classifier(units=4)
    model.fit(data, epochs=30, lr=0.03, verbose=0)
    assert model.static_names_ == ["age"]
    assert model.network.head.input_shape == (5,)  # H + S
    assert model.evaluate(data)["accuracy"] > 0.9
    table = model.predict(frame.drop(columns="y"))
    assert table["id"].tolist() == list(range(B))


def test_predict_before_fit_says_to_fit():
    with pytest.raises(ValueError, match=r"Classifier.predict needs a fitted model"):
        ts.Classifier().predict(np.zeros((2, 3, 1)))


def test_other_features_are_refused_with_expected_and_received(fitted):
    expected = (
        r"expected F=1 features \['f0'\], received F=2 features \['f0', 'f1'\]. "
        r"Fix: pass data with the 1 features"
    )
    with pytest.raises(ValueError, match=expected):
        fitted.predict(np.zeros((2, 3, 2)))


def test_named_features_are_reordered_or_refused():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 5, 2)).astype(np.float32)
    data = ts.SequenceSet.from_arrays(
        X, y=(X[:, :, 0].sum(1) > 0).astype(int), feature_names=["a", "b"]
    )
    model = ts.Classifier(units=4)
    model.fit(data, epochs=1, validation=None, verbose=0)
    swapped = ts.SequenceSet.from_arrays(X[..., ::-1].copy(), feature_names=["b", "a"])
    np.testing.assert_array_equal(
        model.predict_proba(swapped)[["0", "1"]].to_numpy(),
        model.predict_proba(ts.SequenceSet.from_arrays(X, feature_names=["a", "b"]))[
            ["0", "1"]
        ].to_numpy(),
    )
    other = ts.SequenceSet.from_arrays(X, feature_names=["a", "c"])
    with pytest.raises(ValueError, match=r"received F=2 features \['a', 'c'\]"):
        model.predict(other)


def test_one_class_is_refused():
    with pytest.raises(ValueError, match="at least two classes"):
        ts.Classifier().fit(np.zeros((4, 3, 1)), [1, 1, 1, 1], verbose=0)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="unknown recurrent cell"):
        ts.Classifier(cell="lstn")
    with pytest.raises(ValueError, match=r"dropout=1.5"):
        ts.Classifier(dropout=1.5)
    with pytest.raises(ValueError, match="conv describes a Conv1D front"):
        ts.Classifier(conv={"filters": 4})


def test_conv_front_and_two_bidirectional_layers_build_and_train(sign_data):
    X, y = sign_data
    model = ts.Classifier(
        units=4,
        layers=2,
        bidirectional=True,
        conv=dict(filters=4, kernel_size=3, strides=2),
    )
    history = model.fit(X, y, epochs=2, verbose=0)
    assert history.epochs == 2
    assert model.network.encoder.output_shape == (8,)  # 2H
    with pytest.raises(ValueError, match="cannot be streamed"):
        model.stream(["a"], X[:1])


def test_custom_network_is_used_and_checked(sign_data):
    X, y = sign_data
    network = ts.Sequential([ts.GRU(4), ts.Dense(1)], input_shape=(None, 1))
    model = ts.Classifier(network=network)
    model.fit(X, y, epochs=1, verbose=0)
    assert model.network is network
    wrong = ts.Sequential([ts.GRU(4), ts.Dense(3)], input_shape=(None, 1))
    with pytest.raises(ValueError, match=r"expected per-sample output \(B, K=1\)"):
        ts.Classifier(network=wrong).fit(X, y, epochs=1, verbose=0)


def test_regressor_learns_the_sum_in_original_units():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 6, 1)).astype(np.float32)
    y = 100.0 + 5.0 * X.sum(axis=(1, 2))  # far from 0: scaling must be undone
    model = ts.Regressor(units=8)
    model.fit(X, y, epochs=30, lr=0.02, verbose=0)
    result = model.evaluate(X, y)
    assert result["rmse"] < 0.3 * y.std()
    predicted = model.predict(X)
    assert predicted.shape == (300,)
    assert abs(predicted.mean() - y.mean()) < 0.2 * y.std()
    # scaling statistics come from the training part only, not the validation one
    train, _ = split(ts.SequenceSet.from_arrays(X, y), fraction=0.2, seed=0)
    np.testing.assert_allclose(model.target_offset_, [train.target.mean()], rtol=1e-6)
    np.testing.assert_allclose(model.scaler_.offset_, [train.values.mean()], rtol=1e-5)
    assert model.target_offset_[0] != pytest.approx(y.mean(), rel=1e-4)


def test_regressor_with_two_targets_gives_named_columns():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 4, 1)).astype(np.float32)
    y = np.stack([X.sum(axis=(1, 2)), X.max(axis=(1, 2))], axis=1)
    model = ts.Regressor(units=4)
    model.fit(X, y, epochs=1, validation=None, verbose=0)
    assert model.predict(X).shape == (50, 2)
    frame = model.predict(ts.SequenceSet.from_arrays(X))
    assert frame.columns.tolist() == ["id", "target0", "target1"]


def test_validation_set_is_encoded_with_the_training_classes(sign_data):
    X, y = sign_data
    train = ts.SequenceSet.from_arrays(X[:200], y=y[:200])
    held = ts.SequenceSet.from_arrays(X[200:], y=y[200:])
    model = ts.Classifier(units=4)
    history = model.fit(train, validation=held, epochs=2, verbose=0)
    assert len(history.val_loss) == 2
    assert history.val_loss[-1] == pytest.approx(model.evaluate(held)["loss"], rel=1e-5)

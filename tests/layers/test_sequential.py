"""Sequential: Keras' examples, shape inference, lengths through a stack, errors,
config round trips, stateful stacks, and the docstring examples."""

from __future__ import annotations

import doctest
import json

import numpy as np
import pytest
import torch

import timesteps.layers
from timesteps.layers import (
    GRU,
    LSTM,
    Conv1D,
    Dense,
    RepeatVector,
    Sequential,
    SimpleRNN,
    TimeDistributed,
    base,
    conv,
    core,
    recurrent,
    sequential,
    state,
)
from timesteps.training.compiled import Compilable


def test_keras_bone_size_example():
    model = Sequential(
        [SimpleRNN(10, activation="relu"), Dense(1, activation="sigmoid")],
        input_shape=(3, 1),
    )
    rows = model.summary_rows()
    assert [r["output_shape"] for r in rows] == ["(B, H=10)", "(B, H=1)"]
    assert [(r["params"], r["keras_params"]) for r in rows] == [(130, 120), (11, 11)]
    assert model(torch.zeros(50, 3, 1)).shape == (50, 1)
    assert model.output_shape == (1,)
    assert isinstance(model, Compilable)


def test_keras_forecast_example():
    model = Sequential([LSTM(300), Dense(20)], input_shape=(20, 1))
    rows = model.summary_rows()
    assert [r["output_shape"] for r in rows] == ["(B, H=300)", "(B, H=20)"]
    assert [r["keras_params"] for r in rows] == [362400, 6020]
    assert model(torch.zeros(4, 20, 1)).shape == (4, 20)
    assert repr(model) == (
        "Sequential([\n    LSTM(300),\n    Dense(20),\n], input_shape=(20, 1))"
    )


def test_shape_inference_through_a_stack():
    model = Sequential(
        [
            Conv1D(8, 4, strides=2, padding="causal"),
            LSTM(6, return_sequences=True),
            GRU(5),
            RepeatVector(3),
            SimpleRNN(4, return_sequences=True),
            TimeDistributed(Dense(2)),
        ],
        input_shape=(100, 3),
    )
    assert [r["output_shape"] for r in model.summary_rows()] == [
        "(B, T=50, F=8)",
        "(B, T=50, H=6)",
        "(B, H=5)",
        "(B, T=3, H=5)",
        "(B, T=3, H=4)",
        "(B, T=3, H=2)",
    ]
    assert model(torch.randn(2, 100, 3)).shape == (2, 3, 2)


def test_input_shape_from_the_first_layer():
    model = Sequential([LSTM(4, input_shape=(7, 2)), Dense(1)])
    assert model.input_shape == (7, 2)
    assert model(torch.zeros(3, 7, 2)).shape == (3, 1)


def test_stacked_ragged_rows_equal_each_alone():
    model = Sequential(
        [
            Conv1D(4, 3, strides=2, padding="same"),
            LSTM(5, return_sequences=True),
            GRU(4, bidirectional=True, return_sequences=True),
            SimpleRNN(3),
            Dense(2),
        ],
        input_shape=(None, 2),
    )
    lengths = torch.tensor([11, 4, 9, 11, 1])
    x = torch.randn(5, 11, 2)
    x = x + 30.0 * (torch.arange(11)[None, :, None] >= lengths[:, None, None])
    y = model(x, lengths=lengths)
    for i, n in enumerate(lengths.tolist()):
        torch.testing.assert_close(
            y[i : i + 1], model(x[i : i + 1, :n]), atol=1e-6, rtol=0
        )


def test_per_step_outputs_are_zero_past_each_end():
    model = Sequential(
        [LSTM(4, return_sequences=True), TimeDistributed(Dense(2))],
        input_shape=(None, 3),
    )
    lengths = torch.tensor([6, 2, 4])
    x = torch.randn(3, 6, 3)
    y = model(x, lengths=lengths)
    for i, n in enumerate(lengths.tolist()):
        torch.testing.assert_close(
            y[i : i + 1, :n], model(x[i : i + 1, :n]), atol=1e-6, rtol=0
        )
        assert y[i, n:].abs().sum().item() == 0


def test_stateful_stack_chunks_equal_full_run():
    full = Sequential(
        [LSTM(5, return_sequences=True), GRU(4, return_sequences=True), Dense(1)],
        input_shape=(None, 2),
    )
    chunked = Sequential(
        [
            LSTM(5, return_sequences=True, stateful=True),
            GRU(4, return_sequences=True, stateful=True),
            Dense(1),
        ],
        input_shape=(None, 2),
    )
    chunked.load_state_dict(full.state_dict())
    x = torch.randn(3, 20, 2)
    want = full(x)
    got = torch.cat([chunked(x[:, a : a + 7]) for a in (0, 7, 14)], dim=1)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=0)
    chunked.reset_states()
    torch.testing.assert_close(chunked(x[:, :7]), want[:, :7], atol=1e-5, rtol=0)


def test_config_round_trip_is_json():
    model = Sequential(
        [
            Conv1D(4, 3, padding="causal"),
            LSTM(5, return_sequences=True, dropout=0.1),
            TimeDistributed(Dense(2, activation="tanh")),
        ],
        input_shape=(None, 2),
    )
    config = json.loads(json.dumps(model.get_config()))
    copy = Sequential.from_config(config)
    copy.load_state_dict(model.state_dict())
    model.eval()
    copy.eval()
    x = torch.randn(2, 6, 2)
    torch.testing.assert_close(copy(x), model(x))
    assert repr(copy) == repr(model)


def test_features_mismatch_error():
    model = Sequential([LSTM(4), Dense(1)], input_shape=(100, 3))
    message = (
        r"the input does not match the model's input_shape=\(100, 3\): expected "
        r"\(B, T, F=3\), received \(B=32, T=100, F=4\)\. Fix: pass arrays with the "
        r"F=3 features the model was built for, or build the model with "
        r"input_shape ending in 4\."
    )
    with pytest.raises(ValueError, match=message):
        model(torch.zeros(32, 100, 4))


def test_two_axes_where_three_are_expected():
    model = Sequential([SimpleRNN(10), Dense(1)], input_shape=(3, 1))
    message = (
        r"the input must have 3 axes \(B, T, F\): samples, timesteps, features: "
        r"expected \(B, T, F=1\), received 2 axes \(4000, 3\)\. Fix: if each "
        r"sequence has one value per step, add the features axis with x\[\.\.\., "
        r"None\], which gives \(B=4000, T=3, F=1\)\."
    )
    with pytest.raises(ValueError, match=message):
        model(torch.zeros(4000, 3))
    import numpy as np

    assert model(np.zeros((4000, 3, 1))).shape == (4000, 1)  # numpy is accepted
    x = torch.randn(5, 3, 1, dtype=torch.float64)
    torch.testing.assert_close(model(x), model(x.float()))  # cast to the weights'


def test_construction_errors():
    with pytest.raises(ValueError, match=r"Sequential needs the per-sample input"):
        Sequential([LSTM(3)])
    with pytest.raises(TypeError, match=r"Sequential takes timesteps layers"):
        Sequential([torch.nn.Linear(2, 2)], input_shape=(2,))
    with pytest.raises(ValueError, match=r"Sequential hands one tensor"):
        Sequential([LSTM(3, return_state=True)], input_shape=(None, 1))
    message = (
        r"input_shape is the shape of one sample, without B: expected \(T, F\) or "
        r"\(F,\), received \(32, 3, 1\)\."
    )
    with pytest.raises(ValueError, match=message):
        Sequential([LSTM(3)], input_shape=(32, 3, 1))
    with pytest.raises(ValueError, match=r"LSTM\(3\) cannot take this input"):
        Sequential([LSTM(3), LSTM(3)], input_shape=(None, 1))
    with pytest.raises(TypeError, match=r"takes floating-point input"):
        Sequential([Dense(1)], input_shape=(2,))(torch.zeros(3, 2, dtype=torch.int64))


def test_a_recurrent_layer_after_the_time_axis_is_gone():
    message = (
        r"LSTM\(3\) cannot take this input: expected \(B, T, F\), received "
        r"\(B, H=4\)\. Fix: give it a time axis: set return_sequences=True on the "
        r"previous recurrent layer, or put RepeatVector\(n\) before it"
    )
    with pytest.raises(ValueError, match=message):
        Sequential([GRU(4), LSTM(3)], input_shape=(None, 1))


@pytest.mark.parametrize(
    "module", [base, conv, core, recurrent, sequential, state, timesteps.layers]
)
def test_docstring_examples_run(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_input_follows_the_weights_dtype_after_the_model_is_converted() -> None:
    model = Sequential([SimpleRNN(4), Dense(1)], input_shape=(3, 1))
    x = np.zeros((2, 3, 1), dtype=np.float64)
    assert model(x).dtype == torch.float32
    model.double()
    assert model(x.astype(np.float32)).dtype == torch.float64
    model.float()
    assert model(x).dtype == torch.float32

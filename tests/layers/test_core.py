"""Dense, TimeDistributed, RepeatVector, activations: numbers and error texts."""

from __future__ import annotations

import pytest
import torch

from timesteps.layers import (
    LSTM,
    Dense,
    RepeatVector,
    Sequential,
    TimeDistributed,
    get_activation,
)


def test_dense_on_vectors_and_on_every_step():
    layer = Dense(4)
    x = torch.randn(6, 3)
    torch.testing.assert_close(layer(x), x @ layer.linear.weight.T + layer.linear.bias)
    steps = torch.randn(6, 5, 3)
    want = steps @ layer.linear.weight.T + layer.linear.bias
    torch.testing.assert_close(layer(steps), want)  # (B, T, F) -> (B, T, H)


def test_dense_zeroes_steps_past_each_end():
    layer = Dense(2, activation="sigmoid")
    x = torch.randn(3, 4, 3)
    lengths = torch.tensor([4, 2, 1])
    y = layer(x, lengths=lengths)
    full = layer(x)
    mask = (torch.arange(4)[None, :] < lengths[:, None]).unsqueeze(-1)
    torch.testing.assert_close(y, torch.where(mask, full, torch.zeros(())))


@pytest.mark.parametrize(
    ("name", "function"),
    [
        ("relu", torch.relu),
        ("tanh", torch.tanh),
        ("sigmoid", torch.sigmoid),
        ("softmax", lambda v: torch.softmax(v, dim=-1)),
        ("linear", lambda v: v),
        (None, lambda v: v),
        ("gelu", torch.nn.functional.gelu),
        ("elu", torch.nn.functional.elu),
    ],
)
def test_activations_by_name(name, function):
    v = torch.tensor([[-2.0, -0.5, 0.0, 0.5, 3.0]])
    torch.testing.assert_close(get_activation(name)(v), function(v))


def test_softmax_rows_sum_to_one():
    y = Dense(3, activation="softmax")(torch.randn(4, 2))
    torch.testing.assert_close(y.sum(dim=-1), torch.ones(4))


def test_unknown_activation_names_near_matches():
    message = (
        r"unknown activation: expected one of 'linear', 'relu', 'tanh', 'sigmoid', "
        r"'softmax', 'gelu', 'elu' or None, received 'sigmod'\. "
        r"Fix: did you mean 'sigmoid'\?"
    )
    with pytest.raises(ValueError, match=message):
        Dense(1, activation="sigmod")
    with pytest.raises(TypeError, match=r"activation must be given by name"):
        get_activation(torch.relu)


def test_time_distributed_applies_the_layer_per_step():
    inner = Dense(2)
    layer = TimeDistributed(inner)
    x = torch.randn(3, 4, 5)
    y = layer(x, lengths=torch.tensor([4, 4, 2]))
    for t in range(4):
        want = inner(x[:, t])
        if t >= 2:
            want[2] = 0.0
        torch.testing.assert_close(y[:, t], want)
    assert layer.compute_output_shape((4, 5)) == (4, 2)
    assert layer.output_axes("BTH") == "BTH"


def test_time_distributed_after_a_layer_without_time_axis():
    message = (
        r"TimeDistributed needs a time axis to apply its layer to each step: "
        r"expected \(B, T, \.\.\.\), received \(B, H=10\)\. Fix: set "
        r"return_sequences=True on the previous recurrent layer, or put "
        r"RepeatVector\(n\) before TimeDistributed\."
    )
    with pytest.raises(ValueError, match=message):
        Sequential([LSTM(10), TimeDistributed(Dense(1))], input_shape=(5, 2))
    with pytest.raises(ValueError, match=message):
        TimeDistributed(Dense(1))(torch.zeros(4, 10))


def test_repeat_vector():
    x = torch.randn(2, 3)
    y = RepeatVector(4)(x)
    assert y.shape == (2, 4, 3)
    torch.testing.assert_close(y, x[:, None, :].expand(2, 4, 3))
    assert RepeatVector(4).output_lengths(torch.tensor([1, 2])) is None
    message = (
        r"RepeatVector\(4\) cannot take this input: expected \(B, F\), received "
        r"\(B, T=5, F=3\)\. Fix: RepeatVector takes one vector per sample, such as "
        r"the output of a recurrent layer with return_sequences=False\."
    )
    with pytest.raises(ValueError, match=message):
        RepeatVector(4).build((5, 3))


def test_repr_and_config():
    cases = [
        (Dense(1, activation="sigmoid"), "Dense(1, activation='sigmoid')"),
        (TimeDistributed(Dense(3)), "TimeDistributed(Dense(3))"),
        (RepeatVector(20), "RepeatVector(20)"),
        (Dense(4, input_shape=(10,)), "Dense(4, input_shape=(10,))"),
    ]
    for layer, text in cases:
        assert repr(layer) == text
        assert repr(type(layer).from_config(layer.get_config())) == text


def test_argument_errors():
    message = (
        r"Dense: units must be positive: expected units >= 1, received units=0\. "
        r"Fix: pass a positive units\."
    )
    with pytest.raises(ValueError, match=message):
        Dense(0)
    with pytest.raises(TypeError, match=r"TimeDistributed wraps a timesteps layer"):
        TimeDistributed(torch.nn.Linear(2, 3))
    with pytest.raises(TypeError, match=r"takes a torch\.Tensor"):
        Dense(2)([[1.0, 2.0]])

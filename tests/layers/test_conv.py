"""Conv1D: parity with torch.nn.Conv1d, Keras' padding rules, exact ragged rows."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from timesteps.layers import Conv1D


def reference(layer, x, left, right):
    """nn.Conv1d run directly on x (B, T, F) padded by hand."""
    y = torch.nn.functional.conv1d(
        F.pad(x.transpose(1, 2), (left, right)),
        layer.conv.weight,
        layer.conv.bias,
        stride=layer.strides,
        dilation=layer.dilation_rate,
    )
    return y.transpose(1, 2)


def test_valid_matches_torch():
    layer = Conv1D(4, 3, strides=2, dilation_rate=2)
    x = torch.randn(2, 11, 3)
    y = layer(x)
    assert y.shape == (2, 4, 4)  # span (3 - 1) x 2 + 1 = 5: floor((11 - 5) / 2) + 1
    torch.testing.assert_close(y, reference(layer, x, 0, 0), atol=1e-6, rtol=0)


def test_valid_output_steps():
    layer = Conv1D(4, 3, strides=2, dilation_rate=2)  # span 5
    assert [layer.steps_out(t) for t in (5, 6, 7, 11)] == [1, 1, 2, 4]


def test_causal_pads_left_only():
    layer = Conv1D(4, 3, dilation_rate=2, padding="causal")
    x = torch.randn(2, 9, 3)
    y = layer(x)
    assert y.shape == (2, 9, 4)
    torch.testing.assert_close(y, reference(layer, x, 4, 0), atol=1e-6, rtol=0)
    changed = x.clone()
    changed[:, 5:] += 1.0
    torch.testing.assert_close(layer(changed)[:, :5], y[:, :5])  # never sees later


@pytest.mark.parametrize(
    ("kernel", "strides", "steps", "left", "right", "steps_out"),
    [
        (3, 1, 10, 1, 1, 10),
        (4, 1, 10, 1, 2, 10),  # odd total: more on the right, like Keras
        (3, 2, 10, 0, 1, 5),
        (3, 2, 9, 1, 1, 5),
        (5, 3, 10, 2, 2, 4),  # total (4 - 1) x 3 + 5 - 10 = 4
    ],
)
def test_same_padding_follows_keras(kernel, strides, steps, left, right, steps_out):
    layer = Conv1D(2, kernel, strides=strides, padding="same")
    x = torch.randn(3, steps, 2)
    y = layer(x)
    assert y.shape == (3, steps_out, 2)
    torch.testing.assert_close(y, reference(layer, x, left, right), atol=1e-6, rtol=0)


@pytest.mark.parametrize("padding", ["valid", "same", "causal"])
@pytest.mark.parametrize("strides", [1, 2, 3])
@pytest.mark.parametrize("dilation", [1, 2])
def test_ragged_rows_equal_each_alone(padding, strides, dilation):
    lengths = torch.tensor([13, 6, 9, 12, 7])
    x = torch.randn(5, 13, 2)
    x = x + 50.0 * (torch.arange(13)[None, :, None] >= lengths[:, None, None])
    layer = Conv1D(3, 3, strides=strides, padding=padding, dilation_rate=dilation)
    y = layer(x, lengths=lengths)
    out_lengths = layer.output_lengths(lengths)
    for i, n in enumerate(lengths.tolist()):
        alone = layer(x[i : i + 1, :n])
        m = int(out_lengths[i])
        assert alone.shape[1] == m
        torch.testing.assert_close(y[i : i + 1, :m], alone, atol=1e-6, rtol=0)
        assert y[i, m:].abs().sum().item() == 0


def test_output_lengths():
    lengths = torch.tensor([10, 7, 5, 1])
    assert Conv1D(2, 3, strides=2).output_lengths(lengths[:3]).tolist() == [4, 3, 2]
    assert Conv1D(2, 3, strides=2, padding="same").output_lengths(lengths).tolist() == [
        5,
        4,
        3,
        1,
    ]
    assert Conv1D(2, 5, strides=4, padding="causal").output_lengths(
        lengths
    ).tolist() == [3, 2, 2, 1]
    assert Conv1D(2, 3).output_lengths(None) is None


def test_activation_and_shape_inference():
    layer = Conv1D(4, 3, activation="relu")
    y = layer(torch.randn(2, 8, 3))
    assert y.min().item() >= 0
    assert layer.compute_output_shape((8, 3)) == (6, 4)
    assert layer.compute_output_shape((None, 3)) == (None, 4)
    assert layer.output_axes("BTF") == "BTF"


def test_errors():
    message = (
        r"Conv1D: unknown padding: expected 'valid' or 'same' or 'causal', "
        r"received 'full'\. Fix: use 'causal' so that no step sees a later one\."
    )
    with pytest.raises(ValueError, match=message):
        Conv1D(4, 3, padding="full")
    layer = Conv1D(4, 5)
    message = (
        r"Conv1D\(4, 5\) with padding='valid' needs at least 5 steps per sequence: "
        r"expected T >= 5, received a sequence of T=3\. Fix: use padding='causal' "
        r"or 'same', a smaller kernel_size, or drop the shorter sequences\."
    )
    with pytest.raises(ValueError, match=message):
        layer(torch.randn(2, 8, 3), lengths=torch.tensor([8, 3]))
    with pytest.raises(ValueError, match=message):
        layer.compute_output_shape((3, 3))


def test_config_round_trip():
    layer = Conv1D(16, 5, strides=4, padding="causal", activation="relu")
    assert (
        repr(layer) == "Conv1D(16, 5, strides=4, padding='causal', activation='relu')"
    )
    assert repr(Conv1D.from_config(layer.get_config())) == repr(layer)

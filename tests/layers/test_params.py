"""Closed-form parameter counts, PyTorch's and Keras', with their formulas; each
PyTorch count equals the parameters the built layer really holds."""

from __future__ import annotations

import pytest

from timesteps.layers import (
    GRU,
    LSTM,
    Bidirectional,
    Conv1D,
    Dense,
    ParamBreakdown,
    RepeatVector,
    SimpleRNN,
    TimeDistributed,
)


def held(layer, shape):
    layer.build(shape)
    return sum(p.numel() for p in layer.parameters())


@pytest.mark.parametrize(
    ("layer", "shape", "breakdown"),
    [
        (
            LSTM(300),
            (20, 1),
            ParamBreakdown(
                363600,
                "4 x (300 x (1 + 300) + 2 x 300)",
                362400,
                "4 x (300 x (1 + 300) + 300)",
            ),
        ),
        (
            SimpleRNN(10, activation="relu"),
            (3, 1),
            ParamBreakdown(130, "10 x (1 + 10) + 2 x 10", 120, "10 x (1 + 10) + 10"),
        ),
        (
            GRU(4),
            (None, 2),
            ParamBreakdown(
                96, "3 x (4 x (2 + 4) + 2 x 4)", 96, "3 x (4 x (2 + 4) + 2 x 4)"
            ),
        ),
        (Dense(1), (10,), ParamBreakdown(11, "10 x 1 + 1", 11, "10 x 1 + 1")),
        (
            Dense(20),
            (7, 300),
            ParamBreakdown(6020, "300 x 20 + 20", 6020, "300 x 20 + 20"),
        ),
        (
            Conv1D(16, 5, strides=4),
            (None, 8),
            ParamBreakdown(656, "5 x 8 x 16 + 16", 656, "5 x 8 x 16 + 16"),
        ),
        (
            TimeDistributed(Dense(3)),
            (None, 4),
            ParamBreakdown(15, "4 x 3 + 3", 15, "4 x 3 + 3"),
        ),
        (RepeatVector(5), (4,), ParamBreakdown(0, "0", 0, "0")),
        (
            LSTM(8, bidirectional=True),
            (None, 3),
            ParamBreakdown(
                2 * 4 * (8 * 11 + 16),
                "2 x (4 x (8 x (3 + 8) + 2 x 8))",
                2 * 4 * (8 * 11 + 8),
                "2 x (4 x (8 x (3 + 8) + 8))",
            ),
        ),
        (
            Bidirectional(SimpleRNN(2), merge_mode="sum"),
            (None, 1),
            ParamBreakdown(
                20, "2 x (2 x (1 + 2) + 2 x 2)", 16, "2 x (2 x (1 + 2) + 2)"
            ),
        ),
    ],
)
def test_closed_form_counts(layer, shape, breakdown):
    assert layer.param_breakdown(shape) == breakdown
    assert held(layer, shape) == breakdown.count
    assert layer.param_breakdown() == breakdown  # the built shape by default


def test_counts_do_not_depend_on_timesteps():
    assert LSTM(5).param_breakdown((3, 2)) == LSTM(5).param_breakdown((3000, 2))


def test_breakdown_needs_a_shape():
    message = (
        r"LSTM\(5\) does not know its input shape yet: expected a built layer or "
        r"an input_shape, received an unbuilt layer and no input_shape\. Fix: call "
        r"param_breakdown\(\(T, F\)\) or call the layer on a batch first\."
    )
    with pytest.raises(ValueError, match=message):
        LSTM(5).param_breakdown()

"""Layers in Keras' vocabulary on PyTorch's fused kernels, and ``Sequential``.

>>> import torch
>>> from timesteps.layers import Dense, LSTM, Sequential
>>> model = Sequential([LSTM(300), Dense(20)], input_shape=(20, 1))
>>> model(torch.zeros(4, 20, 1)).shape      # (B=4, T=20, F=1) -> (B=4, 20)
torch.Size([4, 20])
"""

from __future__ import annotations

from .base import (
    Layer,
    ParamBreakdown,
    deserialize_layer,
    serialize_layer,
)
from .conv import Conv1D
from .core import Dense, RepeatVector, TimeDistributed, get_activation
from .recurrent import GRU, LSTM, Bidirectional, SimpleRNN
from .sequential import Sequential
from .state import StateStore, stream, stream_state_sizes

__all__ = [
    "GRU",
    "LSTM",
    "Bidirectional",
    "Conv1D",
    "Dense",
    "Layer",
    "ParamBreakdown",
    "RepeatVector",
    "Sequential",
    "SimpleRNN",
    "StateStore",
    "TimeDistributed",
    "deserialize_layer",
    "get_activation",
    "serialize_layer",
    "stream",
    "stream_state_sizes",
]

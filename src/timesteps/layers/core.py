"""Dense, TimeDistributed, RepeatVector and activations by name.

>>> import torch
>>> from timesteps.layers import Dense, RepeatVector, TimeDistributed
>>> Dense(1, activation="sigmoid")(torch.zeros(50, 10)).shape    # (B, H) -> (B, 1)
torch.Size([50, 1])
>>> Dense(4)(torch.zeros(50, 3, 10)).shape          # every step: (B, T, H) -> (B, T, 4)
torch.Size([50, 3, 4])
>>> RepeatVector(20)(torch.zeros(50, 10)).shape     # (B, H) -> (B, h=20, H)
torch.Size([50, 20, 10])
>>> TimeDistributed(Dense(2))(torch.zeros(50, 20, 10)).shape
torch.Size([50, 20, 2])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from .._errors import near_matches, problem
from .._shapes import format_shape
from .base import (
    Layer,
    ParamBreakdown,
    Shape,
    deserialize_layer,
    mask_steps,
    serialize_layer,
    trusted,
    varying_lengths,
)

Activation = Callable[[torch.Tensor], torch.Tensor]

_ACTIVATIONS: dict[str, Activation] = {
    "linear": lambda x: x,
    "relu": torch.relu,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "softmax": lambda x: torch.softmax(x, dim=-1),
    "gelu": F.gelu,
    "elu": F.elu,
}


def get_activation(name: str | None) -> Activation:
    """The function for an activation name (Keras' names); ``None`` is linear.

    >>> get_activation("relu")(torch.tensor([-1.0, 2.0]))
    tensor([0., 2.])
    """
    if name is None:
        return _ACTIVATIONS["linear"]
    if not isinstance(name, str):
        raise TypeError(
            problem(
                "activation must be given by name",
                f"one of {', '.join(repr(n) for n in _ACTIVATIONS)} or None",
                f"{type(name).__name__}",
                "pass the name as a string, e.g. activation='relu'",
            )
        )
    if name not in _ACTIVATIONS:
        raise ValueError(
            problem(
                "unknown activation",
                f"one of {', '.join(repr(n) for n in _ACTIVATIONS)} or None",
                repr(name),
                near_matches(name, _ACTIVATIONS),
            )
        )
    return _ACTIVATIONS[name]


def check_units(value: Any, name: str, who: str) -> int:
    """A positive integer size (units, filters, kernel_size, n) at a boundary."""
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError(
            problem(
                f"{who}: {name} must be an integer",
                "a positive integer",
                repr(value),
                f"pass {name} as an int, e.g. {name}=10",
            )
        )
    value = value.__index__()
    if value < 1:
        raise ValueError(
            problem(
                f"{who}: {name} must be positive",
                f"{name} >= 1",
                f"{name}={value}",
                f"pass a positive {name}",
            )
        )
    return value


class Dense(Layer):
    """A fully connected layer: ``(B, F) -> (B, H)``, or on every step of a
    sequence ``(B, T, F) -> (B, T, H)`` with the same weights (Keras semantics).

    Steps beyond a sequence's length are zeroed when ``lengths`` are given.

    >>> Dense(20)(torch.zeros(32, 300)).shape
    torch.Size([32, 20])
    >>> Dense(1).param_breakdown((10,)).formula
    '10 x 1 + 1'
    """

    _positional = ("units",)
    _ranks = (1, 2)

    def __init__(
        self,
        units: int,
        activation: str | None = None,
        *,
        input_shape: Sequence[int | None] | None = None,
    ) -> None:
        super().__init__(input_shape=input_shape)
        self.units = check_units(units, "units", "Dense")
        get_activation(activation)  # check the name now, not at the first call
        self.activation = activation

    def _build(self, shape: Shape) -> None:
        self.linear = torch.nn.Linear(_features(shape), self.units)

    def _check_call(self, x: torch.Tensor) -> None:
        assert self.input_shape is not None  # built, so set
        if x.ndim in (2, 3) and x.shape[-1] == self.input_shape[-1]:
            return  # (B, F) and (B, T, F) alike: only F matters
        super()._check_call(x)

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> Shape:
        return (*tuple(input_shape)[:-1], self.units)

    def output_axes(self, input_axes: str) -> str:
        return input_axes[:-1] + "H"

    def forward(
        self, x: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> torch.Tensor:
        y = get_activation(self.activation)(self.linear(x))  # (B, [T,] H)
        if x.ndim == 3:
            y = mask_steps(y, varying_lengths(lengths, x.shape[1]))
        return y

    def _param_breakdown(self, shape: Shape) -> ParamBreakdown:
        f, h = _features(shape), self.units
        count = f * h + h
        formula = f"{f} x {h} + {h}"
        return ParamBreakdown(count, formula, count, formula)

    def get_config(self) -> dict[str, Any]:
        return {
            "units": self.units,
            "activation": self.activation,
            **super().get_config(),
        }


class TimeDistributed(Layer):
    """Apply ``layer`` to every step of a sequence: ``(B, T, ...) -> (B, T, ...)``.

    The inner layer sees ``B x T`` samples of one step each. Steps beyond a
    sequence's length are zeroed when ``lengths`` are given.

    >>> TimeDistributed(Dense(3))(torch.zeros(8, 5, 10)).shape
    torch.Size([8, 5, 3])
    """

    _ranks = (2, 3, 4)

    def __init__(
        self, layer: Layer, *, input_shape: Sequence[int | None] | None = None
    ) -> None:
        super().__init__(input_shape=input_shape)
        if not isinstance(layer, Layer):
            raise TypeError(
                problem(
                    "TimeDistributed wraps a timesteps layer",
                    "a Layer such as Dense(3)",
                    type(layer).__name__,
                    "wrap a layer from timesteps.layers",
                )
            )
        self.layer = layer

    def _check_rank(self, shape: Shape) -> None:
        if len(shape) >= 2:
            return
        letters = self._input_axes if self._input_axes else "BH"
        received = format_shape((None, *shape), letters if len(letters) == 2 else "BH")
        raise ValueError(
            problem(
                "TimeDistributed needs a time axis to apply its layer to each step",
                "(B, T, ...)",
                received,
                "set return_sequences=True on the previous recurrent layer, or "
                "put RepeatVector(n) before TimeDistributed",
            )
        )

    def _build(self, shape: Shape) -> None:
        self.layer._input_axes = None
        self.layer.build(shape[1:])

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> Shape:
        shape = tuple(input_shape)
        self._check_rank(shape)
        return (shape[0], *self.layer.compute_output_shape(shape[1:]))

    def output_axes(self, input_axes: str) -> str:
        inner = self.layer.output_axes("B" + input_axes[2:])
        return input_axes[:2] + inner[1:]

    def forward(
        self, x: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> torch.Tensor:
        B, T = x.shape[:2]
        with trusted():
            y = self.layer(x.reshape(B * T, *x.shape[2:]))  # (B x T, ...)
        y = y.reshape(B, T, *y.shape[1:])  # (B, T, ...)
        return mask_steps(y, varying_lengths(lengths, T))

    def _param_breakdown(self, shape: Shape) -> ParamBreakdown:
        return self.layer.param_breakdown(shape[1:])

    def get_config(self) -> dict[str, Any]:
        return {"layer": serialize_layer(self.layer), **super().get_config()}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TimeDistributed:
        config = dict(config)
        config["layer"] = deserialize_layer(config["layer"])
        return cls(**config)

    def __repr__(self) -> str:
        return f"TimeDistributed({self.layer!r})"


class RepeatVector(Layer):
    """Repeat a vector ``n`` times along a new time axis: ``(B, H) -> (B, n, H)``.

    The bridge from an encoder's last state to a decoder that runs over ``n``
    steps (one-to-many, encoder-decoder forecasts).

    >>> RepeatVector(3)(torch.ones(2, 4)).shape
    torch.Size([2, 3, 4])
    """

    _positional = ("n",)
    _ranks = (1,)

    def __init__(
        self, n: int, *, input_shape: Sequence[int | None] | None = None
    ) -> None:
        super().__init__(input_shape=input_shape)
        self.n = check_units(n, "n", "RepeatVector")

    def _rank_fix(self, shape: Shape) -> str:
        return (
            "RepeatVector takes one vector per sample, such as the output of a "
            "recurrent layer with return_sequences=False"
        )

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> Shape:
        return (self.n, *tuple(input_shape))

    def output_axes(self, input_axes: str) -> str:
        return input_axes[0] + "T" + input_axes[1:]

    def output_lengths(self, lengths: torch.Tensor | None) -> torch.Tensor | None:
        return None  # every repeated sequence has all n steps

    def forward(
        self, x: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> torch.Tensor:
        B, H = x.shape
        return x.unsqueeze(1).expand(B, self.n, H)  # (B, n, H)

    def get_config(self) -> dict[str, Any]:
        return {"n": self.n, **super().get_config()}


def _features(shape: Shape) -> int:
    features = shape[-1]
    if features is None:
        raise ValueError(
            problem(
                "the features axis F must have a known size",
                "an integer F",
                "F=None",
                "give input_shape=(T, F) with F as an integer",
            )
        )
    return int(features)

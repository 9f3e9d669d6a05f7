"""Conv1D: the downsampling front for long sequences, ``(B, T, F) -> (B, T', filters)``.

A strided convolution shortens every sequence before a recurrent layer reads it
(``T' = ceil(T / strides)`` for ``"same"`` and ``"causal"``); ``output_lengths``
gives each row's own ``T'`` so the next layer takes each sequence's own last step.

>>> import torch
>>> from timesteps.layers import Conv1D
>>> conv = Conv1D(16, 5, strides=4, padding="causal")
>>> conv(torch.zeros(2, 1000, 8)).shape      # (B=2, T=1000, F=8) -> (B=2, T'=250, 16)
torch.Size([2, 250, 16])
>>> conv.output_lengths(torch.tensor([1000, 999, 3])).tolist()
[250, 250, 1]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from .._errors import problem
from .base import Layer, ParamBreakdown, Shape, mask_steps, varying_lengths
from .core import _features, check_units, get_activation

PADDINGS = ("valid", "same", "causal")


class Conv1D(Layer):
    """1-D convolution over the timesteps axis, Keras' ``Conv1D``.

    ``padding``: ``"valid"`` (no padding, ``T' = floor((T - span) / strides) + 1``
    with ``span = (kernel_size - 1) x dilation_rate + 1``), ``"same"`` (zeros on
    both sides, more on the right when odd, like Keras) or ``"causal"`` (zeros
    on the left only: step t never sees a later step). With ``lengths`` every
    sequence gets exactly the output it gets alone at its own length, and steps
    beyond its own ``T'`` are zero.

    >>> Conv1D(16, 3, padding="same")(torch.zeros(4, 100, 8)).shape
    torch.Size([4, 100, 16])
    >>> Conv1D(16, 3).param_breakdown((100, 8)).formula
    '3 x 8 x 16 + 16'
    """

    _positional = ("filters", "kernel_size")

    def __init__(
        self,
        filters: int,
        kernel_size: int,
        strides: int = 1,
        padding: str = "valid",
        dilation_rate: int = 1,
        activation: str | None = None,
        *,
        input_shape: Sequence[int | None] | None = None,
    ) -> None:
        super().__init__(input_shape=input_shape)
        self.filters = check_units(filters, "filters", "Conv1D")
        self.kernel_size = check_units(kernel_size, "kernel_size", "Conv1D")
        self.strides = check_units(strides, "strides", "Conv1D")
        self.dilation_rate = check_units(dilation_rate, "dilation_rate", "Conv1D")
        if padding not in PADDINGS:
            raise ValueError(
                problem(
                    "Conv1D: unknown padding",
                    " or ".join(repr(p) for p in PADDINGS),
                    repr(padding),
                    "use 'causal' so that no step sees a later one",
                )
            )
        self.padding = padding
        get_activation(activation)
        self.activation = activation
        self.span = (self.kernel_size - 1) * self.dilation_rate + 1

    def _build(self, shape: Shape) -> None:
        self.conv = torch.nn.Conv1d(
            _features(shape),
            self.filters,
            self.kernel_size,
            stride=self.strides,
            dilation=self.dilation_rate,
        )

    # -- shapes and lengths ------------------------------------------------------

    def steps_out(self, steps: int) -> int:
        """T' for an input of T steps."""
        if self.padding == "valid":
            return (steps - self.span) // self.strides + 1
        return -(-steps // self.strides)

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> Shape:
        steps, _ = tuple(input_shape)
        if steps is not None:
            self._check_steps(steps)
            return (self.steps_out(steps), self.filters)
        return (None, self.filters)

    def output_axes(self, input_axes: str) -> str:
        return input_axes[:-1] + "F"

    def output_lengths(self, lengths: torch.Tensor | None) -> torch.Tensor | None:
        if lengths is None:
            return None
        if self.padding == "valid":
            return (
                torch.div(lengths - self.span, self.strides, rounding_mode="floor") + 1
            )
        return torch.div(
            lengths + self.strides - 1, self.strides, rounding_mode="floor"
        )

    def _check_steps(self, steps: int) -> None:
        if self.padding == "valid" and steps < self.span:
            raise ValueError(
                problem(
                    f"{self!r} with padding='valid' needs at least {self.span} "
                    "steps per sequence",
                    f"T >= {self.span}",
                    f"a sequence of T={steps}",
                    "use padding='causal' or 'same', a smaller kernel_size, or "
                    "drop the shorter sequences",
                )
            )

    # -- computing -----------------------------------------------------------------

    def forward(
        self, x: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> torch.Tensor:
        T = x.shape[1]
        lengths = varying_lengths(lengths, T)
        self._check_steps(T if lengths is None else int(lengths.min()))
        steps = self.steps_out(T)
        if self.padding == "same" and lengths is not None:
            x = mask_steps(x, lengths)  # 'same' reads past a sequence's end: zeros
        xt = x.transpose(1, 2)  # (B, F, T)
        if lengths is not None and self.padding == "same" and self.strides > 1:
            y = self._conv_per_left_pad(xt, lengths, steps)
        else:
            y = self._conv(xt, self._left_pad(T), steps)
        y = get_activation(self.activation)(y.transpose(1, 2))  # (B, T', filters)
        return mask_steps(y, self.output_lengths(lengths))

    def _left_pad(self, steps: int | torch.Tensor) -> Any:
        if self.padding == "valid":
            return 0
        if self.padding == "causal":
            return self.span - 1
        out = -(-steps // self.strides)
        total = (out - 1) * self.strides + self.span - steps
        if isinstance(total, torch.Tensor):
            return total.clamp(min=0) // 2
        return max(total, 0) // 2

    def _conv(self, xt: torch.Tensor, left: int, steps: int) -> torch.Tensor:
        T = xt.shape[-1]
        right = max((steps - 1) * self.strides + self.span - T - left, 0)
        return self.conv(F.pad(xt, (left, right)))[..., :steps]  # (B, filters, T')

    def _conv_per_left_pad(
        self, xt: torch.Tensor, lengths: torch.Tensor, steps: int
    ) -> torch.Tensor:
        """'same' with strides > 1: alone, a sequence's left padding depends on
        its own length, so rows are grouped by their own left padding."""
        lefts = self._left_pad(lengths)
        values = torch.unique(lefts).tolist()
        if len(values) == 1:
            return self._conv(xt, int(values[0]), steps)
        parts, rows = [], []
        for value in values:
            index = torch.nonzero(lefts == value).squeeze(1)
            parts.append(self._conv(xt.index_select(0, index), int(value), steps))
            rows.append(index)
        order = torch.cat(rows)
        inverse = torch.empty_like(order)
        inverse[order] = torch.arange(len(order), device=order.device)
        return torch.cat(parts).index_select(0, inverse)

    # -- description -----------------------------------------------------------

    def _param_breakdown(self, shape: Shape) -> ParamBreakdown:
        k, f, n = self.kernel_size, _features(shape), self.filters
        count = k * f * n + n
        formula = f"{k} x {f} x {n} + {n}"
        return ParamBreakdown(count, formula, count, formula)

    def get_config(self) -> dict[str, Any]:
        return {
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "dilation_rate": self.dilation_rate,
            "activation": self.activation,
            **super().get_config(),
        }

"""Sequential: a stack of layers built at construction by shape inference.

>>> import torch
>>> from timesteps.layers import Dense, LSTM, Sequential, SimpleRNN
>>> model = Sequential(
...     [SimpleRNN(10, activation="relu"), Dense(1, activation="sigmoid")],
...     input_shape=(3, 1),
... )
>>> [row["output_shape"] for row in model.summary_rows()]
['(B, H=10)', '(B, H=1)']
>>> model(torch.zeros(4000, 3, 1)).shape
torch.Size([4000, 1])
>>> model = Sequential([LSTM(300), Dense(20)], input_shape=(20, 1))
>>> [row["params"] for row in model.summary_rows()]
[363600, 6020]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

import numpy as np
import torch

from .._errors import problem
from .._shapes import format_shape
from ..training.compiled import Compilable
from .base import (
    Layer,
    Shape,
    _as_shape,
    check_lengths,
    deserialize_layer,
    serialize_layer,
    trusted,
    varying_lengths,
)


class Sequential(Compilable, torch.nn.Module):
    """Layers applied one after the other; ``lengths`` travel along.

    ``input_shape`` is the per-sample shape ``(T, F)`` (T may be None: any
    length) or ``(F,)``; it may also come from the first layer's
    ``input_shape=`` as in Keras. Every layer is built here, so shape mistakes
    surface at construction, named in the axis vocabulary.

    ``model(x, lengths=lengths)``: ``x`` (B, T, F) padded after each sequence's
    end, ``lengths`` (B,) true lengths. Each sequence gets exactly what it gets
    alone; a strided Conv1D shortens the lengths for the layers after it.

    >>> from timesteps.layers import LSTM, Dense
    >>> model = Sequential([LSTM(8, return_sequences=True), Dense(2)],
    ...                    input_shape=(None, 3))
    >>> model(torch.zeros(5, 7, 3), lengths=torch.tensor([7, 5, 3, 2, 1])).shape
    torch.Size([5, 7, 2])
    """

    def __init__(
        self,
        layers: Sequence[Layer] = (),
        input_shape: Sequence[int | None] | None = None,
    ) -> None:
        super().__init__()
        if isinstance(layers, Layer | str) or not isinstance(layers, Iterable):
            raise TypeError(
                problem(
                    "Sequential takes a list of layers",
                    "a list such as [LSTM(10), Dense(1)]",
                    type(layers).__name__,
                    "put the layers in a list",
                )
            )
        layers = list(layers)
        if input_shape is None and layers:
            input_shape = layers[0].declared_input_shape
        if input_shape is None:
            raise ValueError(
                problem(
                    "Sequential needs the per-sample input shape",
                    "input_shape=(T, F) (T may be None) or (F,)",
                    "no input_shape",
                    "pass input_shape=(T, F), e.g. (3, 1) for 3 steps of 1 feature",
                )
            )
        self.input_shape: Shape = _as_shape(input_shape, "input_shape")
        if len(self.input_shape) not in (1, 2):
            raise ValueError(
                problem(
                    "input_shape is the shape of one sample, without B",
                    "(T, F) or (F,)",
                    repr(tuple(input_shape)),
                    "leave out the samples axis: (B, T, F) data has input_shape=(T, F)",
                )
            )
        self.input_axes = "BTF" if len(self.input_shape) == 2 else "BF"
        self.layers = torch.nn.ModuleList()
        self._shapes: list[Shape] = [self.input_shape]
        self._axes: list[str] = [self.input_axes]
        self._weight_dtype: torch.dtype | None = None
        for layer in layers:
            self.add(layer)

    def add(self, layer: Layer) -> None:
        """Append a layer and build it for the current output shape."""
        if not isinstance(layer, Layer):
            raise TypeError(
                problem(
                    "Sequential takes timesteps layers",
                    "a Layer such as LSTM(10) or Dense(1)",
                    type(layer).__name__,
                    "use the layers of timesteps.layers (Dense instead of "
                    "torch.nn.Linear, LSTM instead of torch.nn.LSTM)",
                )
            )
        if getattr(layer, "return_state", False):
            raise ValueError(
                problem(
                    f"{layer!r} inside Sequential: Sequential hands one tensor "
                    "from layer to layer",
                    "return_state=False",
                    "return_state=True",
                    "call the layer on its own to get its states, or stream the "
                    "model with stream() to keep each series' state",
                )
            )
        shape, axes = self._shapes[-1], self._axes[-1]
        layer._input_axes = axes
        layer.build(shape)
        self._shapes.append(layer.compute_output_shape(shape))
        self._axes.append(layer.output_axes(axes))
        self.layers.append(layer)
        self._note_dtype()

    def _note_dtype(self) -> None:
        # The weights' dtype, looked up once rather than on every forward call
        # (a per-call ``next(self.parameters())`` was ~10% of a small model's
        # step); ``_apply`` refreshes it after ``.to()``, ``.double()`` and such.
        self._weight_dtype = next((p.dtype for p in self.parameters()), None)

    def _apply(self, fn: Any, recurse: bool = True) -> Any:
        result = super()._apply(fn, recurse)
        self._note_dtype()
        return result

    @property
    def stack(self) -> list[Layer]:
        """The layers as a typed list (``.layers`` is the registered ModuleList)."""
        return cast(list[Layer], list(self.layers))

    @property
    def output_shape(self) -> Shape:
        """Per-sample output shape (no B), e.g. ``(1,)`` or ``(T, 20)``."""
        return self._shapes[-1]

    @property
    def output_axes(self) -> str:
        """Axis letters of the output, e.g. ``"BH"`` or ``"BTH"``."""
        return self._axes[-1]

    # -- calling -----------------------------------------------------------------

    def forward(self, x: Any, lengths: Any = None) -> torch.Tensor:
        """``x`` (B, T, F) [or (B, F)], ``lengths`` (B,) -> the last layer's output."""
        x = self.check_input(x)
        lengths = check_lengths(lengths, x, "Sequential")
        if x.ndim == 3:
            lengths = varying_lengths(lengths, x.shape[1])
        with trusted():
            for layer in self.stack:
                x = layer(x, lengths=lengths)
                lengths = layer.output_lengths(lengths)
        return x

    def check_input(self, x: Any) -> torch.Tensor:
        """The boundary check: a float tensor with the model's features axis."""
        if isinstance(x, np.ndarray):
            x = torch.as_tensor(x, dtype=torch.float32)
        if not isinstance(x, torch.Tensor):
            raise TypeError(
                problem(
                    "Sequential takes an array of samples",
                    f"a torch.Tensor or numpy array {self._expected()}",
                    type(x).__name__,
                    "convert with numpy.asarray(x, dtype='float32')",
                )
            )
        if not x.is_floating_point():
            raise TypeError(
                problem(
                    "Sequential takes floating-point input",
                    "dtype float32",
                    f"dtype {x.dtype}",
                    "convert with x.float()",
                )
            )
        expected_rank = len(self.input_shape) + 1
        if x.ndim == 2 and expected_rank == 3:
            B, T = x.shape
            raise ValueError(
                problem(
                    "the input must have 3 axes (B, T, F): samples, timesteps, "
                    "features",
                    self._expected(),
                    f"2 axes {tuple(x.shape)}",
                    "if each sequence has one value per step, add the features "
                    f"axis with x[..., None], which gives "
                    f"{format_shape((B, T, 1), 'BTF')}",
                )
            )
        features = self.input_shape[-1]
        if x.ndim != expected_rank or x.shape[-1] != features:
            letters = self.input_axes if x.ndim == expected_rank else ""
            raise ValueError(
                problem(
                    f"the input does not match the model's input_shape="
                    f"{self.input_shape}",
                    self._expected(),
                    format_shape(tuple(x.shape), letters or _letters(x.ndim)),
                    f"pass arrays with the F={features} features the model was "
                    f"built for, or build the model with input_shape ending in "
                    f"{x.shape[-1]}",
                )
            )
        dtype = self._weight_dtype
        if dtype is not None and x.dtype != dtype:
            x = x.to(dtype)  # e.g. float64 arrays run in the weights' dtype
        return x

    def _expected(self) -> str:
        if len(self.input_shape) == 1:
            return format_shape((None, self.input_shape[0]), "BF")
        return format_shape((None, None, self.input_shape[-1]), "BTF")

    # -- state ---------------------------------------------------------------------

    def reset_states(self) -> None:
        """Forget the carried state of every stateful layer."""
        for layer in self.stack:
            reset = getattr(layer, "reset_states", None)
            if reset is not None:
                reset()

    @property
    def stream_store(self) -> Any:
        """The StateStore behind :meth:`stream` (created at first use)."""
        from .state import StateStore

        if getattr(self, "_stream_store", None) is None:
            self._stream_store = StateStore.for_model(self)
        return self._stream_store

    def stream(self, ids: Any, steps: Any, lengths: Any = None) -> torch.Tensor:
        """Feed new steps of the series ``ids`` and keep each one's state by id.

        ``steps`` (B, T, F) holds the next T steps of each listed series (any
        series, any order, any batch size). Returns what the model returns for
        these steps; feeding a series piece by piece gives what one run over
        its whole sequence gives. See :func:`timesteps.layers.stream`.
        """
        from .state import stream

        return stream(self, ids, steps, lengths=lengths, store=self.stream_store)

    # -- description -----------------------------------------------------------

    def summary_rows(self) -> list[dict[str, Any]]:
        """One dict per layer: layer, output_shape, params, keras_params, formula."""
        rows = []
        for i, layer in enumerate(self.stack):
            breakdown = layer.param_breakdown(self._shapes[i])
            rows.append(
                {
                    "layer": repr(layer),
                    "output_shape": format_shape(
                        (None, *self._shapes[i + 1]), self._axes[i + 1]
                    ),
                    "params": breakdown.count,
                    "keras_params": breakdown.keras_count,
                    "formula": breakdown.formula,
                }
            )
        return rows

    def get_config(self) -> dict[str, Any]:
        """JSON-able: ``Sequential.from_config(config)`` rebuilds the same stack
        (fresh weights; load a state_dict for the trained ones)."""
        return {
            "input_shape": list(self.input_shape),
            "layers": [serialize_layer(layer) for layer in self.stack],
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Sequential:
        layers = [deserialize_layer(item) for item in config["layers"]]
        return cls(layers, input_shape=tuple(config["input_shape"]))

    def __repr__(self) -> str:
        inner = "".join(f"    {layer!r},\n" for layer in self.stack)
        return f"Sequential([\n{inner}], input_shape={self.input_shape})"


def _letters(rank: int) -> str:
    return {2: "BF", 3: "BTF"}.get(rank, "")

"""The ``Layer`` base: Keras' layer vocabulary on a ``torch.nn.Module``.

A layer knows the per-sample shape it was built for (``input_shape``: ``(T, F)``
or ``(F,)``, never the samples axis B; T may be None), creates its parameters in
``build``, infers its output shape, passes each sequence's true length along
(``output_lengths``) and says where its parameter count comes from
(``param_breakdown``). Used on its own it builds itself on the first call, like
Keras:

>>> import torch
>>> from timesteps.layers import LSTM
>>> layer = LSTM(10)
>>> layer(torch.zeros(4, 7, 3)).shape      # (B=4, T=7, F=3) -> (B=4, H=10)
torch.Size([4, 10])
>>> layer.input_shape                        # T is free, F is fixed
(None, 3)
"""

from __future__ import annotations

import contextlib
import inspect
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from .._errors import near_matches, problem
from .._shapes import format_shape

Shape = tuple[int | None, ...]

_LAYER_CLASSES: dict[str, type[Layer]] = {}
_trust = threading.local()


@dataclass(frozen=True)
class ParamBreakdown:
    """Where a layer's parameter count comes from, in PyTorch and in Keras.

    ``formula`` has the numbers filled in, e.g. for ``LSTM(300)`` on F=1:
    ``count=363600, formula="4 x (300 x (1 + 300) + 2 x 300)"`` (PyTorch keeps two
    bias vectors, ``b_ih`` and ``b_hh``) and ``keras_count=362400,
    keras_formula="4 x (300 x (1 + 300) + 300)"`` (Keras keeps one).
    """

    count: int
    formula: str
    keras_count: int
    keras_formula: str


@contextlib.contextmanager
def trusted() -> Iterator[None]:
    """Skip the input checks of ``Layer.__call__`` inside this block.

    For containers (``Sequential``, wrappers) that checked their input once at
    their own boundary and call their layers with shapes inferred at build time.
    """
    previous = getattr(_trust, "on", False)
    _trust.on = True
    try:
        yield
    finally:
        _trust.on = previous


def _is_trusted() -> bool:
    return getattr(_trust, "on", False)


class Layer(torch.nn.Module):
    """Base of every layer: lazy build, shape inference, lengths, breakdown.

    Subclasses implement ``_build(shape)``, ``compute_output_shape(shape)``,
    ``forward(x, lengths=None)``, ``_param_breakdown(shape)`` and ``get_config()``;
    ``_ranks`` lists the per-sample ranks they accept (2 for ``(T, F)``).
    """

    _positional: tuple[str, ...] = ()
    _ranks: tuple[int, ...] = (2,)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__name__.startswith("_"):
            _LAYER_CLASSES[cls.__name__] = cls

    def __init__(self, *, input_shape: Sequence[int | None] | None = None) -> None:
        super().__init__()
        self.built = False
        self.input_shape: Shape | None = None
        self.declared_input_shape: Shape | None = (
            None if input_shape is None else _as_shape(input_shape, "input_shape")
        )
        self._input_axes: str | None = None

    # -- building ---------------------------------------------------------------

    def build(self, input_shape: Sequence[int | None]) -> None:
        """Create the parameters for a per-sample input shape (no samples axis B).

        ``(T, F)`` for sequences (T may be None), ``(F,)`` for vectors. Building
        again with the same shape does nothing; with another F it is an error.
        """
        shape = _as_shape(input_shape, "input_shape")
        if self.built:
            if not _same_shape(shape, self.input_shape):
                raise ValueError(
                    problem(
                        f"{self!r} is already built for another input",
                        self._format(self.input_shape),
                        self._format(shape),
                        "use a new layer for the other input size",
                    )
                )
            return
        self._check_rank(shape)
        self._build(shape)
        self.input_shape = shape
        self.built = True

    def _build(self, shape: Shape) -> None:
        """Create parameters; layers without parameters keep this default."""

    def _check_rank(self, shape: Shape) -> None:
        if len(shape) in self._ranks:
            return
        expected = " or ".join(self._format((None,) * r) for r in self._ranks)
        raise ValueError(
            problem(
                f"{self!r} cannot take this input",
                expected,
                self._format(shape),
                self._rank_fix(shape),
            )
        )

    def _rank_fix(self, shape: Shape) -> str:
        if len(shape) == 1:
            return (
                "give it a time axis: set return_sequences=True on the previous "
                "recurrent layer, or put RepeatVector(n) before it to repeat the "
                "vector n times; for raw data add a features axis with x[..., None]"
            )
        return "reshape the input to (B, T, F)"

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> Shape:
        """Per-sample output shape for a per-sample input shape (no samples axis)."""
        raise NotImplementedError(f"{type(self).__name__} must define its output shape")

    def output_axes(self, input_axes: str) -> str:
        """Axis letters of the output for input letters, e.g. ``"BTF" -> "BH"``."""
        return input_axes

    def output_lengths(self, lengths: torch.Tensor | None) -> torch.Tensor | None:
        """Each sequence's length after this layer (``None``: no time axis or all
        sequences full). Layers that keep the time axis step for step return
        ``lengths`` unchanged."""
        return lengths

    # -- calling ----------------------------------------------------------------

    def __call__(self, x: Any, *args: Any, **kwargs: Any) -> Any:
        if not _is_trusted():
            if not isinstance(x, torch.Tensor):
                raise TypeError(
                    problem(
                        f"{self!r} takes a torch.Tensor",
                        "a float tensor (B, T, F) or (B, F)",
                        f"{type(x).__name__}",
                        "convert with torch.as_tensor(x, dtype=torch.float32)",
                    )
                )
            if not self.built:
                self._build_from(x)
            else:
                self._check_call(x)
            if args:
                args = (self._check_lengths(x, args[0]), *args[1:])
            elif kwargs.get("lengths") is not None:
                kwargs["lengths"] = self._check_lengths(x, kwargs["lengths"])
        elif not self.built:
            self._build_from(x)
        return super().__call__(x, *args, **kwargs)

    def _build_from(self, x: torch.Tensor) -> None:
        shape: list[int | None] = list(x.shape[1:])
        if len(shape) >= 2:
            shape[0] = None  # T stays free: the same layer takes any length
        self.build(tuple(shape))
        dtype = x.dtype if x.is_floating_point() else None
        self.to(device=x.device, dtype=dtype)

    def _check_call(self, x: torch.Tensor) -> None:
        assert self.input_shape is not None  # built, so set
        expected = self.input_shape
        received = tuple(x.shape[1:])
        if len(received) == len(expected) and all(
            e is None or i == 0 or e == r
            for i, (e, r) in enumerate(zip(expected, received, strict=True))
        ):
            return
        fix = f"pass input of per-sample shape {self._format(expected)}"
        if len(received) == len(expected) and expected[-1] != received[-1]:
            fix = (
                f"pass the F={expected[-1]} features the layer was built for, or "
                f"use a new layer for F={received[-1]}"
            )
        elif len(received) + 1 == len(expected):
            fix = self._rank_fix(received)
        raise ValueError(
            problem(
                f"{self!r} received an input of another shape",
                self._format(expected),
                self._format_batch(tuple(x.shape)),
                fix,
            )
        )

    def _check_lengths(self, x: torch.Tensor, lengths: Any) -> torch.Tensor | None:
        return check_lengths(lengths, x, f"{self!r}")

    def _format(self, shape: Sequence[int | None] | None) -> str:
        """A per-sample shape with the samples axis in front: ``(B, T, F=3)``."""
        return self._format_batch((None, *(shape or ())))

    def _format_batch(self, shape: Sequence[int | None]) -> str:
        letters = self._input_axes or ""
        if len(letters) != len(shape):
            letters = _default_axes(len(shape))
        return format_shape(tuple(shape), letters)

    # -- parameters, config, printing ----------------------------------------

    def param_breakdown(
        self, input_shape: Sequence[int | None] | None = None
    ) -> ParamBreakdown:
        """Parameter count and the formula that gives it, PyTorch's and Keras'.

        ``input_shape`` defaults to the shape the layer was built for.
        """
        shape = input_shape if input_shape is not None else self.input_shape
        shape = shape if shape is not None else self.declared_input_shape
        if shape is None:
            raise ValueError(
                problem(
                    f"{self!r} does not know its input shape yet",
                    "a built layer or an input_shape",
                    "an unbuilt layer and no input_shape",
                    "call param_breakdown((T, F)) or call the layer on a batch first",
                )
            )
        shape = _as_shape(shape, "input_shape")
        self._check_rank(shape)
        return self._param_breakdown(shape)

    def _param_breakdown(self, shape: Shape) -> ParamBreakdown:
        return ParamBreakdown(0, "0", 0, "0")

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments as a JSON-able dict: ``cls.from_config(c)``
        builds an equal (unbuilt, freshly initialised) layer."""
        config: dict[str, Any] = {}
        if self.declared_input_shape is not None:
            config["input_shape"] = list(self.declared_input_shape)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        """Build a layer from ``get_config()``'s dict."""
        return cls(**config)

    def __repr__(self) -> str:
        config = self.get_config()
        defaults = {
            name: p.default
            for name, p in inspect.signature(type(self).__init__).parameters.items()
            if p.default is not inspect.Parameter.empty
        }
        parts = [_show(config[name]) for name in self._positional]
        for name, value in config.items():
            if name in self._positional:
                continue
            if name in defaults and _same_value(defaults[name], value):
                continue
            parts.append(f"{name}={_show(value)}")
        return f"{type(self).__name__}({', '.join(parts)})"


# -- serialisation of layers --------------------------------------------------


def serialize_layer(layer: Layer) -> dict[str, Any]:
    """``{"class_name": "LSTM", "config": {...}}``: JSON-able, for save/load."""
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def deserialize_layer(data: dict[str, Any]) -> Layer:
    """Rebuild a layer from :func:`serialize_layer`'s dict. Only this package's
    layer classes can be named: loading never runs code from the file."""
    name = data.get("class_name") if isinstance(data, dict) else None
    if name not in _LAYER_CLASSES:
        raise ValueError(
            problem(
                "unknown layer in a saved configuration",
                "one of timesteps' layers",
                repr(name),
                near_matches(str(name), sorted(_LAYER_CLASSES)),
            )
        )
    return _LAYER_CLASSES[name].from_config(dict(data.get("config", {})))


# -- lengths ------------------------------------------------------------------


def check_lengths(lengths: Any, x: torch.Tensor, who: str) -> torch.Tensor | None:
    """Check true lengths at a public boundary; returns an int64 tensor on x's
    device. Each length must be 1..T for an input (B, T, ...)."""
    if lengths is None:
        return None
    if x.ndim < 3:
        raise ValueError(
            problem(
                f"{who} received lengths for an input without a time axis",
                "lengths=None for an input (B, F)",
                f"lengths for an input {format_shape(tuple(x.shape), 'BF')}",
                "pass lengths only with sequences (B, T, F)",
            )
        )
    if not isinstance(lengths, torch.Tensor):
        lengths = torch.as_tensor(lengths)
    if lengths.is_floating_point() or lengths.dtype == torch.bool:
        raise TypeError(
            problem(
                f"{who}: lengths must be integers",
                "an integer tensor (B,)",
                f"dtype {lengths.dtype}",
                "pass lengths as torch.int64",
            )
        )
    B, T = x.shape[0], x.shape[1]
    if tuple(lengths.shape) != (B,):
        raise ValueError(
            problem(
                f"{who}: lengths must hold one length per sequence",
                f"shape (B={B},)",
                f"shape {tuple(lengths.shape)}",
                "pass one true length per row of x",
            )
        )
    lengths = lengths.to(device=x.device, dtype=torch.int64)
    if B:
        low, high = (int(v) for v in torch.aminmax(lengths))
        if low < 1 or high > T:
            bad = low if low < 1 else high
            raise ValueError(
                problem(
                    f"{who}: every length must lie in 1..T",
                    f"lengths between 1 and T={T}",
                    f"a length of {bad}",
                    "drop empty sequences and pass lengths no longer than x's "
                    "timesteps axis",
                )
            )
    return lengths


def varying_lengths(lengths: torch.Tensor | None, steps: int) -> torch.Tensor | None:
    """``lengths`` unless every sequence fills all ``steps`` (then ``None``): the
    fast path pays nothing for lengths that change nothing."""
    if lengths is None or bool((lengths == steps).all()):
        return None
    return lengths


def step_mask(lengths: torch.Tensor, steps: int) -> torch.Tensor:
    """``(B, T)`` bool, True where the step lies within the sequence."""
    positions = torch.arange(steps, device=lengths.device)
    return positions[None, :] < lengths[:, None]


def mask_steps(y: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
    """Zero the steps of ``y`` (B, T, ...) beyond each sequence's length."""
    if lengths is None:
        return y
    mask = step_mask(lengths, y.shape[1])
    return y * mask.view(*mask.shape, *([1] * (y.ndim - 2))).to(y.dtype)


# -- small helpers ------------------------------------------------------------


def _as_shape(shape: Any, name: str) -> Shape:
    if isinstance(shape, int) or not isinstance(shape, Sequence):
        raise TypeError(
            problem(
                f"{name} must be a per-sample shape without the samples axis B",
                "a tuple like (T, F) or (F,)",
                repr(shape),
                "write input_shape=(T, F), e.g. (3, 1) for 3 steps of 1 feature",
            )
        )
    out: list[int | None] = []
    for size in shape:
        if size is None:
            out.append(None)
        elif hasattr(size, "__index__") and not isinstance(size, bool):
            out.append(size.__index__())
        else:
            raise TypeError(
                problem(
                    f"{name} sizes must be integers or None",
                    "(T, F) with integer sizes",
                    repr(tuple(shape)),
                    "write sizes as integers; None for a free T",
                )
            )
    if any(s is not None and s < 1 for s in out):
        raise ValueError(
            problem(
                f"{name} sizes must be positive",
                "sizes >= 1",
                repr(tuple(shape)),
                "write each size as a positive integer, or None for a free T",
            )
        )
    return tuple(out)


def _same_shape(a: Shape, b: Shape | None) -> bool:
    if b is None or len(a) != len(b):
        return False
    return all(x is None or y is None or x == y for x, y in zip(a, b, strict=True))


def _default_axes(rank: int) -> str:
    return {1: "B", 2: "BF", 3: "BTF"}.get(rank, "BT")


def _show(value: Any) -> str:
    if isinstance(value, list):
        return repr(tuple(value))
    return repr(value)


def _same_value(default: Any, value: Any) -> bool:
    if isinstance(value, list) and isinstance(default, tuple):
        return list(default) == value
    return bool(default == value)

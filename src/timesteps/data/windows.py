"""Forecasting windows: an index over the series, never a copy of them.

A window is one (series, start step ``s``) pair. Its inputs are steps
``[s, s + L)`` of every feature (lookback L), its targets are steps
``[s + L, s + L + h)`` of the target features (horizon h). A window never
crosses from one series into the next.

The index is stored run-length encoded, one entry per series: the series
position, its first start step and a running count of windows. Memory therefore
grows with the number of series, not with the number of windows: stride 1 over
ten million steps costs a few kilobytes of index, and no ``(n_windows, L, F)``
array is ever built. Batches gather the steps of each batch of windows straight
from the flat ``(N, F)`` values (see :class:`timesteps.data.batches.Batches`).

>>> import numpy as np
>>> from timesteps.data.sequence_set import SequenceSet
>>> data = SequenceSet(np.arange(12, dtype=np.float32)[:, None], [0, 5, 12])
>>> w = Windows(data, lookback=2, horizon=1)
>>> len(w), w.series_positions.tolist(), w.starts.tolist()
(8, [0, 0, 0, 1, 1, 1, 1, 1], [0, 1, 2, 0, 1, 2, 3, 4])
>>> x, y = w[3]          # series 1, steps [0, 2) -> step 2
>>> x[:, 0].tolist(), y[:, 0].tolist()
([5.0, 6.0], [7.0])
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Sequence
from types import FrameType
from typing import TYPE_CHECKING, Any

import numpy as np

from .._errors import near_matches, problem
from .._shapes import format_shape

if TYPE_CHECKING:  # pragma: no cover
    from .batches import Batches
    from .sequence_set import SequenceSet

_SHOWN_IDS = 10


class Windows:
    """Forecasting windows (lookback L, horizon h, stride) over a SequenceSet.

    Args:
        data: the series.
        lookback: L, steps each window reads.
        horizon: h, steps each window predicts.
        stride: steps between the starts of consecutive windows of one series.
        target: feature name(s) to predict (K of them); default all features.
        known_future: feature name(s) whose values over the horizon are known in
            advance (calendar, planned settings) and given as inputs.
        start: first input step of the first window in every series (default
            0). Windows of series ``i`` start at ``start, start + stride, ...``
            while ``s + L + h <= T_i``.

    If ``data.meta["context_steps"]`` is set (a validation part that carries the
    last L training steps as context, see ``split_by_time(keep_context=L)``),
    windows predict only the steps after the context: their first target step is
    ``>= context_steps``.

    Series too short for one window are skipped with one warning that counts
    them and names up to 10 ids; if none is left a ValueError says why.

    ``w[i]`` is window ``i`` as ``(x (L, F), y (h, K))`` numpy arrays (``x`` is a
    view into ``data.values``).

    >>> import numpy as np
    >>> from timesteps.data.sequence_set import SequenceSet
    >>> values = np.arange(20, dtype=np.float32).reshape(10, 2)
    >>> data = SequenceSet(values, [0, 10], feature_names=["load", "hour"])
    >>> w = Windows(data, lookback=4, horizon=2, stride=2, target="load")
    >>> len(w), w.starts.tolist()
    (3, [0, 2, 4])
    >>> x, y = w[1]
    >>> x.shape, y.shape  # (L, F), (h, K)
    ((4, 2), (2, 1))
    """

    def __init__(
        self,
        data: SequenceSet,
        lookback: int,
        horizon: int,
        stride: int = 1,
        target: str | Sequence[str] | None = None,
        known_future: str | Sequence[str] | None = None,
        start: int | None = None,
    ) -> None:
        _check_count("lookback L", lookback, minimum=1)
        _check_count("horizon h", horizon, minimum=1)
        _check_count("stride", stride, minimum=1)
        if start is not None:
            _check_count("start", start, minimum=0)
        target_index = _feature_index(data, target, "target")
        future_index = _feature_index(data, known_future, "known_future", empty=True)
        both = sorted(set(target_index.tolist()) & set(future_index.tolist()))
        if both:
            names = [data.feature_names[j] for j in both]
            raise ValueError(
                problem(
                    "a feature cannot be both a target and known in the future",
                    "target and known_future to share no feature",
                    f"both name {names}",
                    "drop them from known_future: a value known in advance "
                    "needs no forecast",
                )
            )

        context = int(data.meta.get("context_steps") or 0)
        first = max(start or 0, context - lookback, 0)
        lengths = data.lengths
        last = lengths - lookback - horizon  # last start that fits, per series
        counts = np.where(last >= first, (last - first) // stride + 1, 0)

        why = f"lookback L={lookback} + horizon h={horizon}"
        if first:
            why = f"first start {first} + {why}"
        if not counts.any():
            longest = int(lengths.max()) if len(lengths) else 0
            raise ValueError(
                problem(
                    "no forecasting window fits in any series",
                    f"a series of at least {first + lookback + horizon} steps ({why})",
                    f"the longest series has {longest} steps",
                    "lower lookback or horizon so that first start + L + h <= "
                    f"{longest}, or use longer series",
                )
            )

        _report_short(data, counts, first + lookback + horizon, why, "window")
        keep = np.flatnonzero(counts)
        self._init_index(
            data,
            positions=keep,
            first_starts=np.full(len(keep), first, np.int64),
            counts=counts[keep],
            lookback=lookback,
            horizon=horizon,
            stride=stride,
            target_index=target_index,
            future_index=future_index,
        )

    def _init_index(
        self,
        data: SequenceSet,
        *,
        positions: np.ndarray,
        first_starts: np.ndarray,
        counts: np.ndarray,
        lookback: int,
        horizon: int,
        stride: int,
        target_index: np.ndarray,
        future_index: np.ndarray,
    ) -> None:
        self.data = data
        self.lookback = int(lookback)
        self.horizon = int(horizon)
        self.stride = int(stride)
        self.target_index = target_index
        self.known_future_index = future_index
        # run-length index, one entry per series with at least one window
        self._positions = np.asarray(positions, np.int64)
        self._first = np.asarray(first_starts, np.int64)
        self._cumulative = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    @classmethod
    def _last(
        cls, data: SequenceSet, lookback: int, target: str | Sequence[str] | None
    ) -> Windows:
        """One input window per series: its last L steps, no horizon."""
        _check_count("lookback L", lookback, minimum=1)
        target_index = _feature_index(data, target, "target")
        lengths = data.lengths
        counts = (lengths >= lookback).astype(np.int64)
        if not counts.any():
            longest = int(lengths.max()) if len(lengths) else 0
            raise ValueError(
                problem(
                    "no series is long enough to forecast from",
                    f"a series of at least lookback L={lookback} steps",
                    f"the longest series has {longest} steps",
                    f"lower lookback to at most {longest}",
                )
            )
        _report_short(data, counts, lookback, f"lookback L={lookback}", "input")
        keep = np.flatnonzero(counts)
        windows = cls.__new__(cls)
        windows._init_index(
            data,
            positions=keep,
            first_starts=lengths[keep] - lookback,
            counts=counts[keep],
            lookback=lookback,
            horizon=0,
            stride=1,
            target_index=target_index,
            future_index=np.zeros(0, np.int64),
        )
        return windows

    # -- sizes and index --------------------------------------------------------

    def __len__(self) -> int:
        return int(self._cumulative[-1])

    @property
    def target_names(self) -> list[str]:
        """The K feature names predicted, in ``y``'s last axis order."""
        return [self.data.feature_names[j] for j in self.target_index]

    @property
    def known_future_names(self) -> list[str]:
        """The feature names given over the horizon as inputs."""
        return [self.data.feature_names[j] for j in self.known_future_index]

    @property
    def nbytes(self) -> int:
        """Bytes held by the index (the series themselves are not copied)."""
        return int(
            self._positions.nbytes + self._first.nbytes + self._cumulative.nbytes
        )

    @property
    def series_positions(self) -> np.ndarray:
        """``(n_windows,)`` int64: the series position of each window.

        Computed on request (8 bytes per window); batches never need it."""
        return np.repeat(self._positions, np.diff(self._cumulative))

    @property
    def starts(self) -> np.ndarray:
        """``(n_windows,)`` int64: the first input step of each window within
        its series. Computed on request (8 bytes per window)."""
        return self.locate(np.arange(len(self)))[1]

    def locate(self, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Series positions and start steps of the window numbers ``windows``.

        >>> import numpy as np
        >>> from timesteps.data.sequence_set import SequenceSet
        >>> data = SequenceSet(np.zeros((9, 1)), [0, 4, 9])
        >>> w = Windows(data, lookback=2, horizon=1)
        >>> [a.tolist() for a in w.locate(np.array([0, 2, 3]))]
        [[0, 1, 1], [0, 0, 1]]
        """
        windows = np.asarray(windows, np.int64)
        entry = np.searchsorted(self._cumulative, windows, side="right") - 1
        steps = self._first[entry] + (windows - self._cumulative[entry]) * self.stride
        return self._positions[entry], steps

    def flat_starts(self, windows: np.ndarray) -> np.ndarray:
        """Row numbers in ``data.values`` of the first input step of ``windows``."""
        positions, steps = self.locate(windows)
        return self.data.offsets[positions] + steps

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Window ``i`` as ``(x (L, F), y (h, K))``."""
        start = self._flat_start(i)
        x = self.data.values[start : start + self.lookback]
        target = self.data.values[
            start + self.lookback : start + self.lookback + self.horizon
        ]
        return x, target[:, self.target_index]

    def future(self, i: int) -> np.ndarray:
        """The known-future inputs of window ``i``: ``(h, F_known)``."""
        start = self._flat_start(i) + self.lookback
        block = self.data.values[start : start + self.horizon]
        return block[:, self.known_future_index]

    def _flat_start(self, i: int) -> int:
        n = len(self)
        if not isinstance(i, (int, np.integer)) or isinstance(i, bool):
            raise TypeError(
                problem("window number", "an int", f"{type(i).__name__} {i!r}")
            )
        if not -n <= i < n:
            raise IndexError(
                problem("window number out of range", f"0 <= i < {n}", str(i))
            )
        return int(self.flat_starts(np.array([int(i) % n]))[0])

    def to_batches(self, **options: Any) -> Batches:
        """Length-uniform batches of these windows; ``options`` go to
        :class:`~timesteps.data.batches.Batches` (batch_size, shuffle, seed ...)."""
        from .batches import Batches

        return Batches(self, **options)

    def __repr__(self) -> str:
        x = format_shape((self.lookback, self.data.n_features), "LF")
        y = format_shape((self.horizon, len(self.target_index)), "hK")
        future = ""
        if len(self.known_future_index):
            future = f", known future {self.known_future_names}"
        return (
            f"Windows({len(self)} windows from {len(self._positions)} of "
            f"B={len(self.data)} series, lookback L={self.lookback}, horizon "
            f"h={self.horizon}, stride {self.stride}, x {x}, y {y}{future})"
        )


def forecast_inputs(
    data: SequenceSet, lookback: int, target: str | Sequence[str] | None = None
) -> Windows:
    """The last L steps of each series, to forecast from the end of the data.

    A :class:`Windows` with horizon 0 and one window per series; series shorter
    than L are skipped with one warning. ``series_positions`` says which series
    each window came from; its batches have ``y=None``.

    >>> import numpy as np
    >>> from timesteps.data.sequence_set import SequenceSet
    >>> data = SequenceSet(np.arange(7.0)[:, None], [0, 3, 7])
    >>> w = forecast_inputs(data, lookback=3)
    >>> [w[i][0][:, 0].tolist() for i in range(len(w))]
    [[0.0, 1.0, 2.0], [4.0, 5.0, 6.0]]
    """
    return Windows._last(data, lookback, target)


def _check_count(name: str, value: Any, minimum: int) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        raise TypeError(
            problem(
                f"{name} must be a whole number of steps",
                "an int",
                f"{type(value).__name__} {value!r}",
            )
        )
    if value < minimum:
        raise ValueError(
            problem(f"{name} is out of range", f">= {minimum}", str(value))
        )


def _feature_index(
    data: SequenceSet,
    names: str | Sequence[str] | None,
    argument: str,
    empty: bool = False,
) -> np.ndarray:
    """Feature positions of ``names`` (all features for None unless ``empty``)."""
    if names is None:
        count = 0 if empty else data.n_features
        return np.arange(count, dtype=np.int64)
    if isinstance(names, str):
        names = [names]
    index = []
    for name in names:
        if name not in data.feature_names:
            raise ValueError(
                problem(
                    f"{argument} names an unknown feature",
                    f"one of the features {data.feature_names[:10]}",
                    repr(name),
                    near_matches(str(name), data.feature_names),
                )
            )
        index.append(data.feature_names.index(name))
    return np.asarray(index, np.int64)


def _report_short(
    data: SequenceSet, counts: np.ndarray, need: int, why: str, what: str
) -> None:
    """One warning for all series that get no window (count and up to 10 ids)."""
    short = np.flatnonzero(counts == 0)
    if not len(short):
        return
    ids = data.ids[short[:_SHOWN_IDS]].tolist()
    more = f" (first {_SHOWN_IDS} shown)" if len(short) > _SHOWN_IDS else ""
    warnings.warn(
        f"{len(short)} of {len(data)} series have fewer than {need} timesteps "
        f"({why}) and get no {what} window; they are skipped. Ids{more}: {ids}",
        stacklevel=_user_stacklevel(),
    )


def _user_stacklevel() -> int:
    """The stacklevel of the first caller outside this package, so that a
    warning points at the user's line whichever public door they came in by."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    frame: FrameType | None = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(package):
        frame = frame.f_back
        level += 1
    return level

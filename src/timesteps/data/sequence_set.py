"""SequenceSet: independent series, each its own ``(T_i, F)`` array.

Storage is ragged: the steps of all series lie in one flat ``(N, F)`` buffer with
``N = sum(T_i)``, and ``offsets`` (length ``B + 1``) say where each series starts
and ends. Series ``i`` is ``values[offsets[i]:offsets[i + 1]]``, a view, never a
copy. Nothing is padded and no series ever continues into the next: every view
(windows, batches, splits) works per series through ``offsets``.

Fields (all numpy):

- ``values``    ``(N, F)`` float32, NaN only where ``observed`` is False
- ``offsets``   ``(B + 1,)`` int64, ``offsets[0] == 0``, non-decreasing
- ``times``     ``(N,)`` int64, float64 or datetime64 time stamps, increasing
                within each series
- ``observed``  ``(N, F)`` bool or None (None: every value was recorded)
- ``ids``       ``(B,)`` unique series ids (ints or strings)
- ``static``    ``(B, S)`` float32 or None, per-series features
- ``target``    ``(B,)``/``(B, K)`` (one per series) or ``(N,)``/``(N, K)`` (one
                per step) or None; ``target_level`` says which
- ``meta``      dict of what was done to the data (fill method, time features)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from .._errors import near_matches, problem

TargetLevel = Literal["series", "step"]

if TYPE_CHECKING:  # pragma: no cover - task views, imported where used
    from .windows import Windows

if TYPE_CHECKING:  # pragma: no cover - pandas loads only with the table readers
    import pandas as pd


class SequenceSet:
    """A checked collection of independent series of any lengths.

    Build one with :meth:`from_long`, :meth:`from_wide` or :meth:`from_arrays`;
    the plain constructor trusts its input and is for library code.

    >>> import numpy as np, timesteps as ts
    >>> data = ts.SequenceSet.from_arrays([np.zeros((3, 2)), np.ones((5, 2))])
    >>> len(data), data.lengths.tolist(), data.n_features
    (2, [3, 5], 2)
    >>> data[1].shape   # one series: (T_i, F)
    (5, 2)
    """

    def __init__(
        self,
        values: np.ndarray,
        offsets: np.ndarray,
        *,
        ids: np.ndarray | Sequence[Any] | None = None,
        times: np.ndarray | None = None,
        observed: np.ndarray | None = None,
        feature_names: Sequence[str] | None = None,
        static: np.ndarray | None = None,
        static_names: Sequence[str] | None = None,
        target: np.ndarray | None = None,
        target_level: TargetLevel | None = None,
        target_names: Sequence[str] | None = None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        self.values = np.ascontiguousarray(values, dtype=np.float32)
        self.offsets = np.asarray(offsets, dtype=np.int64)
        n_series = len(self.offsets) - 1
        if ids is None:
            ids = np.arange(n_series)
        self.ids = np.asarray(ids)
        if times is None:
            times = _positions(self.offsets)
        self.times = np.asarray(times)
        self.observed = None if observed is None else np.asarray(observed, bool)
        n_features = self.values.shape[1]
        if feature_names is None:
            feature_names = [f"f{j}" for j in range(n_features)]
        self.feature_names = [str(name) for name in feature_names]
        self.static = None if static is None else np.asarray(static, np.float32)
        if self.static is not None and static_names is None:
            static_names = [f"s{j}" for j in range(self.static.shape[1])]
        self.static_names = [str(s) for s in static_names or []]
        self.target = None if target is None else np.asarray(target)
        if self.target is not None and target_level is None:
            target_level = "series" if len(self.target) == n_series else "step"
        self.target_level: TargetLevel | None = target_level
        self.target_names = [str(t) for t in target_names or []]
        self.meta: dict[str, Any] = dict(meta or {})
        self._id_index: dict[Any, int] | None = None

    # -- constructors (owned by data/tables.py; classmethods delegate there) -----

    @classmethod
    def from_long(
        cls,
        df: pd.DataFrame,
        id: str,
        time: str | None = None,
        features: str | Sequence[str] | None = None,
        target: str | Sequence[str] | None = None,
        static: str | Sequence[str] | None = None,
        time_features: bool = False,
        fill: str | None = None,
    ) -> SequenceSet:
        """A long table, one row per (series, time); see
        :func:`timesteps.data.tables.from_long`.

        >>> import pandas as pd, timesteps as ts
        >>> df = pd.DataFrame({"id": [1, 1, 2], "t": [1, 0, 0], "x": [2., 1., 3.]})
        >>> ts.SequenceSet.from_long(df, id="id", time="t").series(0).ravel()
        array([1., 2.], dtype=float32)
        """
        from .tables import from_long

        return from_long(df, id, time, features, target, static, time_features, fill)

    @classmethod
    def from_wide(
        cls,
        df: pd.DataFrame,
        id: str | None = None,
        steps: Sequence[str] | Mapping[str, Sequence[str]] | None = None,
        target: str | Sequence[str] | None = None,
        static: str | Sequence[str] | None = None,
        time_features: bool = False,
        fill: str | None = None,
    ) -> SequenceSet:
        """A wide table, one row per series, one column per step; see
        :func:`timesteps.data.tables.from_wide`.

        >>> import pandas as pd, timesteps as ts
        >>> df = pd.DataFrame({"v1": [1.0, 2.0], "v2": [3.0, None]})
        >>> ts.SequenceSet.from_wide(df, steps=["v1", "v2"]).lengths.tolist()
        [2, 1]
        """
        from .tables import from_wide

        return from_wide(df, id, steps, target, static, time_features, fill)

    @classmethod
    def from_arrays(
        cls,
        X: Any,
        y: Any = None,
        ids: Sequence[Any] | np.ndarray | None = None,
        feature_names: Sequence[str] | None = None,
        times: Any = None,
        target_level: TargetLevel | None = None,
        time_features: bool = False,
        fill: str | None = None,
    ) -> SequenceSet:
        """A ``(B, T, F)`` array or a list of ``(T_i, F)`` arrays; see
        :func:`timesteps.data.tables.from_arrays`.

        >>> import numpy as np, timesteps as ts
        >>> ts.SequenceSet.from_arrays(np.zeros((4000, 3, 1))).lengths[:2].tolist()
        [3, 3]
        """
        from .tables import from_arrays

        return from_arrays(
            X, y, ids, feature_names, times, target_level, time_features, fill
        )

    def to_long(self) -> pd.DataFrame:
        """A long table: id, time, features, target, static (see
        :func:`timesteps.data.tables.to_long`); round-trips :meth:`from_long`."""
        from .tables import to_long

        return to_long(self)

    def describe(self, batch_size: int = 32) -> Any:
        """Series count, length min/median/max, missing share per feature,
        target balance and padding share at ``batch_size``; see
        :func:`timesteps.explain.describe.describe`."""
        from ..explain.describe import describe

        return describe(self, batch_size=batch_size)

    # -- splits (owned by data/splits.py; methods delegate there) ---------------

    def split(
        self, fraction: float = 0.2, seed: int = 0, stratify: bool | None = None
    ) -> tuple[SequenceSet, SequenceSet]:
        """(train, validation) by series; see :func:`timesteps.data.splits.split`.

        >>> import numpy as np, timesteps as ts
        >>> data = ts.SequenceSet.from_arrays(np.zeros((10, 3, 1)))
        >>> train, validation = data.split(fraction=0.2)
        >>> len(train), len(validation)
        (8, 2)
        """
        from .splits import split

        return split(self, fraction=fraction, seed=seed, stratify=stratify)

    def split_by_time(
        self,
        fraction: float | None = None,
        steps: int | None = None,
        keep_context: int = 0,
    ) -> tuple[SequenceSet, SequenceSet]:
        """(past, future): the last steps of every series held out; see
        :func:`timesteps.data.splits.split_by_time`.

        >>> import numpy as np, timesteps as ts
        >>> data = ts.SequenceSet.from_arrays(np.zeros((2, 10, 1)))
        >>> past, future = data.split_by_time(steps=3)
        >>> past.lengths.tolist(), future.lengths.tolist()
        ([7, 7], [3, 3])
        """
        from .splits import split_by_time

        return split_by_time(
            self, fraction=fraction, steps=steps, keep_context=keep_context
        )

    # -- task views (owned by data/windows.py, data/views.py, data/splits.py) ----

    def windows(
        self,
        lookback: int,
        horizon: int,
        stride: int = 1,
        target: str | Sequence[str] | None = None,
        known_future: str | Sequence[str] | None = None,
        start: int | None = None,
    ) -> Windows:
        """Forecasting windows (lookback L, horizon h) as an index over the
        series, never a copy; see :class:`timesteps.data.windows.Windows`.

        >>> import numpy as np, timesteps as ts
        >>> data = ts.SequenceSet(np.zeros((50, 1)), [0, 20, 50])
        >>> w = data.windows(lookback=10, horizon=5, stride=5)
        >>> len(w), w[0][0].shape, w[0][1].shape   # x (L, F), y (h, K)
        (6, (10, 1), (5, 1))
        """
        from .windows import Windows

        return Windows(self, lookback, horizon, stride, target, known_future, start)

    def forecast_inputs(
        self, lookback: int, target: str | Sequence[str] | None = None
    ) -> Windows:
        """The last L steps of each series as one window each (horizon 0), to
        forecast from the end; see :func:`timesteps.data.windows.forecast_inputs`.
        """
        from .windows import forecast_inputs

        return forecast_inputs(self, lookback, target)

    # -- sizes ------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        """``(B,)`` int64: the number of timesteps ``T_i`` of each series."""
        return np.diff(self.offsets)

    @property
    def n_features(self) -> int:
        """F, the number of values measured at each step."""
        return int(self.values.shape[1])

    @property
    def n_steps(self) -> int:
        """N, the total number of real (unpadded) steps over all series."""
        return int(self.offsets[-1])

    # -- access -----------------------------------------------------------------

    def series(self, i: int) -> np.ndarray:
        """Series ``i`` (by position) as a ``(T_i, F)`` view."""
        return self.values[self.offsets[i] : self.offsets[i + 1]]

    def series_times(self, i: int) -> np.ndarray:
        """The ``(T_i,)`` time stamps of series ``i`` (by position)."""
        return self.times[self.offsets[i] : self.offsets[i + 1]]

    def position(self, series_id: Any) -> int:
        """The position of the series with id ``series_id``."""
        if self._id_index is None:
            self._id_index = {_key(v): i for i, v in enumerate(self.ids.tolist())}
        key = _key(series_id)
        if key not in self._id_index:
            raise KeyError(
                problem(
                    "unknown series id",
                    "one of the ids of this SequenceSet",
                    repr(series_id),
                    near_matches(str(series_id), [str(v) for v in self.ids[:1000]]),
                )
            )
        return self._id_index[key]

    def __getitem__(self, key: Any) -> Any:
        """``data[i]`` is series ``i`` as ``(T_i, F)``; a slice, a list of positions
        or a boolean mask gives a new SequenceSet; ``data.loc(id)`` goes by id."""
        if isinstance(key, (int, np.integer)):
            i = int(key)
            if not -len(self) <= i < len(self):
                raise IndexError(
                    problem(
                        "series position out of range",
                        f"0 <= position < {len(self)} (samples axis B)",
                        str(i),
                    )
                )
            return self.series(i % len(self))
        if isinstance(key, slice):
            return self.subset(np.arange(len(self))[key])
        index = np.asarray(key)
        if index.dtype == bool:
            if index.shape != (len(self),):
                raise IndexError(
                    problem(
                        "boolean selection of series",
                        f"a mask of shape ({len(self)},)",
                        f"shape {index.shape}",
                    )
                )
            index = np.flatnonzero(index)
        return self.subset(index.astype(np.int64))

    def loc(self, series_id: Any) -> np.ndarray:
        """The ``(T_i, F)`` series whose id is ``series_id``."""
        return self.series(self.position(series_id))

    def subset(self, positions: np.ndarray | Sequence[int]) -> SequenceSet:
        """A new SequenceSet with the series at ``positions`` (in that order)."""
        positions = np.asarray(positions, dtype=np.int64)
        starts = self.offsets[positions]
        lengths = self.lengths[positions]
        steps = _gather_steps(starts, lengths)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        target = self.target
        if target is not None:
            target = (
                target[positions] if self.target_level == "series" else target[steps]
            )
        return SequenceSet(
            self.values[steps],
            offsets,
            ids=self.ids[positions],
            times=self.times[steps],
            observed=None if self.observed is None else self.observed[steps],
            feature_names=self.feature_names,
            static=None if self.static is None else self.static[positions],
            static_names=self.static_names,
            target=target,
            target_level=self.target_level,
            target_names=self.target_names,
            meta=self.meta,
        )

    def replace(self, **fields: Any) -> SequenceSet:
        """A copy with some fields replaced (same series, same order)."""
        current: dict[str, Any] = {
            "ids": self.ids,
            "times": self.times,
            "observed": self.observed,
            "feature_names": self.feature_names,
            "static": self.static,
            "static_names": self.static_names,
            "target": self.target,
            "target_level": self.target_level,
            "target_names": self.target_names,
            "meta": self.meta,
        }
        values = fields.pop("values", self.values)
        offsets = fields.pop("offsets", self.offsets)
        current.update(fields)
        return SequenceSet(values, offsets, **current)

    def __repr__(self) -> str:
        lengths = self.lengths
        span = f"T={int(lengths.min())}..{int(lengths.max())}" if len(self) else "T=-"
        target = "" if self.target is None else f", target per {self.target_level}"
        return (
            f"SequenceSet(B={len(self)} series, {span}, F={self.n_features} "
            f"features {self.feature_names[:5]}{'...' if self.n_features > 5 else ''}"
            f"{target})"
        )


def _key(value: Any) -> Any:
    """Ids compare by value: numpy scalars and Python scalars are the same id."""
    return value.item() if isinstance(value, np.generic) else value


def _positions(offsets: np.ndarray) -> np.ndarray:
    """``(N,)`` step positions 0..T_i-1 within each series, the default times."""
    lengths = np.diff(offsets)
    return np.arange(int(offsets[-1]), dtype=np.int64) - np.repeat(
        offsets[:-1], lengths
    )


def _gather_steps(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Flat step indices of the series starting at ``starts`` with ``lengths``."""
    total = int(lengths.sum())
    within = np.arange(total, dtype=np.int64) - np.repeat(
        np.cumsum(lengths) - lengths, lengths
    )
    return np.repeat(starts, lengths) + within

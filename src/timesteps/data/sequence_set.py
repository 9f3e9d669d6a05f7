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

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from .._errors import near_matches, problem

TargetLevel = Literal["series", "step"]


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

    # -- task views (owned by data/windows.py, data/views.py, data/splits.py) ----

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
            target = target[positions] if self.target_level == "series" else target[steps]
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
        current = {
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
        span = (
            f"T={int(lengths.min())}..{int(lengths.max())}" if len(self) else "T=-"
        )
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
    return np.arange(int(offsets[-1]), dtype=np.int64) - np.repeat(offsets[:-1], lengths)


def _gather_steps(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Flat step indices of the series starting at ``starts`` with ``lengths``."""
    total = int(lengths.sum())
    within = np.arange(total, dtype=np.int64) - np.repeat(
        np.cumsum(lengths) - lengths, lengths
    )
    return np.repeat(starts, lengths) + within

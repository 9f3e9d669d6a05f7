"""Features measured at different times: observed masks, explicit filling and
time-since-observed features.

A long table already lays each series on the union of its time stamps: a
feature that was not measured at a time is NaN in that row. So the grid of a
series is its own sorted time stamps, and ``observed (N, F)`` records what was
measured. Nothing here pads: the end of a series is not a value, so "not
recorded" (observed False) and "sequence ended" can never be confused.

Models need finite values, so unobserved values are filled on request, and the
observed mask is kept after filling (a filled value is still "not recorded"):

- ``"ffill"``: the last observed value of that feature in that series; a gap at
  the start of a series (before the feature's first observation) takes the
  feature's mean over all observed values of the data being filled (pass
  ``means=`` from the training part to avoid using validation values);
- ``"zero"``: 0.0;
- ``"mean"``: the feature's mean over its observed values (or ``means=``).

``time_features=True`` adds, per original feature ``f``, the columns
``f__observed`` (1.0 or 0.0) and ``f__dt``: the time since ``f`` was last
observed, counting the current step (0.0 where ``f`` is observed), in the unit
of the times (days for datetimes), and before ``f``'s first observation the time
since the series' first step. Unobserved values are then zero-filled unless
another fill was asked for.

>>> import numpy as np, timesteps as ts
>>> X = [np.array([[1.0], [np.nan], [3.0]])]
>>> data = ts.SequenceSet.from_arrays(X, fill="ffill")
>>> data.values.ravel().tolist(), data.observed.ravel().tolist()
([1.0, 1.0, 3.0], [True, False, True])
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from .._errors import near_matches, problem

if TYPE_CHECKING:
    from .sequence_set import SequenceSet

FILL_METHODS = ("ffill", "zero", "mean")


def check_fill(fill: str | None) -> None:
    """Raise unless ``fill`` is None or one of :data:`FILL_METHODS`."""
    if fill is not None and fill not in FILL_METHODS:
        raise ValueError(
            problem(
                "unknown fill method",
                "None, 'ffill', 'zero' or 'mean'",
                repr(fill),
                near_matches(str(fill), FILL_METHODS),
            )
        )


def prepare(
    data: SequenceSet, fill: str | None = None, time_features: bool = False
) -> SequenceSet:
    """Fill and/or add time features as the constructors' ``fill=`` and
    ``time_features=`` ask; returns ``data`` itself when neither is asked."""
    if fill is not None:
        data = fill_unobserved(data, fill)
    if time_features:
        data = add_time_features(data)
    return data


def fill_unobserved(
    data: SequenceSet, method: str, means: Mapping[str, float] | None = None
) -> SequenceSet:
    """Fill the values that were not recorded; the observed mask is kept.

    ``means`` (feature name -> value) replaces the means computed from ``data``
    for ``"mean"`` and for leading gaps under ``"ffill"``: pass the training
    part's ``meta["fill_means"]`` when filling a validation part. The method and
    the means used are recorded in ``meta["fill"]`` and ``meta["fill_means"]``.

    >>> import numpy as np, timesteps as ts
    >>> X = [np.array([[np.nan], [2.0]]), np.array([[4.0]])]
    >>> data = fill_unobserved(ts.SequenceSet.from_arrays(X), "ffill")
    >>> data.values.ravel().tolist(), data.meta["fill_means"]
    ([3.0, 2.0, 4.0], {'f0': 3.0})
    """
    check_fill(method)
    observed = _observed(data)
    values = data.values.copy()
    meta = dict(data.meta, fill=method)
    if method == "zero":
        values[~observed] = 0.0
        return data.replace(values=values, meta=meta)

    centre = _feature_means(data, observed, means)
    meta["fill_means"] = {
        name: float(m) for name, m in zip(data.feature_names, centre, strict=True)
    }
    if method == "mean":
        values = np.where(observed, values, centre[None, :].astype(np.float32))
        return data.replace(values=values, meta=meta)

    last, seen = _last_observed(data, observed)
    rows = np.where(seen, last, 0)
    carried = np.take_along_axis(values, rows, axis=0)
    filled = np.where(seen, carried, centre[None, :].astype(np.float32))
    values = np.where(observed, values, filled)
    return data.replace(values=values, meta=meta)


def add_time_features(data: SequenceSet) -> SequenceSet:
    """Add ``f__observed`` and ``f__dt`` for every feature ``f`` (see the module
    docstring) and zero-fill unobserved values unless they were filled already.

    >>> import numpy as np, timesteps as ts
    >>> X = [np.array([[1.0], [np.nan], [np.nan]])]
    >>> data = add_time_features(ts.SequenceSet.from_arrays(X, times=[[0, 2, 5]]))
    >>> data.feature_names
    ['f0', 'f0__observed', 'f0__dt']
    >>> data.values.tolist()   # (N, F) after: value, observed, time since seen
    [[1.0, 1.0, 0.0], [0.0, 0.0, 2.0], [0.0, 0.0, 5.0]]
    """
    if "time_features" in data.meta:
        raise ValueError(
            problem(
                "time features were added already",
                "a SequenceSet without time features",
                f"features {data.feature_names}",
                "call add_time_features once",
            )
        )
    if data.meta.get("fill") is None:
        data = fill_unobserved(data, "zero")
    observed = _observed(data)
    names = data.feature_names

    last, seen = _last_observed(data, observed)
    starts = np.repeat(data.offsets[:-1], data.lengths)
    since = np.where(seen, last, starts[:, None])
    dt = _elapsed(data.times[:, None], data.times[since])  # (N, F)

    extra = np.empty((data.n_steps, 2 * len(names)), dtype=np.float32)
    extra[:, 0::2] = observed
    extra[:, 1::2] = dt
    extra_names = [f"{name}__{kind}" for name in names for kind in ("observed", "dt")]
    unit = "days" if data.times.dtype.kind in "mM" else "time unit"
    meta = dict(
        data.meta,
        time_features={
            "observed": extra_names[0::2],
            "dt": extra_names[1::2],
            "dt_unit": unit,
        },
    )
    new_observed = None
    if data.observed is not None:
        new_observed = np.concatenate(
            [data.observed, np.ones(extra.shape, dtype=bool)], axis=1
        )
    return data.replace(
        values=np.concatenate([data.values, extra], axis=1),
        observed=new_observed,
        feature_names=[*names, *extra_names],
        meta=meta,
    )


def require_finite(data: SequenceSet, purpose: str = "a model") -> None:
    """Raise a ValueError naming the features with unobserved (NaN) values.

    Models call this before training: they need either ``fill=`` or
    ``time_features=True``.

    >>> import numpy as np, timesteps as ts
    >>> require_finite(ts.SequenceSet.from_arrays([np.ones((2, 1))]))
    """
    missing = np.isnan(data.values)
    if not missing.any():
        return
    counts = missing.sum(axis=0)
    named = [
        f"{name!r} ({int(n)} of {data.n_steps} steps)"
        for name, n in zip(data.feature_names, counts, strict=True)
        if n
    ]
    raise ValueError(
        problem(
            f"{purpose} needs a value at every step, but some were not recorded",
            "no NaN in any feature",
            "NaN in " + ", ".join(named),
            "build the SequenceSet with fill='ffill', 'zero' or 'mean', or with "
            "time_features=True (which also tells the model what was observed), "
            "or call timesteps.data.align.fill_unobserved(data, 'ffill')",
        )
    )


def _observed(data: SequenceSet) -> np.ndarray:
    """``(N, F)`` bool: recorded values (all True when the mask is None)."""
    if data.observed is None:
        return np.ones(data.values.shape, dtype=bool)
    return data.observed


def _feature_means(
    data: SequenceSet, observed: np.ndarray, means: Mapping[str, float] | None
) -> np.ndarray:
    """``(F,)`` float64 means over observed values, or the given ones."""
    if means is not None:
        unknown = [name for name in data.feature_names if name not in means]
        if unknown:
            raise ValueError(
                problem(
                    "means= must give a value for every feature",
                    f"keys {data.feature_names}",
                    f"no value for {unknown}",
                    "pass the training part's meta['fill_means']",
                )
            )
        return np.array([float(means[n]) for n in data.feature_names])
    counts = observed.sum(axis=0)
    sums = np.where(observed, data.values, 0.0).sum(axis=0, dtype=np.float64)
    centre = np.divide(sums, counts, out=np.zeros(len(counts)), where=counts > 0)
    never = [n for n, c in zip(data.feature_names, counts, strict=True) if c == 0]
    if never:
        warnings.warn(
            f"features {never} are never observed in any of the {len(data)} series; "
            "their mean is undefined and 0.0 is used to fill them",
            stacklevel=3,
        )
    return centre


def _last_observed(
    data: SequenceSet, observed: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``(N, F)`` flat row of each feature's latest observation at or before each
    step within its series, and ``(N, F)`` whether there is one."""
    rows = np.arange(data.n_steps, dtype=np.int64)[:, None]
    marks = np.where(observed, rows, -1)
    last = np.maximum.accumulate(marks, axis=0) if len(marks) else marks
    starts = np.repeat(data.offsets[:-1], data.lengths)[:, None]
    return last, last >= starts


def _elapsed(later: np.ndarray, earlier: np.ndarray) -> np.ndarray:
    """``later - earlier`` as float64: in days for datetimes and durations."""
    if later.dtype.kind in "mM":
        return (later - earlier) / np.timedelta64(1, "D")
    return later.astype(np.float64) - earlier.astype(np.float64)

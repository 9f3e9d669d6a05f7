"""Tables, arrays and files to a checked :class:`SequenceSet`, and back.

Three shapes of input are read here, each checked once:

- a **long** table: one row per (series, time), columns ``id``, ``time`` and the
  features (:func:`from_long`);
- a **wide** table: one row per series, one column per step (:func:`from_wide`);
- **arrays**: a 3-D ``(B, T, F)`` array or a list of ``(T_i, F)`` arrays
  (:func:`from_arrays`).

NaN in a feature means "not recorded at this step" and is kept in the observed
mask; the end of a series is never stored as anything (storage is ragged), so
"not recorded" and "sequence ended" cannot be confused. Filling and time features
are done by :mod:`timesteps.data.align`.

>>> import pandas as pd, timesteps as ts
>>> df = pd.DataFrame({"id": [1, 1, 2], "time": [0, 1, 0], "bone": [5.0, 6.0, 7.0]})
>>> data = ts.SequenceSet.from_long(df, id="id", time="time")
>>> data.lengths.tolist(), data.feature_names
([2, 1], ['bone'])
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from .._errors import near_matches, problem
from .._shapes import format_shape
from . import align

if TYPE_CHECKING:
    from .sequence_set import SequenceSet, TargetLevel

logger = logging.getLogger(__name__)

Names = str | Sequence[str] | None


# -- long tables ----------------------------------------------------------------


def from_long(
    df: pd.DataFrame,
    id: str,
    time: str | None = None,
    features: Names = None,
    target: Names = None,
    static: Names = None,
    time_features: bool = False,
    fill: str | None = None,
) -> SequenceSet:
    """Read a long table, one row per (series, time), into a SequenceSet.

    Rows are grouped by ``id`` (series keep the order in which their ids first
    appear) and sorted by ``time`` within each series (stable). Times may be
    numbers or datetimes, in any order, irregularly spaced; ``time=None`` uses
    the row order within each series (times 0, 1, 2, ...).

    Args:
        df: the table.
        id: the column naming the series (samples axis B).
        time: the column of time stamps, or None for row order.
        features: feature columns (features axis F); None takes every numeric
            column not named as ``id``, ``time``, ``target`` or ``static``.
        target: a column name or a list of them. Constant within every series:
            one target per series (``target_level="series"``, ``(B,)``/``(B, K)``);
            otherwise one per step (``"step"``, ``(N,)``/``(N, K)``).
        static: columns constant within each series, read as ``static (B, S)``.
        time_features: add ``f__observed`` and ``f__dt`` per feature ``f`` and
            zero-fill unobserved values (see :mod:`timesteps.data.align`).
        fill: None, ``"ffill"``, ``"zero"`` or ``"mean"``: how to fill values that
            were not recorded (the observed mask is kept either way).

    NaN in a feature means "not recorded"; rows whose id or time is missing are
    dropped with a warning that counts them.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"id": ["a", "a", "b"], "time": [2, 1, 5],
    ...                    "x": [20.0, 10.0, 50.0], "y": [0, 0, 1]})
    >>> data = from_long(df, id="id", time="time", target="y")
    >>> data.series(0).ravel().tolist(), data.target.tolist(), data.target_level
    ([10.0, 20.0], [0, 1], 'series')
    """
    align.check_fill(fill)
    _check_frame(df, "df")
    targets = _name_list(target, "target")
    statics = _name_list(static, "static")
    named = [id, *([time] if time is not None else []), *targets, *statics]
    _check_columns(df, named)
    feature_list = _feature_columns(df, features, named)
    _check_numeric(df, feature_list, "feature")
    _check_numeric(df, statics, "static")

    df = _drop_missing_keys(df, id, time)
    codes, ids = pd.factorize(_whole_ids(df[id]), sort=False)
    times, time_zone = _time_values(df, time, codes)
    order = _sort_order(codes, times)
    codes, times = codes[order], times[order]
    df = df.iloc[order]
    _check_unique_times(codes, times, ids, time_zone)

    offsets = np.concatenate([[0], np.cumsum(np.bincount(codes))]).astype(np.int64)
    values = _feature_values(df, feature_list, ids.to_numpy()[codes])
    observed = ~np.isnan(values)
    id_array = _id_array(ids)

    target_values, target_level = _long_target(df, targets, codes, offsets)
    static_values = _long_static(df, statics, codes, offsets, id_array)

    from .sequence_set import SequenceSet

    data = SequenceSet(
        values,
        offsets,
        ids=id_array,
        times=times,
        observed=None if observed.all() else observed,
        feature_names=feature_list,
        static=static_values,
        static_names=statics,
        target=target_values,
        target_level=target_level,
        target_names=targets,
        meta={
            "source": "long",
            "id_name": id,
            "time_name": time if time is not None else "time",
            "time_zone": time_zone,
            "dtypes": _dtypes(df, [*feature_list, *statics]),
        },
    )
    return align.prepare(data, fill=fill, time_features=time_features)


def _drop_missing_keys(df: pd.DataFrame, id: str, time: str | None) -> pd.DataFrame:
    """Drop rows without an id or a time, and say how many went."""
    no_id = df[id].isna().to_numpy()
    no_time = (
        df[time].isna().to_numpy() if time is not None else np.zeros(len(df), bool)
    )
    dropped = no_id | no_time
    if not dropped.any():
        return df
    if dropped.all():
        raise ValueError(
            problem(
                f"every row lacks an id ({id!r}) or a time ({time!r})",
                "rows with both an id and a time",
                f"{len(df)} rows, {int(no_id.sum())} without an id and "
                f"{int(no_time.sum())} without a time",
                "fill in the id and time columns",
            )
        )
    reasons = [f"{int(no_id.sum())} without an id {id!r}"]
    if time is not None:
        reasons.append(f"{int(no_time.sum())} without a time {time!r}")
    warnings.warn(
        f"dropped {int(dropped.sum())} of {len(df)} rows whose "
        f"{'id or time' if time is not None else 'id'} is missing "
        f"({', '.join(reasons)})",
        stacklevel=4,
    )
    return df.loc[~dropped]


def _whole_ids(column: pd.Series) -> pd.Series:
    """Integer ids that pandas turned into floats because some were missing
    (``[1, None, 2]`` reads as ``1.0, NaN, 2.0``) become integers again."""
    if column.dtype.kind == "f" and len(column) and column.mod(1).eq(0).all():
        return column.astype(np.int64)
    return column


def _time_values(
    df: pd.DataFrame, time: str | None, codes: np.ndarray
) -> tuple[np.ndarray, str | None]:
    """``(N,)`` time stamps in row order, and the time zone of aware datetimes.

    Aware datetimes are stored as naive UTC ``datetime64``; ``to_long`` turns them
    back into the original zone."""
    if time is None:
        counts = np.zeros(len(codes), dtype=np.int64)
        if len(codes):
            counts = pd.Series(codes).groupby(codes).cumcount().to_numpy(np.int64)
        return counts, None
    column = df[time]
    dtype = column.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        naive = column.dt.tz_convert("UTC").dt.tz_localize(None)
        return naive.to_numpy(), str(dtype.tz)
    if ptypes.is_datetime64_dtype(dtype) or ptypes.is_timedelta64_dtype(dtype):
        return column.to_numpy(), None
    if ptypes.is_numeric_dtype(dtype) and not ptypes.is_bool_dtype(dtype):
        numpy_dtype = getattr(dtype, "numpy_dtype", dtype)
        return column.to_numpy(dtype=numpy_dtype), None
    raise TypeError(
        problem(
            f"time column {time!r} must hold numbers or datetimes",
            "a numeric or datetime64 column",
            f"dtype {dtype}",
            f"convert it with df[{time!r}] = pd.to_datetime(df[{time!r}]), "
            "or pass time=None to use the row order",
        )
    )


def _sort_order(codes: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Row order grouped by series (first appearance) and by time within each,
    stable for equal keys."""
    keys = times.view(np.int64) if times.dtype.kind in "mM" else times
    return np.lexsort((keys, codes))


def _check_unique_times(
    codes: np.ndarray, times: np.ndarray, ids: pd.Index, time_zone: str | None
) -> None:
    """Raise on repeated (id, time) rows, naming the first repeats and counts."""
    same = (codes[1:] == codes[:-1]) & (times[1:] == times[:-1])
    if not same.any():
        return
    table = pd.DataFrame({"code": codes, "time": times})
    counts = table.groupby(["code", "time"], sort=False).size()
    counts = counts[counts > 1]
    shown = [
        f"(id={_plain(ids[code])!r}, time={_show_time(t, time_zone)}, count={n})"
        for (code, t), n in list(counts.items())[:5]
    ]
    more = "" if len(counts) <= 5 else f" and {len(counts) - 5} more"
    raise ValueError(
        problem(
            "the table has several rows for the same (id, time)",
            "one row per (id, time)",
            f"{len(counts)} repeated pairs: {', '.join(shown)}{more}",
            "aggregate the repeats, e.g. df.groupby([id, time], as_index=False)"
            ".mean(), or drop them with df.drop_duplicates([id, time])",
        )
    )


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _show_time(value: Any, time_zone: str | None) -> str:
    if isinstance(value, np.datetime64):
        stamp = pd.Timestamp(value)
        if time_zone is not None:
            stamp = stamp.tz_localize("UTC").tz_convert(time_zone)
        return str(stamp)
    return repr(_plain(value))


def _long_target(
    df: pd.DataFrame, targets: list[str], codes: np.ndarray, offsets: np.ndarray
) -> tuple[np.ndarray | None, TargetLevel | None]:
    """The target as one value per series when constant within every series,
    else one per step."""
    if not targets:
        return None, None
    columns = [_column_values(df[name], name) for name in targets]
    per_series = all(_constant_within(df[name], codes) for name in targets)
    if per_series:
        columns = [column[offsets[:-1]] for column in columns]
    target = columns[0] if len(columns) == 1 else np.column_stack(columns)
    return target, "series" if per_series else "step"


def _long_static(
    df: pd.DataFrame,
    statics: list[str],
    codes: np.ndarray,
    offsets: np.ndarray,
    ids: np.ndarray,
) -> np.ndarray | None:
    """``(B, S)`` static features; each must be constant within its series."""
    if not statics:
        return None
    for name in statics:
        counts = df[name].groupby(codes, sort=False).nunique(dropna=False)
        varying = counts.to_numpy() > 1
        if varying.any():
            bad = ids[counts.index.to_numpy()[varying]]
            raise ValueError(
                problem(
                    f"static column {name!r} changes within a series",
                    "one value per series",
                    f"several values in the series with id {_show_list(bad)}",
                    f"pass {name!r} as a feature (features=[...]) instead of static",
                )
            )
    values = df[statics].to_numpy(dtype=np.float64, na_value=np.nan)
    return values[offsets[:-1]].astype(np.float32)


def _constant_within(column: pd.Series, codes: np.ndarray) -> bool:
    return bool((column.groupby(codes, sort=False).nunique(dropna=False) <= 1).all())


# -- wide tables ----------------------------------------------------------------


def from_wide(
    df: pd.DataFrame,
    id: str | None = None,
    steps: Sequence[str] | Mapping[str, Sequence[str]] | None = None,
    target: Names = None,
    static: Names = None,
    time_features: bool = False,
    fill: str | None = None,
) -> SequenceSet:
    """Read a wide table, one row per series and one column per step.

    ``steps=["v1", "v2", "v3"]`` reads one feature named ``"value"``;
    ``steps={"bone": [...], "weight": [...]}`` reads several features, each from
    its own equally long list of step columns. NaN at the end of a row (at every
    feature) means the series is shorter: those trailing steps are dropped, so
    series may differ in length. NaN inside a row means "not recorded". Times are
    the step positions 0, 1, 2, ... ``id=None`` names the series by row position.

    >>> import numpy as np, pandas as pd
    >>> df = pd.DataFrame({"pid": [7, 8], "v1": [1.0, 4.0], "v2": [2.0, np.nan],
    ...                    "v3": [3.0, np.nan], "sick": [0, 1]})
    >>> data = from_wide(df, id="pid", steps=["v1", "v2", "v3"], target="sick")
    >>> data.lengths.tolist(), data.series(1).shape   # (T_i, F)
    ([3, 1], (1, 1))
    """
    align.check_fill(fill)
    _check_frame(df, "df")
    step_map = _step_map(steps)
    targets = _name_list(target, "target")
    statics = _name_list(static, "static")
    columns = [c for cols in step_map.values() for c in cols]
    _check_columns(df, [*([id] if id is not None else []), *targets, *statics])
    _check_columns(df, columns)
    _check_numeric(df, columns, "step")
    _check_numeric(df, statics, "static")
    if id is not None:
        df = _drop_missing_keys(df, id, None)

    n_rows, n_steps = len(df), len(next(iter(step_map.values())))
    cube = np.stack(
        [df[cols].to_numpy(np.float64, na_value=np.nan) for cols in step_map.values()],
        axis=-1,
    )  # (B, T, F)
    ids = np.arange(n_rows) if id is None else _id_array(pd.Index(df[id]))
    _check_unique_ids(ids, id)
    _check_finite(cube.reshape(-1, cube.shape[-1]), list(step_map), ids, n_steps)

    recorded = ~np.isnan(cube).all(axis=2)  # (B, T)
    lengths = np.where(
        recorded.any(axis=1), n_steps - np.argmax(recorded[:, ::-1], axis=1), 0
    )
    _check_nonempty(lengths, ids, "every step column of the row is NaN")
    values = cube[np.arange(n_steps) < lengths[:, None]]  # (N, F)
    observed = ~np.isnan(values)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)

    target_values = None
    if targets:
        cols = [_column_values(df[name], name) for name in targets]
        target_values = cols[0] if len(cols) == 1 else np.column_stack(cols)
    static_values = None
    if statics:
        static_values = df[statics].to_numpy(np.float64, na_value=np.nan)

    from .sequence_set import SequenceSet

    data = SequenceSet(
        values,
        offsets,
        ids=ids,
        observed=None if observed.all() else observed,
        feature_names=list(step_map),
        static=static_values,
        static_names=statics,
        target=target_values,
        target_level="series" if targets else None,
        target_names=targets,
        meta={
            "source": "wide",
            "id_name": id if id is not None else "id",
            "time_name": "step",
            "time_zone": None,
            "step_columns": {name: list(cols) for name, cols in step_map.items()},
            "dtypes": _dtypes(df, statics),
        },
    )
    return align.prepare(data, fill=fill, time_features=time_features)


def _step_map(steps: Any) -> dict[str, list[str]]:
    """``steps=`` as {feature name: step columns}, all lists equally long."""
    if steps is None:
        raise ValueError(
            problem(
                "from_wide needs the step columns",
                "steps=[c1, c2, ...] or steps={'feature': [c1, c2, ...], ...}",
                "steps=None",
                "name the columns that hold the steps, in time order",
            )
        )
    if isinstance(steps, str):
        raise TypeError(
            problem(
                "steps= must list several columns",
                "a list of column names or a dict of lists",
                f"the string {steps!r}",
                f"pass steps=[{steps!r}, ...]",
            )
        )
    step_map = (
        {str(k): list(v) for k, v in steps.items()}
        if isinstance(steps, Mapping)
        else {"value": list(steps)}
    )
    sizes = {name: len(cols) for name, cols in step_map.items()}
    if not step_map or 0 in sizes.values():
        raise ValueError(
            problem(
                "steps= names no step columns",
                "at least one column per feature",
                repr(steps),
                "list the columns that hold the steps, in time order",
            )
        )
    if len(set(sizes.values())) > 1:
        raise ValueError(
            problem(
                "every feature in steps= needs the same number of step columns",
                "equally long lists (timesteps axis T)",
                ", ".join(f"{name}: {n}" for name, n in sizes.items()),
                "give each feature one column per step, using a column of NaN "
                "where a feature was not measured at a step",
            )
        )
    return step_map


# -- arrays ---------------------------------------------------------------------


def from_arrays(
    X: Any,
    y: Any = None,
    ids: Sequence[Any] | np.ndarray | None = None,
    feature_names: Sequence[str] | None = None,
    times: Any = None,
    target_level: str | None = None,
    time_features: bool = False,
    fill: str | None = None,
) -> SequenceSet:
    """Read a 3-D ``(B, T, F)`` array or a list of ``(T_i, F)`` arrays.

    Args:
        X: ``(B, T, F)`` array or tensor, or a list of ``(T_i, F)`` arrays.
        y: per series ``(B,)`` or ``(B, K)``; per step ``(B, T)`` or ``(B, T, K)``
            for 3-D ``X``, or a list of ``(T_i,)``/``(T_i, K)`` arrays. A ``(B, T)``
            y is read as per step; pass ``target_level="series"`` when it is
            ``K == T`` outputs per series.
        ids: ``(B,)`` unique series ids (default: positions).
        feature_names: F names (default ``f0, f1, ...``).
        times: ``(B, T)`` or a list of ``(T_i,)`` increasing time stamps
            (default: positions 0, 1, 2, ...).
        target_level: ``"series"`` or ``"step"`` to settle an ambiguous y.
        time_features, fill: as in :func:`from_long`.

    NaN in ``X`` means "not recorded". The end of a series is the end of its
    array: pass a list of arrays when series differ in length.

    >>> import numpy as np
    >>> data = from_arrays(np.zeros((4, 3, 1)), y=np.array([0, 1, 0, 1]))
    >>> len(data), data.lengths.tolist(), data.target_level
    (4, [3, 3, 3, 3], 'series')
    """
    align.check_fill(fill)
    if target_level not in (None, "series", "step"):
        raise ValueError(
            problem("target_level", "None, 'series' or 'step'", repr(target_level))
        )
    X, y, times = _to_numpy(X), _to_numpy(y), _to_numpy(times)
    if isinstance(X, (list, tuple)):
        series = _list_series(list(X))
        lengths = np.array([len(s) for s in series], dtype=np.int64)
        n_features = series[0].shape[1] if series else 0
        shape: tuple[int, ...] = (len(series), -1, n_features)
        values = (
            np.concatenate(series).astype(np.float64) if series else np.zeros((0, 0))
        )
    else:
        values, shape = _cube(X)
        lengths = np.full(shape[0], shape[1], dtype=np.int64)
    B = len(lengths)
    if B == 0:
        raise ValueError(
            problem("X holds no series", "at least one series (B >= 1)", "B=0")
        )
    names = _array_feature_names(feature_names, shape)
    id_array = np.arange(B) if ids is None else np.asarray(_to_numpy(ids))
    if id_array.shape != (B,):
        raise ValueError(
            problem(
                "ids must name each series once",
                f"{B} ids (samples axis B)",
                f"{len(id_array)} ids"
                if id_array.ndim == 1
                else f"shape {id_array.shape}",
            )
        )
    _check_unique_ids(id_array, "ids")
    _check_nonempty(lengths, id_array, "the series has no timesteps (T_i = 0)")
    _check_finite(values, names, np.repeat(id_array, lengths), None)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    target, level = _array_target(y, lengths, shape, target_level)
    time_values = _array_times(times, lengths, id_array)
    observed = ~np.isnan(values)

    from .sequence_set import SequenceSet

    data = SequenceSet(
        values,
        offsets,
        ids=id_array,
        times=time_values,
        observed=None if observed.all() else observed,
        feature_names=names,
        target=target,
        target_level=level,
        target_names=_target_names(target, level, B),
        meta={"source": "arrays", "id_name": "id", "time_name": "time"},
    )
    return align.prepare(data, fill=fill, time_features=time_features)


def _to_numpy(x: Any) -> Any:
    """Torch tensors (and lists of them) as numpy arrays; anything else as is."""
    if x is None or isinstance(x, np.ndarray):
        return x
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        return x.detach().cpu().numpy()
    if isinstance(x, (list, tuple)):
        return [_to_numpy(item) for item in x]
    return x


def _list_series(X: list[Any]) -> list[np.ndarray]:
    """Check a list of ``(T_i, F)`` arrays: 2-D each, one F for all."""
    series = [np.asarray(item) for item in X]
    for i, item in enumerate(series):
        if item.ndim == 1:
            raise ValueError(
                problem(
                    f"X[{i}] is 1-D with shape {item.shape}: each series in a list "
                    "must be (T_i, F)",
                    "2-D arrays (T_i, F)",
                    f"a 1-D array of {item.shape[0]} values",
                    "add a features axis to each series: [a[:, None] for a in X]",
                )
            )
        if item.ndim != 2:
            raise ValueError(
                problem(
                    f"X[{i}] must be one series (T_i, F)",
                    "2-D arrays (T_i, F)",
                    f"{item.ndim}-D shape {item.shape}",
                )
            )
        _check_numeric_array(item, f"X[{i}]")
    widths = sorted({item.shape[1] for item in series})
    if len(widths) > 1:
        first = {
            w: next(i for i, s in enumerate(series) if s.shape[1] == w) for w in widths
        }
        raise ValueError(
            problem(
                "every series must have the same number of features F",
                "one F for all series",
                ", ".join(f"F={w} (first at X[{i}])" for w, i in first.items()),
                "select the same feature columns for every series",
            )
        )
    return series


def _cube(X: Any) -> tuple[np.ndarray, tuple[int, ...]]:
    """A ``(B, T, F)`` array as flat ``(N, F)`` steps, after shape checks."""
    if not isinstance(X, np.ndarray):
        raise TypeError(
            problem(
                "X must be an array",
                "a (B, T, F) numpy array or torch tensor, or a list of (T_i, F) arrays",
                type(X).__name__,
                "convert it with np.asarray(X)",
            )
        )
    if X.ndim == 2:
        B, T = X.shape
        raise ValueError(
            problem(
                f"X has 2 axes {X.shape}: it is read as B={B} samples of T={T} "
                "timesteps with no features axis",
                "3 axes (B, T, F)",
                f"2 axes {format_shape(X.shape, 'BT')}",
                f"add a features axis with X[..., None] or X.reshape({B}, {T}, 1), "
                f"giving {format_shape((B, T, 1), 'BTF')}",
            )
        )
    if X.ndim != 3:
        raise ValueError(
            problem(
                f"X must have 3 axes (B, T, F), not {X.ndim}",
                "3 axes (B, T, F)",
                f"shape {X.shape}",
                "pass a (B, T, F) array or a list of (T_i, F) arrays",
            )
        )
    _check_numeric_array(X, "X")
    B, T, F = X.shape
    return X.reshape(B * T, F).astype(np.float64), (B, T, F)


def _check_numeric_array(X: np.ndarray, name: str) -> None:
    if X.dtype.kind not in "biuf":
        raise TypeError(
            problem(
                f"{name} must hold numbers",
                "a numeric (int, float or bool) array",
                f"dtype {X.dtype}",
                "encode categories as numbers, e.g. with pd.factorize",
            )
        )


def _array_feature_names(
    feature_names: Sequence[str] | None, shape: tuple[int, ...]
) -> list[str]:
    """Check ``feature_names`` against the features axis (the last one)."""
    F = shape[-1]
    if feature_names is None:
        return [f"f{j}" for j in range(F)]
    names = [str(n) for n in feature_names]
    if len(names) == F:
        if len(set(names)) < len(names):
            raise ValueError(
                problem("feature_names must be unique", "distinct names", repr(names))
            )
        return names
    axes = [i for i, size in enumerate(shape[:-1]) if size == len(names)]
    if axes:
        axis = axes[-1]
        letters = "BT"[axis]
        order = [i for i in range(3) if i != axis] + [axis]
        raise ValueError(
            problem(
                f"feature_names has {len(names)} names but X has {F} features on "
                f"its last axis; {len(names)} is the size of axis {axis} "
                f"({letters}), so X looks transposed",
                f"{F} names, one per feature, the last axis of "
                f"{format_shape(shape, 'BTF')}",
                f"{len(names)} names",
                f"move the features axis last: X = np.transpose(X, {tuple(order)}) "
                f"or np.moveaxis(X, {axis}, -1)",
            )
        )
    raise ValueError(
        problem(
            "feature_names must name every feature",
            f"{F} names (features axis F)",
            f"{len(names)} names",
        )
    )


def _array_target(
    y: Any, lengths: np.ndarray, shape: tuple[int, ...], level: str | None
) -> tuple[np.ndarray | None, TargetLevel | None]:
    """``y`` as a per-series ``(B,)``/``(B, K)`` or flat per-step ``(N,)``/``(N, K)``
    target."""
    if y is None:
        return None, None
    B = len(lengths)
    if isinstance(y, (list, tuple)) and y and np.ndim(y[0]) >= 1 and shape[1] == -1:
        parts = [np.asarray(part) for part in y]
        if len(parts) != B:
            raise ValueError(
                problem(
                    "y must give one target array per series",
                    f"{B} arrays (samples axis B)",
                    f"{len(parts)} arrays",
                )
            )
        bad = [i for i, part in enumerate(parts) if len(part) != lengths[i]]
        if bad:
            i = bad[0]
            raise ValueError(
                problem(
                    f"y[{i}] must have one value per step of series {i}",
                    f"{lengths[i]} values (T_i)",
                    f"{len(parts[i])} values",
                    "give each series' per-step targets as a (T_i,) array",
                )
            )
        return np.concatenate(parts), "step"
    y = np.asarray(y)
    if y.ndim == 0 or y.shape[0] != B:
        received = "a scalar" if y.ndim == 0 else f"{y.shape[0]} values"
        fix = "give one target per series (B,) or per step (B, T)"
        if y.ndim >= 1 and len(shape) == 3 and shape[1] >= 0:
            axes = [i for i in (1, 2) if shape[i] == y.shape[0]]
            if axes:
                fix = (
                    f"X has {B} samples on axis 0 and y's length matches axis "
                    f"{axes[0]} ({'TF'[axes[0] - 1]}={shape[axes[0]]}): X may be "
                    f"transposed, move the samples axis first with "
                    f"np.moveaxis(X, {axes[0]}, 0)"
                )
        raise ValueError(
            problem(
                f"y has {received} but X has {B} samples on axis 0",
                f"{B} targets along axis 0 (samples axis B)",
                f"y of shape {y.shape}",
                fix,
            )
        )
    T = shape[1] if len(shape) == 3 else -1
    is_step = level == "step" or (
        level is None and T > 0 and y.ndim >= 2 and y.shape[1] == T
    )
    if is_step:
        if T < 0 or y.ndim < 2 or y.shape[1] != T:
            raise ValueError(
                problem(
                    "a per-step y needs one value per step",
                    f"shape (B, T{', K' if y.ndim == 3 else ''}) with T={T}",
                    f"shape {y.shape}",
                    "for a list X pass y as a list of (T_i,) arrays",
                )
            )
        return y.reshape(B * T, *y.shape[2:]), "step"
    if y.ndim > 2:
        raise ValueError(
            problem(
                "a per-series y must be (B,) or (B, K)",
                "1 or 2 axes",
                f"shape {y.shape}",
            )
        )
    return y, "series"


def _target_names(target: np.ndarray | None, level: str | None, B: int) -> list[str]:
    if target is None:
        return []
    if target.ndim == 1:
        return ["target"]
    return [f"target{k}" for k in range(target.shape[1])]


def _array_times(times: Any, lengths: np.ndarray, ids: np.ndarray) -> np.ndarray | None:
    """Flat ``(N,)`` times from ``(B, T)`` or a list of ``(T_i,)``, increasing."""
    if times is None:
        return None
    if isinstance(times, (list, tuple)):
        parts = [np.asarray(t) for t in times]
    else:
        array = np.asarray(times)
        parts = list(array) if array.ndim == 2 else [array]
    sizes = [len(p) for p in parts]
    if len(parts) != len(lengths) or any(
        p.ndim != 1 or n != t for p, n, t in zip(parts, sizes, lengths, strict=False)
    ):
        raise ValueError(
            problem(
                "times must give one time stamp per step",
                f"{len(lengths)} series of lengths {_show_list(lengths)}",
                f"{len(parts)} series of lengths {_show_list(np.array(sizes))}",
                "pass a (B, T) array or a list of (T_i,) arrays",
            )
        )
    flat = np.concatenate(parts)
    if flat.dtype.kind not in "iufmM":
        raise TypeError(
            problem(
                "times must be numbers or datetimes",
                "a numeric or datetime64 array",
                f"dtype {flat.dtype}",
                "convert with np.asarray(times, dtype='datetime64[ns]')",
            )
        )
    keys = flat.view(np.int64) if flat.dtype.kind in "mM" else flat
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    rising = np.diff(keys) > 0
    rising[starts[1:] - 1] = True  # a new series may start anywhere
    if not rising.all():
        step = int(np.flatnonzero(~rising)[0]) + 1
        series = int(np.searchsorted(starts, step, side="right")) - 1
        raise ValueError(
            problem(
                "times must increase within each series",
                "strictly increasing time stamps",
                f"series {_plain(ids[series])!r} goes from {flat[step - 1]} to "
                f"{flat[step]} at step {step - starts[series]}",
                "sort each series by time and merge repeated times",
            )
        )
    return flat


# -- files ----------------------------------------------------------------------


def read_csv(
    path: str | Path,
    *,
    steps: Sequence[str] | Mapping[str, Sequence[str]] | None = None,
    read_options: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> SequenceSet:
    """Read a CSV file: a wide table when ``steps=`` is given, else a long one.

    ``kwargs`` are those of :func:`from_wide` or :func:`from_long`;
    ``read_options`` go to :func:`pandas.read_csv`. A text time column is parsed
    with :func:`pandas.to_datetime`.

    >>> import os, tempfile, pandas as pd
    >>> path = os.path.join(tempfile.mkdtemp(), "visits.csv")
    >>> pd.DataFrame({"id": [1, 1], "day": ["2024-01-01", "2024-02-01"],
    ...               "bone": [5.0, 6.0]}).to_csv(path, index=False)
    >>> read_csv(path, id="id", time="day").times.dtype.kind   # datetime64
    'M'
    """
    frame = pd.read_csv(path, **dict(read_options or {}))
    return _from_frame(frame, steps, kwargs)


def read_parquet(
    path: str | Path,
    *,
    steps: Sequence[str] | Mapping[str, Sequence[str]] | None = None,
    read_options: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> SequenceSet:
    """Read a Parquet file (pyarrow engine): wide when ``steps=`` is given, else
    long. ``kwargs`` are those of :func:`from_wide` or :func:`from_long`.

    >>> import os, tempfile, pandas as pd
    >>> path = os.path.join(tempfile.mkdtemp(), "wide.parquet")
    >>> pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, None]}).to_parquet(path)
    >>> read_parquet(path, steps=["a", "b"]).lengths.tolist()
    [2, 1]
    """
    frame = pd.read_parquet(path, engine="pyarrow", **dict(read_options or {}))
    return _from_frame(frame, steps, kwargs)


def _from_frame(frame: pd.DataFrame, steps: Any, kwargs: dict[str, Any]) -> SequenceSet:
    if steps is not None:
        return from_wide(frame, steps=steps, **kwargs)
    time = kwargs.get("time")
    if time is not None and time in frame.columns:
        column = frame[time]
        if ptypes.is_object_dtype(column.dtype) or ptypes.is_string_dtype(column.dtype):
            try:
                frame = frame.assign(**{time: pd.to_datetime(column)})
            except (ValueError, TypeError) as error:
                raise ValueError(
                    problem(
                        f"time column {time!r} holds text that is not a date",
                        "numbers or dates",
                        f"values such as {column.dropna().iloc[:3].tolist()}",
                        "fix the column, or pass read_options={'dtype': ...}",
                    )
                ) from error
    return from_long(frame, **kwargs)


# -- back to a long table -------------------------------------------------------


def to_long(data: SequenceSet) -> pd.DataFrame:
    """The SequenceSet as a long table: id, time, features, target, static.

    Values that were not recorded (and not filled) are NaN. A table read with
    :func:`from_long` comes back as it went in (rows sorted by series, then
    time), with its column dtypes: integer and bool columns return to their
    dtype when they hold no NaN. Feature and static values are stored as
    float32, so float64 values come back rounded to float32 precision.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"id": [1, 1, 2], "t": [0, 1, 0], "x": [1, 2, 3]})
    >>> to_long(from_long(df, id="id", time="t")).equals(df)
    True
    """
    meta = data.meta
    dtypes: dict[str, str] = meta.get("dtypes") or {}
    lengths = data.lengths
    times: Any = data.times
    time_zone = meta.get("time_zone")
    if time_zone is not None:
        times = pd.DatetimeIndex(times).tz_localize("UTC").tz_convert(time_zone)
    columns: dict[str, Any] = {
        meta.get("id_name", "id"): np.repeat(data.ids, lengths),
        meta.get("time_name", "time"): np.asarray(times)
        if time_zone is None
        else pd.Series(times),
    }
    values = data.values.astype(np.float64)
    for j, name in enumerate(data.feature_names):
        columns[name] = _restore(values[:, j], dtypes.get(name))
    if data.target is not None:
        target = data.target
        if data.target_level == "series":
            target = np.repeat(target, lengths, axis=0)
        names = data.target_names or _target_names(target, None, 0)
        columns.update(_split_columns(target, names))
    if data.static is not None:
        static = np.repeat(data.static.astype(np.float64), lengths, axis=0)
        for j, name in enumerate(data.static_names):
            columns[name] = _restore(static[:, j], dtypes.get(name))
    names = [*columns]
    expected = 2 + data.n_features + len(data.static_names)
    if data.target is not None:
        expected += 1 if data.target.ndim == 1 else data.target.shape[1]
    if len(names) < expected:
        raise ValueError(
            problem(
                "to_long needs distinct column names",
                "id, time, feature, target and static names that all differ",
                f"id {names[0]!r}, time {names[1]!r}, features "
                f"{data.feature_names}, targets {data.target_names}, static "
                f"{data.static_names}",
                "rename the clashing features with data.replace(feature_names=...)",
            )
        )
    return pd.DataFrame(columns)


def _split_columns(target: np.ndarray, names: list[str]) -> dict[str, np.ndarray]:
    if target.ndim == 1:
        return {names[0]: target}
    return {name: target[:, k] for k, name in enumerate(names)}


def _restore(column: np.ndarray, dtype: str | None) -> Any:
    """A float64 column back in its original dtype when that loses nothing."""
    if dtype is None:
        return column
    target = pd.api.types.pandas_dtype(dtype)
    if isinstance(target, np.dtype):
        if target.kind in "iub" and np.isnan(column).any():
            return column
        return column.astype(target)
    return pd.Series(column).astype(target)


# -- shared checks --------------------------------------------------------------


def _check_frame(df: Any, name: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(
            problem(
                f"{name} must be a table",
                "a pandas DataFrame",
                type(df).__name__,
                "build one with pd.DataFrame(...), or use SequenceSet.from_arrays "
                "for arrays",
            )
        )
    if len(df) == 0:
        raise ValueError(
            problem(
                f"{name} has no rows",
                "at least one row",
                f"an empty table with columns {list(df.columns)[:10]}",
            )
        )


def _name_list(names: Names, role: str) -> list[str]:
    if names is None:
        return []
    if isinstance(names, str):
        return [names]
    return list(names)


def _check_columns(df: pd.DataFrame, names: Sequence[str]) -> None:
    """Raise for names that are not columns, suggesting the nearest ones."""
    columns = [str(c) for c in df.columns]
    for name in names:
        if name not in df.columns:
            raise ValueError(
                problem(
                    f"column {name!r} is not in the table",
                    "one of the table's columns",
                    repr(name),
                    near_matches(str(name), columns),
                )
            )


def _feature_columns(df: pd.DataFrame, features: Names, named: list[str]) -> list[str]:
    """The feature columns: those given, or every numeric column not named."""
    if features is None:
        chosen = [
            c
            for c in df.columns
            if c not in named and ptypes.is_numeric_dtype(df[c].dtype)
        ]
        skipped = [c for c in df.columns if c not in named and c not in chosen]
        if skipped:
            logger.info("features=None skips the non-numeric columns %s", skipped)
        if not chosen:
            raise ValueError(
                problem(
                    "the table has no numeric feature columns",
                    "at least one numeric column besides id, time, target and static",
                    f"columns {list(df.columns)[:10]}",
                    "pass features=[...] naming numeric columns, or encode text "
                    "columns as numbers",
                )
            )
        return [str(c) for c in chosen]
    chosen = _name_list(features, "features")
    if not chosen:
        raise ValueError(
            problem(
                "features= is empty",
                "at least one feature column",
                "[]",
                "name the feature columns, or pass features=None for every "
                "numeric column",
            )
        )
    _check_columns(df, chosen)
    clash = [c for c in chosen if c in named]
    if clash or len(set(chosen)) < len(chosen):
        raise ValueError(
            problem(
                "a column can play one role only",
                "features distinct from each other and from id, time, target "
                "and static",
                f"features {chosen}, other roles {named}",
                "remove the repeated names from features=",
            )
        )
    return chosen


def _check_numeric(df: pd.DataFrame, names: list[str], role: str) -> None:
    for name in names:
        dtype = df[name].dtype
        if not ptypes.is_numeric_dtype(dtype):
            raise TypeError(
                problem(
                    f"{role} column {name!r} must hold numbers",
                    "a numeric (int, float or bool) column",
                    f"dtype {dtype}",
                    f"encode it as numbers (e.g. pd.get_dummies(df, "
                    f"columns=[{name!r}]) or df[{name!r}].astype('category')"
                    f".cat.codes), or drop it",
                )
            )


def _column_values(column: pd.Series, name: str) -> np.ndarray:
    """A column as numpy: numbers keep their dtype (NaN for missing), text
    becomes an object array."""
    dtype = column.dtype
    if ptypes.is_numeric_dtype(dtype):
        if isinstance(dtype, np.dtype):
            values = column.to_numpy()
        elif column.isna().any():
            values = column.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            values = column.to_numpy(dtype=getattr(dtype, "numpy_dtype", None))
        if values.dtype.kind == "f" and np.isinf(values).any():
            raise ValueError(
                problem(
                    f"target column {name!r} holds inf",
                    "finite values (NaN where unknown)",
                    f"{int(np.isinf(values).sum())} infinite values",
                    "replace them, e.g. df[col].replace([np.inf, -np.inf], np.nan)",
                )
            )
        return values
    return column.to_numpy(dtype=object)


def _feature_values(
    df: pd.DataFrame, names: list[str], row_ids: np.ndarray
) -> np.ndarray:
    values = df[names].to_numpy(dtype=np.float64, na_value=np.nan)
    _check_finite(values, names, row_ids, None)
    return values


def _check_finite(
    values: np.ndarray, names: list[str], row_ids: np.ndarray, n_steps: int | None
) -> None:
    """Raise on inf, naming the feature and the series ids (NaN is allowed)."""
    infinite = np.isinf(values)
    if not infinite.any():
        return
    j = int(np.flatnonzero(infinite.any(axis=0))[0])
    rows = np.flatnonzero(infinite[:, j])
    ids = row_ids if n_steps is None else np.repeat(row_ids, n_steps)
    bad = pd.unique(ids[rows])
    raise ValueError(
        problem(
            f"feature {names[j]!r} holds inf",
            "finite values, or NaN where a value was not recorded",
            f"{len(rows)} infinite values in the series with id {_show_list(bad)}",
            "replace them with NaN (not recorded) or a finite value",
        )
    )


def _check_unique_ids(ids: np.ndarray, name: str | None) -> None:
    values, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        raise ValueError(
            problem(
                f"series ids ({name!r}) must be unique",
                "one id per series",
                f"repeated ids {_show_list(values[counts > 1])}",
                "give each series its own id, or use from_long for several rows "
                "per series",
            )
        )


def _check_nonempty(lengths: np.ndarray, ids: np.ndarray, why: str) -> None:
    empty = lengths == 0
    if empty.any():
        raise ValueError(
            problem(
                f"{int(empty.sum())} series have no timesteps ({why})",
                "at least one step per series (T_i >= 1)",
                f"empty series with id {_show_list(ids[empty])}",
                "drop those series",
            )
        )


def _id_array(ids: pd.Index) -> np.ndarray:
    values = ids.to_numpy()
    return values.astype(object) if values.dtype.kind not in "biufmM" else values


def _dtypes(df: pd.DataFrame, names: list[str]) -> dict[str, str]:
    return {name: str(df[name].dtype) for name in names}


def _show_list(values: Any, n: int = 5) -> str:
    items = [_plain(v) for v in list(values)[:n]]
    shown = ", ".join(repr(v) for v in items)
    return shown + (f" and {len(values) - n} more" if len(values) > n else "")

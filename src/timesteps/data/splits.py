"""Validation splits that never leak: by series, or by time within every series.

- :func:`split` puts each whole series in the training or the validation part,
  never both; for a per-series class target it keeps each class's share.
- :func:`split_by_time` holds out the last steps of every series (the future),
  so a forecaster is validated on times it has not seen.

Both record ``meta["part"]`` (``"train"`` or ``"validation"``), which
:class:`timesteps.data.scaling.Scaler` reads to warn when it is fitted on the
wrong part.

>>> import numpy as np, timesteps as ts
>>> data = ts.SequenceSet.from_arrays(np.zeros((10, 6, 1)), y=np.arange(10) % 2)
>>> train, validation = split(data, fraction=0.2)
>>> len(train), len(validation), np.bincount(validation.target).tolist()
(8, 2, [1, 1])
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING

import numpy as np

from .._errors import problem

if TYPE_CHECKING:
    from .sequence_set import SequenceSet

MAX_CLASSES = 20
"""A per-series target with at most this many distinct integer, bool or text
values is class-like: :func:`split` stratifies on it by default."""


def split(
    data: SequenceSet,
    fraction: float = 0.2,
    seed: int = 0,
    stratify: bool | None = None,
) -> tuple[SequenceSet, SequenceSet]:
    """Split by series into (train, validation); a series is never in both.

    The validation part gets ``round(fraction * B)`` series (half rounds up),
    chosen at random from ``seed``. With ``stratify`` (the default for a
    per-series class-like target: integer, bool or text with at most
    :data:`MAX_CLASSES` values) each class ``c`` of ``n_c`` series gives
    ``floor(fraction * n_c)`` series to validation, and the series still missing
    from the total go to the classes with the largest remainders (ties: the class
    seen first). Both parts keep the original series order.

    >>> import numpy as np, timesteps as ts
    >>> y = np.array([0] * 6 + [1] * 4)
    >>> data = ts.SequenceSet.from_arrays(np.zeros((10, 2, 1)), y=y)
    >>> train, validation = split(data, fraction=0.5)
    >>> np.bincount(train.target).tolist(), np.bincount(validation.target).tolist()
    ([3, 2], [3, 2])
    """
    B = len(data)
    if not 0.0 < fraction < 1.0:
        raise ValueError(
            problem(
                "fraction is the validation share of the series",
                "0 < fraction < 1",
                repr(fraction),
            )
        )
    n_validation = math.floor(fraction * B + 0.5)
    if not 0 < n_validation < B:
        raise ValueError(
            problem(
                f"fraction={fraction} of B={B} series leaves a part empty",
                "at least one series in each part",
                f"{B - n_validation} train and {n_validation} validation series",
                "use more series or another fraction",
            )
        )
    classes = _strata(data, stratify)
    rng = np.random.default_rng(seed)
    if classes is None:
        chosen = rng.permutation(B)[:n_validation]
    else:
        chosen = _stratified(classes, fraction, n_validation, rng)
    in_validation = np.zeros(B, dtype=bool)
    in_validation[chosen] = True
    train = data.subset(np.flatnonzero(~in_validation))
    validation = data.subset(np.flatnonzero(in_validation))
    record = {"kind": "series", "fraction": fraction, "seed": seed}
    train.meta.update(part="train", split=record)
    validation.meta.update(part="validation", split=record)
    return train, validation


def _strata(data: SequenceSet, stratify: bool | None) -> np.ndarray | None:
    """``(B,)`` class codes to stratify on, or None."""
    if stratify is False:
        return None
    target = data.target
    codes = None
    if (
        target is not None
        and data.target_level == "series"
        and target.ndim == 1
        and target.dtype.kind in "biuOU"
    ):
        labels = target.astype(str) if target.dtype.kind == "O" else target
        _, inverse = np.unique(labels, return_inverse=True)
        if inverse.max() + 1 <= MAX_CLASSES:
            codes = inverse
    if codes is not None:
        return codes
    if stratify:
        level = "no target" if target is None else f"a per-{data.target_level} target"
        raise ValueError(
            problem(
                "stratify=True needs a class-like target, one per series",
                f"a (B,) integer, bool or text target with at most {MAX_CLASSES} "
                "distinct values",
                f"{level} of dtype {None if target is None else target.dtype}",
                "pass stratify=False (or None) for a plain random split",
            )
        )
    return None


def _stratified(
    codes: np.ndarray, fraction: float, total: int, rng: np.random.Generator
) -> np.ndarray:
    """Positions for validation: each class's share, remainders by size."""
    n_classes = int(codes.max()) + 1
    counts = np.bincount(codes, minlength=n_classes)
    share = fraction * counts
    take = np.floor(share).astype(np.int64)
    order = np.argsort(-(share - take), kind="stable")
    take[order[: total - int(take.sum())]] += 1
    chosen = [
        rng.permutation(np.flatnonzero(codes == c))[: take[c]] for c in range(n_classes)
    ]
    return np.concatenate(chosen)


def split_by_time(
    data: SequenceSet,
    fraction: float | None = None,
    steps: int | None = None,
    keep_context: int = 0,
) -> tuple[SequenceSet, SequenceSet]:
    """Split every series in time into (past, future).

    The future part holds the last ``k`` steps of each series, with ``k = steps``
    or ``k = max(1, round(fraction * T_i))`` (default ``fraction=0.2``); the past
    part holds the first ``T_i - k``. Times, per-step targets and static features
    go along. A series too short to keep at least one past step (or, with
    ``keep_context=L``, ``L`` past steps) stays wholly in the past and is named in
    a warning.

    ``keep_context=L`` makes each future series start with its last ``L`` past
    steps as context and records ``meta["context_steps"] = L``: windows over the
    future part read those steps but predict only the steps after them.

    >>> import numpy as np, timesteps as ts
    >>> data = ts.SequenceSet.from_arrays(np.arange(8.0).reshape(1, 8, 1))
    >>> past, future = split_by_time(data, steps=2, keep_context=3)
    >>> past.series(0).ravel().tolist(), future.series(0).ravel().tolist()
    ([0.0, 1.0, 2.0, 3.0, 4.0, 5.0], [3.0, 4.0, 5.0, 6.0, 7.0])
    """
    lengths = data.lengths
    held = _held_out(lengths, fraction, steps)
    context = int(keep_context)
    if keep_context != context or context < 0:
        raise ValueError(
            problem(
                "keep_context is the number of past steps L kept as context",
                "an integer >= 0",
                repr(keep_context),
            )
        )
    too_short = lengths - held < max(1, context)
    if too_short.any():
        ids = data.ids[too_short]
        shown = ", ".join(repr(v) for v in ids[:10].tolist())
        more = "" if len(ids) <= 10 else f" and {len(ids) - 10} more"
        warnings.warn(
            f"{int(too_short.sum())} of {len(data)} series are too short to hold out "
            f"their last steps and keep {max(1, context)} past step(s); they stay "
            f"wholly in the past part: ids {shown}{more}",
            stacklevel=3,
        )
        held = np.where(too_short, 0, held)

    cut = lengths - held
    past = _slice(data, np.arange(len(data)), np.zeros_like(cut), cut)
    kept = np.flatnonzero(~too_short)
    future = _slice(data, kept, (cut - context)[kept], lengths[kept])
    record = {"kind": "time", "held_out": held.tolist()}
    past.meta.update(part="train", split=record)
    future.meta.update(part="validation", split=record)
    future.meta["context_steps"] = context
    past.meta.pop("context_steps", None)
    return past, future


def _held_out(
    lengths: np.ndarray, fraction: float | None, steps: int | None
) -> np.ndarray:
    """``(B,)`` number of steps held out at the end of each series."""
    if fraction is not None and steps is not None:
        raise ValueError(
            problem(
                "split_by_time takes fraction= or steps=, not both",
                "one of them",
                f"fraction={fraction}, steps={steps}",
            )
        )
    if steps is not None:
        if int(steps) != steps or steps < 1:
            raise ValueError(
                problem(
                    "steps is the number of last steps held out of each series",
                    "an integer >= 1",
                    repr(steps),
                )
            )
        return np.full(len(lengths), int(steps), dtype=np.int64)
    fraction = 0.2 if fraction is None else fraction
    if not 0.0 < fraction < 1.0:
        raise ValueError(
            problem(
                "fraction is the share of each series' steps held out",
                "0 < fraction < 1",
                repr(fraction),
            )
        )
    return np.maximum(1, np.floor(fraction * lengths + 0.5).astype(np.int64))


def _slice(
    data: SequenceSet, positions: np.ndarray, begin: np.ndarray, end: np.ndarray
) -> SequenceSet:
    """Steps ``begin[i]:end[i]`` of the series at ``positions[i]``."""
    from .sequence_set import SequenceSet, _gather_steps

    lengths = (end - begin).astype(np.int64)
    steps = _gather_steps(data.offsets[positions] + begin, lengths)
    target = data.target
    if target is not None:
        target = target[positions] if data.target_level == "series" else target[steps]
    return SequenceSet(
        data.values[steps],
        np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        ids=data.ids[positions],
        times=data.times[steps],
        observed=None if data.observed is None else data.observed[steps],
        feature_names=data.feature_names,
        static=None if data.static is None else data.static[positions],
        static_names=data.static_names,
        target=target,
        target_level=data.target_level,
        target_names=data.target_names,
        meta=data.meta,
    )

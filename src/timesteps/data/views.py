"""Task views: which rows of a SequenceSet a model learns from, and their target.

A view copies nothing: it holds the SequenceSet, the series positions it uses
(``rows``) and says where the target comes from.

| view                 | task                               | ``y`` of a batch    |
|----------------------|------------------------------------|---------------------|
| ``SeriesTargetView``   | classification, regression        | ``(B,)``/``(B, K)`` |
| ``StepTargetView``     | a label per step (many-to-many)    | ``(B, T[, K])``     |
| ``ReconstructionView`` | autoencoder: the input is the goal | ``x`` itself        |
| ``InputView``          | prediction: inputs only            | ``None``            |

Forecasting windows are :class:`timesteps.data.windows.Windows`.

Targets become ``int64`` when they are integer or boolean (class codes) and
``float32`` when they are floats; strings are refused: models encode class names
to ints before they make batches.

>>> import numpy as np
>>> from timesteps.data.sequence_set import SequenceSet
>>> data = SequenceSet(np.zeros((7, 1)), [0, 3, 7], target=np.array([0, 1]))
>>> view = SeriesTargetView(data)
>>> len(view), view.lengths.tolist(), view.targets().dtype
(2, [3, 4], dtype('int64'))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np

from .._errors import problem
from .sequence_set import SequenceSet

if TYPE_CHECKING:  # pragma: no cover
    from .batches import Batches

YLevel = Literal["series", "step", "input"]
_FIX_NO_TARGET = "pass target= to from_long/from_wide or y= to from_arrays"


class SequenceView:
    """Rows (series positions) of a SequenceSet for one task; the base of the
    views below. ``rows=None`` takes every series in order."""

    y_level: ClassVar[YLevel | None] = None

    def __init__(
        self, data: SequenceSet, rows: np.ndarray | Sequence[int] | None = None
    ) -> None:
        if not isinstance(data, SequenceSet):
            raise TypeError(
                problem(
                    f"{type(self).__name__} needs a SequenceSet",
                    "a timesteps.SequenceSet",
                    type(data).__name__,
                    "build one with SequenceSet.from_long, from_wide or from_arrays",
                )
            )
        self.data = data
        self.rows = _check_rows(data, rows)
        self._check_target()

    def _check_target(self) -> None:
        """Views that need a target check for it here."""

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def lengths(self) -> np.ndarray:
        """``(B,)`` int64: the length ``T_i`` of each row."""
        return self.data.lengths[self.rows]

    def targets(self) -> np.ndarray | None:
        """The target as batches use it: per row ``(B,)``/``(B, K)`` for
        ``y_level == "series"``, per step of ``data.values`` ``(N,)``/``(N, K)``
        for ``"step"``, None otherwise."""
        return None

    def to_batches(self, **options: Any) -> Batches:
        """Length-bucketed batches of this view; ``options`` go to
        :class:`~timesteps.data.batches.Batches` (batch_size, shuffle, ...)."""
        from .batches import Batches

        return Batches(self, **options)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(B={len(self)} rows of {self.data!r})"


class SeriesTargetView(SequenceView):
    """One target per series: classification (int class codes) or regression
    (floats). ``y`` of a batch is ``(B,)`` or ``(B, K)``.

    >>> import numpy as np
    >>> from timesteps.data.sequence_set import SequenceSet
    >>> data = SequenceSet(np.zeros((5, 1)), [0, 2, 5], target=np.array([0.5, 2.0]))
    >>> SeriesTargetView(data, rows=[1]).targets().tolist()
    [2.0]
    """

    y_level = "series"

    def _check_target(self) -> None:
        _require_target(self.data, "series", "classification or regression")

    def targets(self) -> np.ndarray:
        target = _require_target(self.data, "series", "classification or regression")
        return _numeric_target(target[self.rows], "series")


class StepTargetView(SequenceView):
    """A target at every step (labelling, many-to-many). ``y`` of a batch is
    ``(B, T)`` or ``(B, T, K)``, padded like ``x``.

    >>> import numpy as np
    >>> from timesteps.data.sequence_set import SequenceSet
    >>> data = SequenceSet(np.zeros((5, 1)), [0, 2, 5], target=np.arange(5),
    ...                    target_level="step")
    >>> StepTargetView(data).targets().tolist()
    [0, 1, 2, 3, 4]
    """

    y_level = "step"

    def _check_target(self) -> None:
        _require_target(self.data, "step", "labelling every step")

    def targets(self) -> np.ndarray:
        target = _require_target(self.data, "step", "labelling every step")
        return _numeric_target(target, "step")


class ReconstructionView(SequenceView):
    """The sequence is its own target (sequence autoencoders): ``y`` of a batch
    is the same tensor as ``x``. Needs no target."""

    y_level = "input"


class InputView(SequenceView):
    """Inputs only, ``y`` is None: for ``predict`` on data without a target."""


def _check_rows(
    data: SequenceSet, rows: np.ndarray | Sequence[int] | None
) -> np.ndarray:
    if rows is None:
        return np.arange(len(data), dtype=np.int64)
    index = np.asarray(rows)
    if index.ndim != 1 or not (
        np.issubdtype(index.dtype, np.integer) or index.size == 0
    ):
        raise TypeError(
            problem(
                "rows must be series positions",
                "a 1-D array of ints",
                f"{index.dtype} array of shape {index.shape}",
            )
        )
    index = index.astype(np.int64)
    bad = index[(index < 0) | (index >= len(data))]
    if len(bad):
        raise ValueError(
            problem(
                "rows out of range",
                f"series positions 0 <= row < {len(data)} (samples axis B)",
                f"{bad[:5].tolist()}",
            )
        )
    return index


def _require_target(data: SequenceSet, level: str, task: str) -> np.ndarray:
    """``data.target`` if it is given per ``level``, else a ValueError."""
    if data.target is not None and data.target_level == level:
        return data.target
    other = {"series": "step", "step": "series"}[level]
    if data.target is None:
        received, fix = "a SequenceSet with no target", _FIX_NO_TARGET
    else:
        view = "StepTargetView" if other == "step" else "SeriesTargetView"
        received = f"a target per {other}"
        fix = f"use {view} for a target per {other}, or give one per {level}"
    raise ValueError(
        problem(
            f"{task} needs a target per {level}",
            f"a SequenceSet with a target per {level}",
            received,
            fix,
        )
    )


def _numeric_target(target: np.ndarray, level: str) -> np.ndarray:
    """Class codes to int64, values to float32; strings and NaN are refused."""
    if target.dtype == bool or np.issubdtype(target.dtype, np.integer):
        return target.astype(np.int64)
    if np.issubdtype(target.dtype, np.floating):
        values = target.astype(np.float32)
        missing = int(np.isnan(values).sum())
        if missing:
            raise ValueError(
                problem(
                    f"the target per {level} has missing values",
                    "no NaN in the target",
                    f"{missing} NaN",
                    "drop those series/steps or fill them before making batches",
                )
            )
        return values
    sample = target.reshape(-1)[:3].tolist()
    raise TypeError(
        problem(
            f"the target per {level} must be numbers for batches",
            "int class codes or float values",
            f"dtype {target.dtype} (e.g. {sample})",
            "encode class names to ints first (the models do this: "
            "np.unique(target, return_inverse=True))",
        )
    )

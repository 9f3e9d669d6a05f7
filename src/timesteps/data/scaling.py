"""Scaling features: fitted on the training part only, inverted on model outputs.

``Scaler(method="standard")`` maps a value ``x`` to ``(x - offset) / scale`` with
the mean and standard deviation (``ddof=0``) as offset and scale;
``method="minmax"`` uses the minimum and ``max - min``. Statistics use only
observed values (the observed mask says which); unobserved values stay NaN, or,
if they were filled, are scaled like the rest, and the mask is kept. A constant
feature has a spread of 0: its scale is set to 1, so it becomes 0 (no NaN, no
inf). Targets are not scaled.

Two ways to choose the statistics:

- ``per="feature"``: one offset and scale per feature over every training step
  of every series, learned by :meth:`Scaler.fit`.
- ``per="series"``: each series is scaled by its own statistics, computed **from
  the series itself at transform time**. We chose this over storing statistics
  per id at fit time because forecasting is usually asked for series (or later
  stretches of series) the scaler was not fitted on, and the level of a series is
  what per-series scaling is meant to remove. To keep the future out of its own
  scaling, a part made by ``split_by_time(..., keep_context=L)`` is scaled by the
  statistics of its first ``L`` (context) steps only. The statistics of the last
  transformed data are kept, so :meth:`Scaler.inverse_transform_values` can take
  forecasts back to original units by series position.

>>> import numpy as np, timesteps as ts
>>> data = ts.SequenceSet.from_arrays(np.array([[[1.0], [3.0]], [[5.0], [7.0]]]))
>>> scaler = Scaler().fit(data)
>>> scaler.offset_.tolist(), scaler.scale_.tolist()
([4.0], [2.23606797749979])
"""

from __future__ import annotations

import logging
import warnings
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .._errors import near_matches, problem

if TYPE_CHECKING:
    from .sequence_set import SequenceSet

logger = logging.getLogger(__name__)

METHODS = ("standard", "minmax")
PER = ("feature", "series")
HELD_OUT_PARTS = ("validation", "test")


class Scaler:
    """Standard or min-max scaling of a SequenceSet's features.

    Args:
        method: ``"standard"`` (mean, std) or ``"minmax"`` (min, max - min).
        per: ``"feature"`` (statistics learned on the training data) or
            ``"series"`` (each series by its own statistics, see the module).
        features: names of the features to scale; None scales every feature
            except the ``f__observed`` indicators added by ``time_features=True``.

    >>> import numpy as np, timesteps as ts
    >>> data = ts.SequenceSet.from_arrays(np.arange(12.0).reshape(2, 3, 2))
    >>> train, validation = data.split(fraction=0.5)
    >>> scaler = Scaler().fit(train)
    >>> scaled = scaler.transform(validation)
    >>> back = scaler.inverse_transform_values(scaled.series(0), ["f0", "f1"])
    >>> back.round(4).tolist()   # (T, K) in original units
    [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]
    """

    def __init__(
        self,
        method: str = "standard",
        per: str = "feature",
        features: Sequence[str] | None = None,
    ) -> None:
        for name, value, allowed in (("method", method, METHODS), ("per", per, PER)):
            if value not in allowed:
                raise ValueError(
                    problem(
                        f"unknown scaling {name}",
                        " or ".join(repr(a) for a in allowed),
                        repr(value),
                        near_matches(str(value), allowed),
                    )
                )
        self.method = method
        self.per = per
        self.features = None if features is None else [str(f) for f in features]
        self.feature_names_: list[str] | None = None
        self.scaled_: list[str] = []
        self.offset_: np.ndarray | None = None  # (F,) per feature
        self.scale_: np.ndarray | None = None  # (F,) per feature
        self.series_offset_: np.ndarray | None = None  # (B, F) last transform
        self.series_scale_: np.ndarray | None = None  # (B, F) last transform
        self.series_ids_: np.ndarray | None = None  # (B,) last transform
        self._fitted_on: weakref.ref[Any] | None = None

    # -- fitting ----------------------------------------------------------------

    def fit(self, data: SequenceSet) -> Scaler:
        """Learn the statistics from ``data`` (the training part).

        ``per="feature"``: one offset and scale per feature over all observed
        values of all series. ``per="series"``: records the features only; the
        statistics come from each series when it is transformed.
        """
        self.feature_names_ = list(data.feature_names)
        self.scaled_ = self._choose(data)
        self._fitted_on = weakref.ref(data)
        if self.per == "series":
            F = len(self.feature_names_)
            self.offset_, self.scale_ = np.zeros(F), np.ones(F)
            return self
        observed = _observed(data)
        columns = [self.feature_names_.index(n) for n in self.scaled_]
        offset, scale = np.zeros(data.n_features), np.ones(data.n_features)
        never = []
        for j in columns:
            column = data.values[observed[:, j], j].astype(np.float64)
            if len(column) == 0:
                never.append(data.feature_names[j])
                continue
            offset[j], scale[j] = _statistics(column, self.method)
        if never:
            warnings.warn(
                f"features {never} are never observed in the {len(data)} training "
                "series; they are left unscaled (offset 0, scale 1)",
                stacklevel=2,
            )
        self.offset_, self.scale_ = offset, scale
        return self

    def _choose(self, data: SequenceSet) -> list[str]:
        """The names of the features to scale."""
        if self.features is None:
            indicators = set((data.meta.get("time_features") or {}).get("observed", []))
            return [n for n in data.feature_names if n not in indicators]
        for name in self.features:
            if name not in data.feature_names:
                raise ValueError(
                    problem(
                        f"feature {name!r} to scale is not in the data",
                        "one of the data's feature names",
                        repr(name),
                        near_matches(name, data.feature_names),
                    )
                )
        return list(self.features)

    # -- transforming -----------------------------------------------------------

    def transform(self, data: SequenceSet) -> SequenceSet:
        """``(x - offset) / scale`` on the chosen features; observed mask kept.

        Warns (``per="feature"``) when ``data`` is the very SequenceSet the
        scaler was fitted on and that one is a validation or test part."""
        self._check_fitted(data)
        part = data.meta.get("part")
        if (
            self.per == "feature"
            and self._fitted_on is not None
            and self._fitted_on() is data
            and part in HELD_OUT_PARTS
        ):
            warnings.warn(
                f"scaler fitted on the {part} part and now transforming it: its "
                f"statistics come from the {part} series, which leaks them into "
                "training; fit on the training part (meta['part'] == 'train') "
                "instead",
                stacklevel=2,
            )
        offset, scale = self._step_statistics(data)  # (N, F) or (F,)
        values = ((data.values - offset) / scale).astype(np.float32)
        meta = dict(data.meta, scaler=self.to_dict())
        return data.replace(values=values, meta=meta)

    def fit_transform(self, data: SequenceSet) -> SequenceSet:
        """:meth:`fit` then :meth:`transform` on the same (training) data."""
        return self.fit(data).transform(data)

    def inverse_transform(self, data: SequenceSet) -> SequenceSet:
        """Undo :meth:`transform` on a SequenceSet (per series: with the
        statistics of the series when they were transformed, matched by id)."""
        self._check_fitted(data)
        if self.per == "series":
            offsets, scales, _ = self._series_stats()
            positions = self._series_positions(data.ids)
            offset = np.repeat(offsets[positions], data.lengths, axis=0)
            scale = np.repeat(scales[positions], data.lengths, axis=0)
        else:
            offset, scale = self._feature_stats()
        values = (data.values * scale + offset).astype(np.float32)
        return data.replace(values=values)

    def inverse_transform_values(
        self,
        array: Any,
        features: Sequence[str] | Sequence[int],
        positions: Sequence[int] | np.ndarray | None = None,
    ) -> np.ndarray:
        """Take model outputs (forecasts) back to original units.

        Args:
            array: ``(..., K)`` values of the ``K`` features named by ``features``
                (names or indices into the fitted feature names), e.g. a forecast
                ``(B, h, K)``. Torch tensors are accepted.
            features: which feature each of the ``K`` last-axis columns is.
            positions: ``per="series"`` only: ``(B,)`` positions, in the last
                transformed SequenceSet, of the series on the first axis of
                ``array`` (default: all of them, in order).

        Returns a float64 array of the same shape.

        >>> import numpy as np, timesteps as ts
        >>> data = ts.SequenceSet.from_arrays(np.array([[[0.0], [2.0]]]))
        >>> scaler = Scaler().fit(data)
        >>> scaler.inverse_transform_values(np.array([[-1.0, 1.0]])[..., None], [0])
        array([[[0.],
                [2.]]])
        """
        if self.feature_names_ is None:
            raise ValueError(
                problem(
                    "the scaler is not fitted", "fit(data) first", "an unfitted Scaler"
                )
            )
        if hasattr(array, "detach"):
            array = array.detach().cpu().numpy()
        array = np.asarray(array, dtype=np.float64)
        columns = [self._column(f) for f in features]
        if array.ndim == 0 or array.shape[-1] != len(columns):
            raise ValueError(
                problem(
                    "the last axis of array must hold the named features",
                    f"{len(columns)} values on the last axis (K)",
                    f"shape {array.shape}",
                    "pass one feature name per column of the last axis",
                )
            )
        if self.per == "feature":
            offset, scale = self._feature_stats()
            return array * scale[columns] + offset[columns]
        offsets, scales, _ = self._series_stats()
        B = len(offsets)
        rows = np.arange(B) if positions is None else np.asarray(positions, np.int64)
        if array.ndim < 2 or array.shape[0] != len(rows):
            raise ValueError(
                problem(
                    "array's first axis must be the series given by positions",
                    f"{len(rows)} series on axis 0 (samples axis B)",
                    f"shape {array.shape}",
                    "pass positions= for the series in the array",
                )
            )
        shape = (len(rows),) + (1,) * (array.ndim - 2) + (len(columns),)
        scale = scales[rows][:, columns].reshape(shape)
        offset = offsets[rows][:, columns].reshape(shape)
        return array * scale + offset

    # -- saving -----------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able description, for saving with a model.

        >>> import json
        >>> json.dumps(Scaler(method="minmax").to_dict())[:40]
        '{"method": "minmax", "per": "feature", "'
        """
        return {
            "method": self.method,
            "per": self.per,
            "features": self.features,
            "feature_names": self.feature_names_,
            "scaled": list(self.scaled_),
            "offset": None if self.offset_ is None else self.offset_.tolist(),
            "scale": None if self.scale_ is None else self.scale_.tolist(),
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> Scaler:
        """The scaler that :meth:`to_dict` described."""
        scaler = cls(state["method"], state["per"], state.get("features"))
        scaler.feature_names_ = state.get("feature_names")
        scaler.scaled_ = list(state.get("scaled") or [])
        if state.get("offset") is not None:
            scaler.offset_ = np.asarray(state["offset"], dtype=np.float64)
            scaler.scale_ = np.asarray(state["scale"], dtype=np.float64)
        return scaler

    # -- helpers ----------------------------------------------------------------

    def _check_fitted(self, data: SequenceSet) -> None:
        if self.feature_names_ is None:
            raise ValueError(
                problem(
                    "the scaler is not fitted",
                    "scaler.fit(train) before transform",
                    "an unfitted Scaler",
                    "call fit on the training part first",
                )
            )
        if list(data.feature_names) != self.feature_names_:
            raise ValueError(
                problem(
                    "the data's features differ from those the scaler was fitted on",
                    f"features {self.feature_names_}",
                    f"features {data.feature_names}",
                    "transform data built the same way as the training part",
                )
            )

    def _column(self, feature: str | int) -> int:
        names = self.feature_names_ or []
        if isinstance(feature, (int, np.integer)):
            if not 0 <= int(feature) < len(names):
                raise ValueError(
                    problem(
                        "feature index out of range",
                        f"0 <= index < {len(names)} (features axis F)",
                        str(feature),
                    )
                )
            return int(feature)
        if feature not in names:
            raise ValueError(
                problem(
                    f"feature {feature!r} is not one the scaler was fitted on",
                    "one of the fitted feature names",
                    repr(feature),
                    near_matches(str(feature), names),
                )
            )
        return names.index(feature)

    def _step_statistics(self, data: SequenceSet) -> tuple[np.ndarray, np.ndarray]:
        """Offset and scale to apply: ``(F,)`` per feature, ``(N, F)`` per series."""
        if self.per == "feature":
            offset, scale = self._feature_stats()
            return offset.astype(np.float32), scale.astype(np.float32)
        offset, scale = _series_statistics(data, self.method)  # (B, F)
        unscaled = [
            j for j, n in enumerate(data.feature_names) if n not in self.scaled_
        ]
        offset[:, unscaled], scale[:, unscaled] = 0.0, 1.0
        self.series_offset_, self.series_scale_ = offset, scale
        self.series_ids_ = data.ids.copy()
        return (
            np.repeat(offset, data.lengths, axis=0).astype(np.float32),
            np.repeat(scale, data.lengths, axis=0).astype(np.float32),
        )

    def _feature_stats(self) -> tuple[np.ndarray, np.ndarray]:
        """``(F,)`` offsets and scales learned by :meth:`fit`."""
        if self.offset_ is None or self.scale_ is None:
            raise ValueError(
                problem(
                    "the scaler is not fitted",
                    "scaler.fit(train) first",
                    "an unfitted Scaler",
                    "call fit on the training part",
                )
            )
        return self.offset_, self.scale_

    def _series_stats(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(B, F)`` offsets and scales and ``(B,)`` ids of the last transform."""
        if (
            self.series_offset_ is None
            or self.series_scale_ is None
            or self.series_ids_ is None
        ):
            raise ValueError(
                problem(
                    "per-series statistics exist only after transform()",
                    "a transformed SequenceSet",
                    "none transformed yet",
                    "call scaler.transform(data) on the series first",
                )
            )
        return self.series_offset_, self.series_scale_, self.series_ids_

    def _series_positions(self, ids: np.ndarray) -> np.ndarray:
        """Positions in the last transformed data of the series with ``ids``."""
        _, _, known = self._series_stats()
        index = {v: i for i, v in enumerate(known.tolist())}
        missing = [v for v in ids.tolist() if v not in index]
        if missing:
            raise ValueError(
                problem(
                    "series not in the last transformed data",
                    "ids the scaler transformed last",
                    f"ids {missing[:5]}",
                    "transform those series first",
                )
            )
        return np.array([index[v] for v in ids.tolist()], dtype=np.int64)

    def __repr__(self) -> str:
        fitted = "fitted" if self.feature_names_ is not None else "not fitted"
        return f"Scaler(method={self.method!r}, per={self.per!r}, {fitted})"


def _observed(data: SequenceSet) -> np.ndarray:
    mask = ~np.isnan(data.values)
    return mask if data.observed is None else mask & data.observed


def _statistics(column: np.ndarray, method: str) -> tuple[float, float]:
    """Offset and scale of one feature's observed values; a spread of 0 -> 1."""
    if method == "standard":
        offset, spread = float(column.mean()), float(column.std())
    else:
        offset, spread = float(column.min()), float(column.max() - column.min())
    return offset, spread if spread > 0 else 1.0


def _series_statistics(data: SequenceSet, method: str) -> tuple[np.ndarray, np.ndarray]:
    """``(B, F)`` offsets and scales, each series from its own observed values
    (only its first ``meta["context_steps"]`` steps when that is set)."""
    use = _observed(data)
    context = int(data.meta.get("context_steps") or 0)
    if context:
        starts = np.repeat(data.offsets[:-1], data.lengths)
        use &= (np.arange(data.n_steps) - starts < context)[:, None]
    x = data.values.astype(np.float64)
    starts = data.offsets[:-1]
    counts = np.add.reduceat(use, starts, axis=0)
    seen = counts > 0
    if method == "standard":
        sums = np.add.reduceat(np.where(use, x, 0.0), starts, axis=0)
        mean = np.divide(sums, counts, out=np.zeros(sums.shape), where=seen)
        deviation = np.where(use, x - np.repeat(mean, data.lengths, axis=0), 0.0)
        squares = np.add.reduceat(deviation**2, starts, axis=0)
        spread = np.sqrt(
            np.divide(squares, counts, out=np.zeros(sums.shape), where=seen)
        )
        offset = mean
    else:
        low = np.minimum.reduceat(np.where(use, x, np.inf), starts, axis=0)
        high = np.maximum.reduceat(np.where(use, x, -np.inf), starts, axis=0)
        offset = np.where(seen, low, 0.0)
        spread = np.where(seen, high - low, 0.0)
    scale = np.where(spread > 0, spread, 1.0)
    return offset, scale

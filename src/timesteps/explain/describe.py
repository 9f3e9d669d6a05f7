"""Describe a dataset before a model sees it: how many series, how long, what is
missing, how the time stamps are spaced, what the targets look like, and what
share of a batch padding would cost.

>>> import numpy as np, timesteps as ts
>>> data = ts.SequenceSet.from_arrays([np.zeros((3, 1)), np.zeros((5, 1))])
>>> ts.describe(data, batch_size=2).shape
'B=2 series, T=3..5 timesteps, F=1 features'
"""

from __future__ import annotations

import inspect
import itertools
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._errors import problem
from ._render import Rendered

if TYPE_CHECKING:
    from ..data.sequence_set import SequenceSet

MAX_CLASSES = 20  # a target with at most this many integer values is a class label
HISTOGRAM_BINS = 10


@dataclass
class LengthStats:
    """The distribution of the series lengths ``T_i``."""

    min: int
    median: float
    mean: float
    max: int
    bin_edges: list[int]  # bin k: bin_edges[k] <= T_i < bin_edges[k + 1]
    counts: list[int]  # series per bin


@dataclass
class FeatureStats:
    """One feature: its share of missing values over all real steps."""

    name: str
    missing_share: float
    missing: int


@dataclass
class Sampling:
    """How the time stamps are spaced.

    ``regular`` is True when every step of every series is the same distance
    ``step`` from the previous one. ``irregular_within`` counts series whose own
    steps differ; ``steps_between`` lists the distinct steps of the regular
    series when they differ from series to series.
    """

    regular: bool
    step: str | None
    irregular_within: int
    steps_between: list[str]


@dataclass
class TargetStats:
    """One target column: class counts for a label, mean and std otherwise."""

    name: str
    level: str  # "series" or "step"
    kind: str  # "classes" or "values"
    classes: dict[str, int] = field(default_factory=dict)
    mean: float | None = None
    std: float | None = None
    missing: int = 0


@dataclass
class Padding:
    """Share of processed steps that are padding, for a planned batch size.

    ``random``: expected share when batches are drawn at random from all series
    and padded to their longest series (``Batches(..., bucket=False)``).
    ``bucketed``: expected share with the data layer's length buckets
    (``Batches(...)``, shuffled within buckets). Both are exact expectations
    over the random batch composition, computed as ``Batches.padding_share``
    does.
    """

    batch_size: int
    random: float
    bucketed: float
    method: str


@dataclass
class DataSummary(Rendered):
    """What :func:`describe` found; ``str()`` is a plain report, ``to_dict()`` data."""

    n_series: int
    n_features: int
    n_steps: int
    lengths: LengthStats
    features: list[FeatureStats]
    sampling: Sampling
    targets: list[TargetStats]
    padding: Padding | None
    n_static: int = 0

    @property
    def shape(self) -> str:
        """The dataset in the axis vocabulary: ``B=4000 series, T=3..3 timesteps,
        F=1 features``."""
        return (
            f"B={self.n_series} series, T={self.lengths.min}..{self.lengths.max} "
            f"timesteps, F={self.n_features} features"
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain data (numbers, strings, lists) for tools and JSON."""
        out = asdict(self)
        out["shape"] = self.shape
        return out

    def to_json(self, **kwargs: Any) -> str:
        """``to_dict()`` as JSON text."""
        return json.dumps(self.to_dict(), **kwargs)

    def histogram_lines(self, width: int = 30) -> list[str]:
        """The length histogram as text bars, one line per bin."""
        counts = self.lengths.counts
        edges = self.lengths.bin_edges
        top = max(counts) if counts else 0
        spans = []
        for i in range(len(counts)):
            low, high = edges[i], edges[i + 1]
            single = high - low == 1
            spans.append(str(low) if single else f"{low}..{high - 1}")
        pad = max((len(span) for span in spans), default=0)
        lines = []
        for span, count in zip(spans, counts, strict=True):
            bar = "█" * (round(width * count / top) if top else 0)
            lines.append(f"T={span:<{pad}} {bar} {count}".rstrip())
        return lines

    def plot(self, path: str | Path) -> Path:
        """Write the length histogram as a PNG (matplotlib, no display needed)."""
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        path = Path(path)
        fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
        edges = self.lengths.bin_edges
        ax.bar(
            edges[:-1],
            self.lengths.counts,
            width=np.diff(edges),
            align="edge",
            edgecolor="white",
            color="#4878a8",
        )
        ax.set_xlabel("T_i, timesteps per series")
        ax.set_ylabel("series")
        ax.set_title(self.shape, fontsize=10)
        fig.tight_layout()
        fig.savefig(path, format="png")
        plt.close(fig)
        return path

    # -- rendering --------------------------------------------------------------

    def _facts(self) -> list[tuple[str, str]]:
        stats = self.lengths
        facts = [
            ("shape", self.shape),
            ("real steps", f"N={self.n_steps}"),
            (
                "lengths",
                f"min {stats.min}, median {_num(stats.median)}, "
                f"mean {_num(stats.mean)}, max {stats.max}",
            ),
            ("sampling", self._sampling_text()),
        ]
        if self.n_static:
            facts.append(("static", f"S={self.n_static} per-series features"))
        if self.padding is not None:
            pad = self.padding
            facts.append(
                (
                    f"padding at batch {pad.batch_size}",
                    f"{pad.random:.1%} of steps with random batches, "
                    f"{pad.bucketed:.1%} with length buckets",
                )
            )
        return facts

    def _sampling_text(self) -> str:
        s = self.sampling
        if s.regular:
            return f"regular, every step {s.step}"
        parts = []
        if s.irregular_within:
            parts.append(
                f"{s.irregular_within} of {self.n_series} series have "
                "steps of different sizes"
            )
        if s.steps_between:
            parts.append(
                "the step differs between series: " + ", ".join(s.steps_between)
            )
        return "irregular: " + "; ".join(parts)

    def _feature_lines(self) -> list[str]:
        return [
            f"{f.name}: {f.missing_share:.1%} missing ({f.missing} values)"
            for f in self.features
        ]

    def _target_lines(self) -> list[str]:
        lines = []
        for t in self.targets:
            head = f"{t.name} (per {t.level})"
            if t.kind == "classes":
                total = sum(t.classes.values()) or 1
                body = ", ".join(
                    f"{k}: {v} ({v / total:.1%})" for k, v in t.classes.items()
                )
            else:
                body = f"mean {_num(t.mean)}, std {_num(t.std)}"
            if t.missing:
                body += f", {t.missing} missing"
            lines.append(f"{head}: {body}")
        return lines

    def _plain(self) -> str:
        lines = ["DataSummary"]
        lines += [f"  {k}: {v}" for k, v in self._facts()]
        lines.append("  length histogram:")
        lines += ["    " + line for line in self.histogram_lines()]
        lines.append("  features:")
        lines += ["    " + line for line in self._feature_lines()]
        if self.targets:
            lines.append("  targets:")
            lines += ["    " + line for line in self._target_lines()]
        return "\n".join(lines)

    def _rich_parts(self) -> list[Any]:
        from rich.table import Table
        from rich.text import Text

        facts = Table(title="DataSummary", show_header=False, title_justify="left")
        facts.add_column(style="bold cyan")
        facts.add_column()
        for key, value in self._facts():
            facts.add_row(key, value)
        facts.add_row("length histogram", "\n".join(self.histogram_lines()))
        facts.add_row("features", "\n".join(self._feature_lines()))
        if self.targets:
            facts.add_row("targets", "\n".join(self._target_lines()))
        return [facts, Text("")]


def describe(data: SequenceSet, batch_size: int = 32) -> DataSummary:
    """Summarise a SequenceSet: sizes, lengths, missing values, sampling, targets
    and the share of padding a batch of ``batch_size`` series would cost.

    Args:
        data: the series, ``B`` of them, each ``(T_i, F)``.
        batch_size: the planned batch size (series per batch) for the padding
            estimate.

    Returns:
        A :class:`DataSummary`; ``str()`` for text, ``to_dict()`` for data,
        ``.plot(path)`` for a PNG histogram of the lengths.

    >>> import numpy as np, timesteps as ts
    >>> data = ts.SequenceSet.from_arrays([np.zeros((2, 1)), np.zeros((4, 1))])
    >>> summary = ts.describe(data, batch_size=2)
    >>> summary.lengths.min, summary.lengths.max, summary.padding.random
    (2, 4, 0.25)
    """
    from ..data.sequence_set import SequenceSet

    if not isinstance(data, SequenceSet):
        raise TypeError(
            problem(
                "describe() reads a SequenceSet",
                "a timesteps.SequenceSet",
                type(data).__name__,
                "build one with ts.SequenceSet.from_arrays(...), from_long(...) "
                "or from_wide(...)",
            )
        )
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, (int, np.integer))
        or batch_size < 1
    ):
        raise ValueError(
            problem(
                "batch_size (series per batch)",
                "an integer >= 1",
                repr(batch_size),
                "pass e.g. batch_size=32",
            )
        )
    if len(data) == 0:
        raise ValueError(
            problem(
                "describe() needs series",
                "at least one series (B >= 1)",
                "an empty SequenceSet (B=0)",
            )
        )
    lengths = data.lengths
    return DataSummary(
        n_series=len(data),
        n_features=data.n_features,
        n_steps=data.n_steps,
        lengths=_length_stats(lengths),
        features=_feature_stats(data),
        sampling=_sampling(data.times, data.offsets),
        targets=_target_stats(data),
        padding=_padding(data, int(batch_size)),
        n_static=0 if data.static is None else int(data.static.shape[1]),
    )


# -- lengths --------------------------------------------------------------------


def _length_stats(lengths: np.ndarray) -> LengthStats:
    """Length statistics and a histogram of at most HISTOGRAM_BINS bins of whole
    lengths: bin k holds ``edges[k] <= T_i < edges[k + 1]``."""
    low, high = int(lengths.min()), int(lengths.max())
    width = math.ceil((high - low + 1) / HISTOGRAM_BINS)
    counts = np.bincount((lengths - low) // width)
    edges = low + width * np.arange(len(counts) + 1)
    return LengthStats(
        min=low,
        median=float(np.median(lengths)),
        mean=float(lengths.mean()),
        max=high,
        bin_edges=[int(e) for e in edges],
        counts=counts.tolist(),
    )


# -- features -------------------------------------------------------------------


def _feature_stats(data: SequenceSet) -> list[FeatureStats]:
    if data.observed is not None:
        missing = (~data.observed).sum(axis=0)
    else:
        missing = np.isnan(data.values).sum(axis=0)
    n = max(data.n_steps, 1)
    return [
        FeatureStats(name, float(m) / n, int(m))
        for name, m in zip(data.feature_names, missing.tolist(), strict=True)
    ]


# -- sampling -------------------------------------------------------------------


def _sampling(times: np.ndarray, offsets: np.ndarray) -> Sampling:
    """Compare the steps between consecutive time stamps within each series."""
    is_time = np.issubdtype(times.dtype, np.datetime64)
    raw = times.astype("datetime64[ns]").astype(np.int64) if is_time else times
    diffs = np.diff(raw.astype(np.float64) if raw.dtype.kind == "f" else raw)
    # drop the differences that cross from one series into the next
    keep = np.ones(len(diffs), dtype=bool)
    ends = offsets[1:-1] - 1
    keep[ends[(ends >= 0) & (ends < len(diffs))]] = False
    series_of = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))[:-1]
    diffs, series_of = diffs[keep], series_of[keep]
    if len(diffs) == 0:
        return Sampling(True, None, 0, [])
    first = np.full(len(offsets) - 1, np.nan)
    lo = np.full(len(offsets) - 1, np.inf)
    hi = np.full(len(offsets) - 1, -np.inf)
    np.minimum.at(lo, series_of, diffs.astype(np.float64))
    np.maximum.at(hi, series_of, diffs.astype(np.float64))
    has = np.isfinite(lo)
    irregular = int(((hi > lo) & has).sum())
    first[has] = lo[has]
    regular_steps = np.unique(first[has & (hi == lo)])
    steps = [_step_text(s, is_time, times.dtype) for s in regular_steps.tolist()]
    if irregular == 0 and len(steps) == 1:
        return Sampling(True, steps[0], 0, [])
    between = steps if len(steps) > 1 else []
    return Sampling(False, None, irregular, between[:10])


def _step_text(step: float, is_time: bool, dtype: np.dtype) -> str:
    if is_time:
        import pandas as pd

        return str(pd.Timedelta(int(step), "ns"))
    return _num(step)


# -- targets --------------------------------------------------------------------


def _target_stats(data: SequenceSet) -> list[TargetStats]:
    if data.target is None:
        return []
    target = np.asarray(data.target)
    columns = target.reshape(len(target), -1) if target.ndim > 1 else target[:, None]
    names = data.target_names or (
        ["target"]
        if columns.shape[1] == 1
        else [f"target{k}" for k in range(columns.shape[1])]
    )
    level = data.target_level or "series"
    return [
        _one_target(names[k], level, columns[:, k]) for k in range(columns.shape[1])
    ]


def _one_target(name: str, level: str, column: np.ndarray) -> TargetStats:
    if column.dtype.kind in "OUSb":
        labels = column.astype(str)
        values, counts = np.unique(labels, return_counts=True)
        return TargetStats(
            name,
            level,
            "classes",
            dict(zip(values.tolist(), counts.tolist(), strict=True)),
        )
    numbers = column.astype(np.float64)
    missing = int(np.isnan(numbers).sum())
    numbers = numbers[~np.isnan(numbers)]
    unique = np.unique(numbers)
    if len(unique) <= MAX_CLASSES and np.all(unique == np.round(unique)):
        sizes = [int((numbers == u).sum()) for u in unique]
        classes = {_num(u): c for u, c in zip(unique.tolist(), sizes, strict=True)}
        return TargetStats(name, level, "classes", classes, missing=missing)
    return TargetStats(
        name,
        level,
        "values",
        mean=float(numbers.mean()),
        std=float(numbers.std()),
        missing=missing,
    )


# -- padding --------------------------------------------------------------------


def _padding(data: SequenceSet, batch_size: int) -> Padding:
    """The data layer's own padding arithmetic (``data/batches.py``), on the
    lengths alone: no tensor is built, so this also works for data that is too
    big to pad or still has missing values."""
    from ..data import batches as batching

    lengths = np.sort(data.lengths)
    spread = inspect.signature(batching.Batches).parameters["bucket_spread"].default
    random = _share(batching, [lengths], batch_size)
    bounds = batching._bucket_bounds(lengths, batch_size, spread)
    buckets = [lengths[a:b] for a, b in itertools.pairwise(bounds)]
    return Padding(
        batch_size=batch_size,
        random=random,
        bucketed=_share(batching, buckets, batch_size),
        method=f"Batches buckets (bucket_spread={spread})",
    )


def _share(batching: Any, groups: list[np.ndarray], batch_size: int) -> float:
    """Expected padded / processed steps over shuffled batches of ``groups``
    (each sorted ascending), as ``Batches.padding_share`` computes it."""
    real = processed = 0.0
    for lengths in groups:
        full, rest = divmod(len(lengths), batch_size)
        sizes = [batch_size] * full + ([rest] if rest else [])
        group_real, group_processed = batching._expected_steps(lengths, sizes, True)
        real, processed = real + group_real, processed + group_processed
    return 1.0 - real / processed if processed else 0.0


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.4g}"

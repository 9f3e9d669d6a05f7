"""Batches: rows of similar length padded once, sliced per step, true lengths.

A small recurrent model's training time is mostly per-step overhead, and on CPU
every padded step costs as much as a real one (see PERFORMANCE.md). So:

1. **Buckets.** Rows (series or windows) are sorted by length and cut into
   buckets: consecutive runs in length order. Each bucket is **padded once, at
   construction**, into one tensor per field (``x``, ``y``, ``observed``,
   ``static``, ...) on the target device.
2. **An epoch** is, per bucket, a permutation drawn from a ``torch.Generator``
   seeded with ``seed + epoch``, cut into slices of ``batch_size`` rows; then
   the order of all batches is shuffled. A batch is one gather
   ``x[rows, :T_max]`` trimmed to its own longest row: no Python per sample.
3. **Windows** all have length L: a batch of windows is gathered straight from
   the flat ``(N, F)`` values, ``flat[starts[:, None] + arange(L)]``; no window
   is materialised in advance.

How buckets are cut (``bucket_spread``, default 0.1): a bucket takes the next
``batch_size`` rows in length order and keeps taking whole batches of rows while
its longest row is at most 10% longer than its shortest (relative to the
longest). Why this rule rather than a fixed number of rows:

- padding is bounded by it: in a bucket of two or more batches no row is padded
  by more than 10% of the bucket's length, in memory or in compute;
- the shuffle is as wide as the padding allows: rows of equal length form one
  bucket however many there are (4000 series of 3 steps are one
  ``(4000, 3, F)`` tensor and each batch is ``x[perm[i:i + bs]]``), while
  spread-out lengths fall back to sorted batches whose order is shuffled;
- a fixed size (say 8 batches) would be one bucket for 256 series of 100..1000
  steps, i.e. plain random batches with ~65% padding.

Only the last bucket (the longest rows) can hold a partial batch, so an epoch
has at most one batch smaller than ``batch_size``.

>>> import numpy as np
>>> from timesteps.data.sequence_set import SequenceSet
>>> from timesteps.data.views import SeriesTargetView
>>> data = SequenceSet(np.ones((4000 * 3, 1)), np.arange(0, 12001, 3),
...                    target=np.zeros(4000, np.int64))
>>> batches = Batches(SeriesTargetView(data), batch_size=50)
>>> batch = next(iter(batches))
>>> len(batches), tuple(batch.x.shape), batches.padding_share
(80, (50, 3, 1), 0.0)
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import Any, Literal

import numpy as np
import torch

from .._errors import problem
from .views import SequenceView
from .windows import Windows

Pad = Literal["post", "pre"]
Picks = torch.Tensor | slice


@dataclass
class Batch:
    """One batch of rows, padded to its own longest row.

    - ``x``        ``(B, T, F)`` float32, zeros after each row's end (``pad="post"``)
      or before its start (``pad="pre"``)
    - ``lengths``  ``(B,)`` int64, true lengths, on the device of ``x``
    - ``index``    ``(B,)`` int64, positions of the rows in the source: series
      positions in the SequenceSet, or window numbers
    - ``y``        series target ``(B,)``/``(B, K)``; step target ``(B, T)``/
      ``(B, T, K)``; forecast target ``(B, h, K)``; ``x`` itself for
      reconstruction; None when there is none
    - ``observed`` ``(B, T, F)`` bool, False where a value was not recorded (and
      in padding); None when everything was recorded
    - ``static``   ``(B, S)`` float32 per-series features, or None
    - ``future``   ``(B, h, F_known)`` known-future inputs, or None
    - ``pad``      which side holds the padding

    Chunks (``Batches(..., chunk_length=C)``) are batches too: the steps
    ``start .. start + T`` of the same rows, with

    - ``lengths``  each row's real steps within this chunk, 0 for a row whose
      series ended in an earlier chunk
    - ``chunk``    the chunk's number within its batch of rows (None: not a chunk)
    - ``first``, ``last``  whether it is the batch's first / last chunk
    - ``start``    the step of the series at which the chunk begins
    - ``ends``     ``(B,)`` bool, True for rows whose series ends in this chunk

    >>> import torch
    >>> batch = Batch(torch.zeros(2, 3, 1), torch.tensor([3, 1]), torch.arange(2))
    >>> batch.mask.tolist()
    [[True, True, True], [True, False, False]]
    """

    x: torch.Tensor
    lengths: torch.Tensor
    index: torch.Tensor
    y: torch.Tensor | None = None
    observed: torch.Tensor | None = None
    static: torch.Tensor | None = None
    future: torch.Tensor | None = None
    pad: Pad = "post"
    chunk: int | None = None
    first: bool = True
    last: bool = True
    start: int = 0
    ends: torch.Tensor | None = None

    @property
    def mask(self) -> torch.Tensor:
        """``(B, T)`` bool: True at real steps, False at padding."""
        steps = torch.arange(self.x.shape[1], device=self.x.device)
        if self.pad == "pre":
            first = self.x.shape[1] - self.lengths
            return steps[None, :] >= first[:, None]
        return steps[None, :] < self.lengths[:, None]

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def to(self, device: str | torch.device, non_blocking: bool = False) -> Batch:
        """This batch with every tensor on ``device`` (``y is x`` is kept)."""
        moved: dict[str, Any] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, torch.Tensor):
                value = value.to(device, non_blocking=non_blocking)
            moved[field.name] = value
        if self.y is self.x:
            moved["y"] = moved["x"]
        return Batch(**moved)


class Batches:
    """The batches of one epoch of a task view or of forecasting windows.

    Args:
        source: a view (``SeriesTargetView``, ``StepTargetView``,
            ``ReconstructionView``, ``InputView``) or ``Windows``.
        batch_size: rows per batch (B).
        shuffle: draw a new batch composition and order every epoch.
        seed: the permutation of epoch ``e`` comes from ``seed + e``.
        bucket: group rows of similar length (see the module docs); False
            pads each random batch to its own longest row (for comparison).
        pad: ``"post"`` puts padding after each row's end, ``"pre"`` before
            its start; ``lengths`` are the true lengths either way.
        device: where the bucket tensors live and batches are made.
        drop_last: drop the one batch smaller than ``batch_size``.
        bucket_spread: the largest relative length spread within a bucket of
            several batches.
        chunk_length: None, or C: each batch is made as consecutive chunks of
            at most C steps, in time order (truncated backpropagation through
            time: a model carries each row's state from one chunk to the
            next). Only the chunk's steps are gathered, never the whole padded
            batch; ``len()`` counts chunks. Needs ``pad="post"`` and a view of
            whole series (not windows).

    Iterating gives the batches of the current epoch (``set_epoch``); iterating
    twice without ``set_epoch`` gives the same batches, as with torch's
    ``DistributedSampler``. With ``shuffle=False`` (prediction) bucketed rows
    come in length order, shortest first; ``batch.index`` maps each row back
    to its series or window.

    >>> import numpy as np
    >>> from timesteps.data.sequence_set import SequenceSet
    >>> from timesteps.data.views import ReconstructionView
    >>> data = SequenceSet(np.ones((10, 2)), [0, 2, 6, 10])
    >>> batches = Batches(ReconstructionView(data), batch_size=2, shuffle=False)
    >>> [tuple(b.x.shape) for b in batches]   # (B, T, F), trimmed per batch
    [(2, 4, 2), (1, 4, 2)]
    >>> [b.lengths.tolist() for b in batches]
    [[2, 4], [4]]
    >>> chunks = Batches(ReconstructionView(data), batch_size=2, shuffle=False,
    ...                  chunk_length=3)
    >>> [(b.start, b.lengths.tolist()) for b in chunks]   # rows of length 2, 4; 4
    [(0, [2, 3]), (3, [0, 1]), (0, [3]), (3, [1])]
    >>> [b.ends.tolist() for b in chunks]                  # where each row ends
    [[True, False], [False, True], [False], [True]]
    """

    def __init__(
        self,
        source: SequenceView | Windows,
        batch_size: int = 32,
        shuffle: bool = True,
        seed: int = 0,
        bucket: bool = True,
        pad: Pad = "post",
        device: str | torch.device = "cpu",
        drop_last: bool = False,
        bucket_spread: float = 0.1,
        chunk_length: int | None = None,
    ) -> None:
        _check_source(source)
        _check_int("batch_size", batch_size, minimum=1)
        _check_int("seed", seed, minimum=None)
        if pad not in ("post", "pre"):
            raise ValueError(problem("pad", "'post' or 'pre'", repr(pad)))
        if not bucket_spread >= 0:
            raise ValueError(problem("bucket_spread", ">= 0", repr(bucket_spread)))
        if len(source) == 0:
            raise ValueError(
                problem("batches need at least one row", ">= 1 row", "0 rows")
            )
        _check_finite(source)
        if chunk_length is not None:
            _check_chunking(chunk_length, source, pad)

        self.source = source
        self.chunk_length = None if chunk_length is None else int(chunk_length)
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.pad: Pad = pad
        self.drop_last = bool(drop_last)
        self.device = torch.device(device)
        self.epoch = 0
        self.rank, self.world_size = 0, 1

        self._groups: list[_Group]
        if isinstance(source, Windows):
            self._groups = [_WindowGroup(source, self.device)]
        elif bucket:
            self._groups = _padded_buckets(
                source, self.batch_size, bucket_spread, pad, self.device
            )
        else:
            self._groups = [_RaggedGroup(source, pad, self.device)]
        self._padding_share: float | None = None

    # -- sizes ------------------------------------------------------------------

    @property
    def n_rows(self) -> int:
        """Rows (series or windows) in the source, i.e. in one full epoch over
        all ranks."""
        return len(self.source)

    @property
    def n_buckets(self) -> int:
        """Number of length buckets (1 for windows and for ``bucket=False``)."""
        return len(self._groups)

    def _batches_in(self, group: _Group) -> int:
        if self.drop_last:
            return group.n // self.batch_size
        return math.ceil(group.n / self.batch_size)

    def __len__(self) -> int:
        """Batches per epoch on this rank; with ``chunk_length``, chunks in the
        current epoch (shuffled batches change their longest row, and so their
        number of chunks, from epoch to epoch)."""
        if self.chunk_length is None:
            return self._n_batches()
        orders, plan = self.plan()
        C = self.chunk_length
        return sum(
            -(-self._groups[g].longest(self._picks(g, first, orders)) // C)
            for g, first in plan.tolist()
        )

    def _n_batches(self) -> int:
        """Batches (of rows) per epoch on this rank."""
        total = sum(self._batches_in(g) for g in self._groups)
        if self.world_size == 1:
            return total
        if self.drop_last:
            return total // self.world_size
        return math.ceil(total / self.world_size)

    @property
    def padding_share(self) -> float:
        """Padded steps / processed steps (``x``'s ``B x T`` summed) over one
        epoch of all ranks, before the DDP remainder is dropped or repeated.

        Exact for ``shuffle=False``. For ``shuffle=True`` the composition changes
        every epoch and this is its exact expectation: a batch of k rows drawn
        from a bucket of n rows is a uniformly random k-subset, whose longest
        row is the j-th shortest of the bucket with probability
        ``C(j-1, k-1) / C(n, k)``."""
        if self._padding_share is None:
            real = processed = 0.0
            for group in self._groups:
                sizes = self._batch_sizes(group.n)
                group_real, group_processed = group.steps(sizes, self.shuffle)
                real, processed = real + group_real, processed + group_processed
            self._padding_share = 1.0 - real / processed if processed else 0.0
        return self._padding_share

    def _batch_sizes(self, n: int) -> list[int]:
        full, rest = divmod(n, self.batch_size)
        if rest and not self.drop_last:
            return [self.batch_size] * full + [rest]
        return [self.batch_size] * full

    # -- epochs and ranks ----------------------------------------------------------

    def set_epoch(self, epoch: int) -> None:
        """Use epoch ``epoch``'s composition and order (from ``seed + epoch``)."""
        _check_int("epoch", epoch, minimum=0)
        self.epoch = int(epoch)

    def shard(self, rank: int, world_size: int) -> Batches:
        """This process' share of every epoch, for DistributedDataParallel.

        All ranks compute the same schedule (same seed and epoch) and rank r
        takes batches ``r, r + world_size, ...`` of it. Every rank gets the same
        number of batches so no rank waits for another forever: when the count
        is not a multiple of ``world_size`` the first batches of the epoch's
        order are repeated to fill the last round (as torch's
        ``DistributedSampler`` does), or, with ``drop_last=True``, the last
        incomplete round is dropped. The bucket tensors are shared, not copied.
        """
        _check_int("world_size", world_size, minimum=1)
        _check_int("rank", rank, minimum=0)
        if rank >= world_size:
            raise ValueError(
                problem("rank", f"0 <= rank < world_size={world_size}", str(rank))
            )
        share = copy.copy(self)
        share.rank, share.world_size = int(rank), int(world_size)
        if len(share) == 0:
            raise ValueError(
                problem(
                    "too few batches to give every rank one",
                    f">= world_size={world_size} batches per epoch",
                    f"{len(self)} batches",
                    "lower batch_size or world_size, or set drop_last=False",
                )
            )
        return share

    def plan(
        self, epoch: int | None = None
    ) -> tuple[list[torch.Tensor | None], np.ndarray]:
        """The batches this rank makes in ``epoch`` (default: the current one).

        Returns per bucket its row order (None: unshuffled, the bucket's own
        order) and a ``(n_batches, 2)`` int64 array of (bucket, first row in
        that order) per batch, in the order they are made. Both come from one
        ``torch.Generator`` seeded with ``seed + epoch``: bucket orders first,
        then the batch order."""
        epoch = self.epoch if epoch is None else epoch
        generator = torch.Generator().manual_seed(self.seed + epoch)
        orders: list[torch.Tensor | None] = [None] * len(self._groups)
        if self.shuffle:
            orders = [torch.randperm(g.n, generator=generator) for g in self._groups]
        items = []
        for g, group in enumerate(self._groups):
            starts = np.arange(self._batches_in(group), dtype=np.int64)
            starts *= self.batch_size
            items.append(np.stack([np.full_like(starts, g), starts], axis=1))
        plan = np.concatenate(items)
        if self.shuffle:
            plan = plan[torch.randperm(len(plan), generator=generator).numpy()]
        if self.world_size > 1:
            rounds = self._n_batches()
            plan = plan[np.arange(rounds * self.world_size) % len(plan)]
            plan = plan[self.rank :: self.world_size]
        return orders, plan

    def __iter__(self) -> Iterator[Batch]:
        orders, plan = self.plan()
        for g, first in plan.tolist():
            picks = self._picks(g, first, orders)
            if self.chunk_length is None:
                yield self._groups[g].take(picks)
            else:
                yield from self._groups[g].chunks(picks, self.chunk_length)

    def _picks(self, g: int, first: int, orders: list[torch.Tensor | None]) -> Picks:
        """The rows of group ``g`` in the batch that starts at ``first``."""
        stop = min(first + self.batch_size, self._groups[g].n)
        order = orders[g]
        return slice(first, stop) if order is None else order[first:stop]

    def __repr__(self) -> str:
        shard = f", rank {self.rank}/{self.world_size}" if self.world_size > 1 else ""
        chunks = ""
        if self.chunk_length is not None:
            chunks = f" in {len(self)} chunks of T<={self.chunk_length}"
        return (
            f"Batches({self._n_batches()} batches of B<={self.batch_size}{chunks} "
            f"from {self.n_rows} rows, {self.n_buckets} buckets, padding "
            f"{self.padding_share:.1%}, device {self.device}{shard})"
        )


# -- groups: where a batch's tensors come from -----------------------------------


class _Group:
    """Rows that batches are drawn from together (a bucket, or all windows)."""

    n: int
    lengths_cpu: torch.Tensor

    def take(self, picks: Picks, steps: slice | None = None) -> Batch:
        """The batch of rows ``picks``; ``steps`` (post padding only) keeps
        the steps ``steps.start:steps.stop`` instead of all up to the longest."""
        raise NotImplementedError

    def longest(self, picks: Picks) -> int:
        return int(self.lengths_cpu[picks].max())

    def chunks(self, picks: Picks, C: int) -> Iterator[Batch]:
        """The batch of rows ``picks`` as consecutive chunks of at most C steps;
        ``lengths`` are each row's steps within the chunk (0 once it ended)."""
        longest = self.longest(picks)
        n = -(-longest // C)
        for c in range(n):
            a, b = c * C, min((c + 1) * C, longest)
            batch = self.take(picks, slice(a, b))
            full = batch.lengths  # (B,) whole-series lengths
            yield dataclasses.replace(
                batch,
                lengths=(full - a).clamp(0, b - a),
                chunk=c,
                first=c == 0,
                last=c == n - 1,
                start=a,
                ends=(full > a) & (full <= b),
            )

    def steps(self, sizes: list[int], shuffle: bool) -> tuple[float, float]:
        """(real, processed) steps of ``x`` over batches of ``sizes`` rows."""
        raise NotImplementedError


class _PaddedBucket(_Group):
    """Rows of similar length, each field padded once into one tensor."""

    def __init__(
        self,
        view: SequenceView,
        targets: np.ndarray | None,
        rows: np.ndarray,
        pad: Pad,
        device: torch.device,
    ) -> None:
        """``rows`` index ``view.rows``; ``targets`` is ``view.targets()``."""
        data = view.data
        positions = view.rows[rows]
        lengths = data.lengths[positions]
        self.n, self.width, self.pad = len(rows), int(lengths.max()), pad
        self.sorted_lengths = np.sort(lengths)
        self.lengths_cpu = torch.from_numpy(lengths)
        self.lengths = self.lengths_cpu.to(device)
        self.index = torch.from_numpy(positions).to(device)

        steps, rows_of, columns = _layout(data.offsets[positions], lengths, pad)
        shape = (self.n, self.width)

        def padded(flat: np.ndarray) -> torch.Tensor:
            out = np.zeros(shape + flat.shape[1:], flat.dtype)
            out[rows_of, columns] = flat[steps]
            return torch.from_numpy(out).to(device)

        self.x = padded(data.values)
        self.observed = None if data.observed is None else padded(data.observed)
        self.static = _tensor(data.static, positions, device)
        self.y: torch.Tensor | None = None
        self.y_is_x = view.y_level == "input"
        self.y_per_step = view.y_level == "step"
        if targets is not None and view.y_level == "series":
            self.y = torch.from_numpy(targets[rows]).to(device)
        elif targets is not None and view.y_level == "step":
            self.y = padded(targets)

    def take(self, picks: Picks, steps: slice | None = None) -> Batch:
        longest = self.longest(picks)
        if steps is not None:
            trim = steps
        elif self.pad == "post":
            trim = slice(0, longest)
        else:
            trim = slice(self.width - longest, None)
        if isinstance(picks, torch.Tensor):
            picks = picks.to(self.x.device)
        x = _take(self.x[:, trim], picks)
        y = self.y
        if self.y_is_x:
            y = x
        elif y is not None:
            y = _take(y[:, trim] if self.y_per_step else y, picks)
        return Batch(
            x=x,
            lengths=_take(self.lengths, picks),
            index=_take(self.index, picks),
            y=y,
            observed=None
            if self.observed is None
            else _take(self.observed[:, trim], picks),
            static=None if self.static is None else _take(self.static, picks),
            pad=self.pad,
        )

    def steps(self, sizes: list[int], shuffle: bool) -> tuple[float, float]:
        return _expected_steps(self.sorted_lengths, sizes, shuffle)


class _RaggedGroup(_Group):
    """All rows of a view; each batch is gathered from the flat values and
    padded to its own longest row (``bucket=False``)."""

    def __init__(self, view: SequenceView, pad: Pad, device: torch.device) -> None:
        data = view.data
        lengths = data.lengths[view.rows]
        self.n, self.pad = len(view), pad
        self.lengths_np = lengths
        self.lengths_cpu = torch.from_numpy(lengths)
        self.lengths = self.lengths_cpu.to(device)
        self.starts = torch.from_numpy(data.offsets[view.rows]).to(device)
        self.index = torch.from_numpy(view.rows).to(device)
        self.values = _flat(data.values, device)
        self.observed = None if data.observed is None else _flat(data.observed, device)
        self.static = _tensor(data.static, view.rows, device)
        self.y_level = view.y_level
        targets = view.targets()
        self.y = None if targets is None else _flat(targets, device)

    def take(self, picks: Picks, steps: slice | None = None) -> Batch:
        longest = self.longest(picks)
        if isinstance(picks, torch.Tensor):
            picks = picks.to(self.values.device)
        lengths = _take(self.lengths, picks)
        first, stop = (0, longest) if steps is None else (steps.start, steps.stop)
        columns = torch.arange(first, stop, device=self.values.device)
        shift = longest - lengths if self.pad == "pre" else torch.zeros_like(lengths)
        within = columns[None, :] - shift[:, None]  # (B, T) step within the row
        real = (within >= 0) & (within < lengths[:, None])
        flat_rows = torch.where(real, _take(self.starts, picks)[:, None] + within, 0)

        def gather(flat: torch.Tensor) -> torch.Tensor:
            block = _take(flat, flat_rows)
            keep = real.reshape(real.shape + (1,) * (block.dim() - 2))
            return torch.where(keep, block, torch.zeros((), dtype=block.dtype))

        x = gather(self.values)
        y = self.y
        if self.y_level == "input":
            y = x
        elif self.y_level == "step" and y is not None:
            y = gather(y)
        elif y is not None:
            y = _take(y, picks)
        return Batch(
            x=x,
            lengths=lengths,
            index=_take(self.index, picks),
            y=y,
            observed=None if self.observed is None else gather(self.observed),
            static=None if self.static is None else _take(self.static, picks),
            pad=self.pad,
        )

    def steps(self, sizes: list[int], shuffle: bool) -> tuple[float, float]:
        lengths = np.sort(self.lengths_np) if shuffle else self.lengths_np
        return _expected_steps(lengths, sizes, shuffle)


class _WindowGroup(_Group):
    """All windows; a batch is gathered from the flat values by window number."""

    def __init__(self, windows: Windows, device: torch.device) -> None:
        data = windows.data
        self.n = len(windows)
        self.lookback, self.horizon = windows.lookback, windows.horizon
        self.stride = windows.stride
        self.cumulative = torch.from_numpy(windows._cumulative).to(device)
        first_rows = data.offsets[windows._positions] + windows._first
        self.first_rows = torch.from_numpy(first_rows).to(device)
        self.positions = torch.from_numpy(windows._positions).to(device)
        self.values = _flat(data.values, device)
        self.observed = None if data.observed is None else _flat(data.observed, device)
        self.static = None if data.static is None else _flat(data.static, device)
        everything = np.array_equal(windows.target_index, np.arange(data.n_features))
        self.target = self.values
        if not everything:
            target = torch.from_numpy(windows.target_index).to(device)
            self.target = self.values[:, target]  # (N, K), a copy of K features
        self.future = None
        if len(windows.known_future_index):
            known = torch.from_numpy(windows.known_future_index).to(device)
            self.future = self.values[:, known]
        self.input_steps = torch.arange(self.lookback, device=device)
        self.target_steps = self.lookback + torch.arange(self.horizon, device=device)

    def longest(self, picks: Picks) -> int:
        return self.lookback

    def take(self, picks: Picks, steps: slice | None = None) -> Batch:
        device = self.values.device
        if isinstance(picks, slice):
            numbers = torch.arange(picks.start, picks.stop, device=device)
        else:
            numbers = picks.to(device)
        entry = torch.searchsorted(self.cumulative, numbers, right=True) - 1
        first = (
            self.first_rows[entry] + (numbers - self.cumulative[entry]) * self.stride
        )
        inputs = first[:, None] + self.input_steps  # (B, L) rows of data.values
        targets = first[:, None] + self.target_steps  # (B, h)
        B = len(numbers)
        return Batch(
            x=_take(self.values, inputs),
            lengths=torch.full((B,), self.lookback, dtype=torch.int64, device=device),
            index=numbers,
            y=_take(self.target, targets) if self.horizon else None,
            observed=None if self.observed is None else _take(self.observed, inputs),
            static=None
            if self.static is None
            else _take(self.static, self.positions[entry]),
            future=None if self.future is None else _take(self.future, targets),
        )

    def steps(self, sizes: list[int], shuffle: bool) -> tuple[float, float]:
        total = float(sum(sizes) * self.lookback)
        return total, total


# -- building buckets --------------------------------------------------------------


def _padded_buckets(
    view: SequenceView,
    batch_size: int,
    spread: float,
    pad: Pad,
    device: torch.device,
) -> list[_Group]:
    """Sort the view's rows by length and pad each bucket once."""
    lengths = view.lengths
    order = np.argsort(lengths, kind="stable")
    bounds = _bucket_bounds(lengths[order], batch_size, spread)
    targets = view.targets()
    return [
        _PaddedBucket(view, targets, order[a:b], pad, device)
        for a, b in itertools.pairwise(bounds)
    ]


def _bucket_bounds(
    sorted_lengths: np.ndarray, batch_size: int, spread: float
) -> list[int]:
    """Cut points of buckets over lengths sorted ascending: a bucket takes one
    batch of rows, then whole batches more while ``longest - shortest <= spread x
    longest``."""
    n = len(sorted_lengths)
    bounds, start = [0], 0
    end = min(batch_size, n)
    while end < n:
        extended = min(end + batch_size, n)
        longest = sorted_lengths[extended - 1]
        if longest - sorted_lengths[start] <= spread * longest:
            end = extended
            continue
        bounds.append(end)
        start, end = end, min(end + batch_size, n)
    bounds.append(n)
    return bounds


def _layout(
    starts: np.ndarray, lengths: np.ndarray, pad: Pad
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat steps of the rows and where each lands in a ``(B, T_max)`` block."""
    total = int(lengths.sum())
    first = np.cumsum(lengths) - lengths
    within = np.arange(total, dtype=np.int64) - np.repeat(first, lengths)
    steps = np.repeat(starts, lengths) + within
    rows = np.repeat(np.arange(len(lengths)), lengths)
    columns = within
    if pad == "pre":
        columns = within + np.repeat(int(lengths.max()) - lengths, lengths)
    return steps, rows, columns


def _expected_steps(
    lengths: np.ndarray, sizes: list[int], shuffle: bool
) -> tuple[float, float]:
    """(real, processed) steps when ``lengths`` are cut into batches of
    ``sizes``: consecutive slices if not ``shuffle``, else the expectation over
    uniformly random batches (``lengths`` sorted ascending)."""
    n = len(lengths)
    if not sizes:
        return 0.0, 0.0
    if not shuffle:
        ends = np.cumsum(sizes)
        real = float(lengths[: ends[-1]].sum())
        longest = np.maximum.reduceat(lengths[: ends[-1]], ends - np.asarray(sizes))
        return real, float((longest * np.asarray(sizes)).sum())
    real = float(lengths.sum()) * sum(sizes) / n
    if lengths[0] == lengths[-1]:
        return real, float(lengths[0]) * sum(sizes)
    log_factorial = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, n + 1)))])
    ranks = np.arange(1, n + 1)  # the j-th shortest row, 1-based
    processed = 0.0
    for k in set(sizes):
        # P(longest of a random k-subset is the j-th shortest) = C(j-1, k-1) / C(n, k)
        j = ranks[k - 1 :]
        log_p = (
            log_factorial[j - 1]
            - log_factorial[k - 1]
            - log_factorial[j - k]
            - (log_factorial[n] - log_factorial[k] - log_factorial[n - k])
        )
        expected_longest = float((np.exp(log_p) * lengths[k - 1 :]).sum())
        processed += sizes.count(k) * k * expected_longest
    return real, processed


# -- checks and small helpers -------------------------------------------------------


def _take(t: torch.Tensor, index: Picks) -> torch.Tensor:
    """Rows ``index`` of ``t`` (first axis): a view for a slice, else one
    ``index_select`` (several times cheaper than advanced indexing on CPU) with
    the result shaped ``index.shape + t.shape[1:]``."""
    if isinstance(index, slice):
        return t[index]
    rows = t.index_select(0, index.reshape(-1))
    return rows.view(*index.shape, *t.shape[1:])


def _flat(array: np.ndarray, device: torch.device) -> torch.Tensor:
    """A tensor over ``array`` (shares memory on CPU)."""
    return torch.from_numpy(np.ascontiguousarray(array)).to(device)


def _tensor(
    array: np.ndarray | None, positions: np.ndarray, device: torch.device
) -> torch.Tensor | None:
    if array is None:
        return None
    return torch.from_numpy(np.ascontiguousarray(array[positions])).to(device)


def _check_source(source: Any) -> None:
    if isinstance(source, (SequenceView, Windows)):
        return
    raise TypeError(
        problem(
            "Batches are made from a task view or forecasting windows",
            "a SeriesTargetView, StepTargetView, ReconstructionView, InputView or "
            "Windows",
            type(source).__name__,
            "wrap the data in a view, e.g. SeriesTargetView(data), or make "
            "windows with data.windows(lookback=..., horizon=...)",
        )
    )


def _check_chunking(chunk_length: Any, source: Any, pad: Pad) -> None:
    _check_int("chunk_length", chunk_length, minimum=1)
    if isinstance(source, Windows):
        raise ValueError(
            problem(
                "chunk_length cuts whole series into consecutive chunks",
                "a view of whole series (SeriesTargetView, StepTargetView, "
                "ReconstructionView, InputView)",
                f"Windows of lookback L={source.lookback}",
                "leave chunk_length out for windows (each window is already "
                "only L steps long), or lower the lookback",
            )
        )
    if pad != "post":
        raise ValueError(
            problem(
                "chunk_length carries each row's state from one chunk to the next, "
                "so every row must start at step 0 of the first chunk",
                "pad='post'",
                f"pad={pad!r}",
                "use pad='post' (the default) with chunk_length",
            )
        )


def _check_int(name: str, value: Any, minimum: int | None) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        raise TypeError(problem(name, "an int", f"{type(value).__name__} {value!r}"))
    if minimum is not None and value < minimum:
        raise ValueError(problem(name, f">= {minimum}", str(value)))


def _check_finite(source: SequenceView | Windows) -> None:
    """Batches never feed NaN to a model: name the features that have any.

    A column sum is NaN or infinite exactly when the column holds a NaN or an
    infinity (float64 sums of float32 values do not overflow), and it needs no
    ``(N, F)`` temporary; the features are only looked at one by one if so."""
    values = source.data.values
    if np.isfinite(values.sum(axis=0, dtype=np.float64)).all():
        return
    names = source.data.feature_names
    bad = {
        names[j]: int((~np.isfinite(values[:, j])).sum())
        for j in range(values.shape[1])
        if not np.isfinite(values[:, j]).all()
    }
    raise ValueError(
        problem(
            "features have missing values (NaN) or infinities; a model cannot "
            "learn from them",
            "only finite values",
            f"non-finite counts per feature {dict(list(bad.items())[:10])}",
            "fill them when building the SequenceSet: fill= (e.g. fill='ffill') "
            "or time_features=True on from_long, which also adds the observed "
            "mask and the time since each feature was last seen",
        )
    )

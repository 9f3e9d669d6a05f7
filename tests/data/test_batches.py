"""Batches: every row exactly once with its true length and values, padding
that never leaks, exact padding share, deterministic epochs, equal DDP shares."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from timesteps.data.batches import Batch, Batches, _bucket_bounds
from timesteps.data.sequence_set import SequenceSet
from timesteps.data.views import (
    InputView,
    ReconstructionView,
    SeriesTargetView,
    StepTargetView,
)

LENGTHS = [5, 1, 3, 8, 2, 7, 4, 6, 3, 9, 8, 8]


def _ragged(lengths: list[int] = LENGTHS, level: str = "series") -> SequenceSet:
    offsets = np.r_[0, np.cumsum(lengths)]
    n = int(offsets[-1])
    values = np.arange(1, 2 * n + 1, dtype=np.float32).reshape(n, 2)  # never 0
    observed = (np.arange(n * 2).reshape(n, 2) % 3) != 0
    target = np.arange(len(lengths)) % 3 if level == "series" else np.arange(1, n + 1)
    return SequenceSet(
        values,
        offsets,
        observed=observed,
        static=np.arange(len(lengths), dtype=np.float32)[:, None] * 10,
        target=target,
        target_level=level,
    )


def _rows(batches: Batches) -> list[int]:
    return [i for batch in batches for i in batch.index.tolist()]


@pytest.mark.parametrize("bucket", [True, False])
@pytest.mark.parametrize("pad", ["post", "pre"])
@pytest.mark.parametrize("shuffle", [True, False])
def test_every_series_once_with_true_length_and_exact_values(
    bucket: bool, pad: str, shuffle: bool
) -> None:
    data = _ragged(level="step")
    batches = Batches(
        StepTargetView(data), batch_size=3, shuffle=shuffle, bucket=bucket, pad=pad
    )
    seen = []
    for batch in batches:
        T = batch.x.shape[1]
        assert int(batch.lengths.max()) == T  # trimmed to its own longest row
        mask = batch.mask
        for r, i in enumerate(batch.index.tolist()):
            length = int(batch.lengths[r])
            assert length == data.lengths[i]
            real = slice(0, length) if pad == "post" else slice(T - length, T)
            np.testing.assert_array_equal(batch.x[r, real].numpy(), data.series(i))
            steps = slice(data.offsets[i], data.offsets[i + 1])
            np.testing.assert_array_equal(batch.y[r, real].numpy(), data.target[steps])
            np.testing.assert_array_equal(
                batch.observed[r, real].numpy(), data.observed[steps]
            )
            assert batch.static[r, 0] == 10 * i
            expected_mask = np.zeros(T, bool)
            expected_mask[real] = True
            np.testing.assert_array_equal(mask[r].numpy(), expected_mask)
        # padding never leaks: zero values, zero targets, not observed
        assert (batch.x[~mask] == 0).all()
        assert (batch.y[~mask] == 0).all()
        assert not batch.observed[~mask].any()
        assert batch.x.dtype == torch.float32 and batch.lengths.dtype == torch.int64
        seen += batch.index.tolist()
    assert sorted(seen) == list(range(len(LENGTHS)))
    assert len(batches) == math.ceil(len(LENGTHS) / 3)


def test_equal_lengths_are_one_bucket_sliced_without_python_per_sample() -> None:
    values = np.arange(4000 * 3, dtype=np.float32)[:, None]
    data = SequenceSet(values, np.arange(0, 12001, 3), target=np.arange(4000) % 2)
    batches = Batches(SeriesTargetView(data), batch_size=50, seed=1)
    assert batches.n_buckets == 1 and len(batches) == 80
    assert batches.padding_share == 0.0
    batch = next(iter(batches))
    assert tuple(batch.x.shape) == (50, 3, 1)
    rows = batch.index.numpy()
    np.testing.assert_array_equal(batch.x.numpy(), values.reshape(4000, 3, 1)[rows])
    np.testing.assert_array_equal(batch.y.numpy(), rows % 2)
    assert sorted(_rows(batches)) == list(range(4000))


def test_buckets_grow_by_whole_batches_while_the_spread_is_small() -> None:
    lengths = np.array([10] * 64 + [11] * 32 + [50] * 32 + [51] * 5)
    assert _bucket_bounds(lengths, 32, 0.1) == [0, 96, 133]
    assert _bucket_bounds(lengths, 32, 0.0) == [0, 64, 96, 128, 133]
    assert _bucket_bounds(np.arange(1, 5), 2, 0.0) == [0, 2, 4]


def test_padding_share_exact_for_sorted_batches() -> None:
    data = SequenceSet(np.ones((10, 1)), np.r_[0, np.cumsum([4, 1, 3, 2])])
    batches = Batches(InputView(data), batch_size=2, shuffle=False)
    # sorted buckets [1, 2] and [3, 4]: processed 2x2 + 2x4 = 12, real 10
    assert batches.padding_share == pytest.approx(2 / 12, abs=1e-12)
    processed = sum(b.x.shape[0] * b.x.shape[1] for b in batches)
    assert processed == 12
    # unbucketed, in the given order: [4, 1] and [3, 2] -> 2x4 + 2x3 = 14
    plain = Batches(InputView(data), batch_size=2, shuffle=False, bucket=False)
    assert plain.padding_share == pytest.approx(1 - 10 / 14, abs=1e-12)


def test_padding_share_is_the_exact_expectation_over_random_batches() -> None:
    lengths = [7, 1, 2, 5, 2]
    data = SequenceSet(np.ones((17, 1)), np.r_[0, np.cumsum(lengths)])
    batches = Batches(InputView(data), batch_size=2, bucket=False)
    # brute force: every permutation is equally likely; batches are consecutive
    processed = []
    for perm in itertools.permutations(lengths):
        parts = [perm[0:2], perm[2:4], perm[4:5]]
        processed.append(sum(len(p) * max(p) for p in parts))
    expected = 1 - sum(lengths) / np.mean(processed)
    assert batches.padding_share == pytest.approx(expected, rel=1e-12)
    # the hand value for [1, 2, 3, 4] in pairs: E[max of 2] = 20 / 6
    even = SequenceSet(np.ones((10, 1)), np.r_[0, np.cumsum([1, 2, 3, 4])])
    share = Batches(InputView(even), batch_size=2, bucket=False).padding_share
    assert share == pytest.approx(0.25, rel=1e-12)


def test_set_epoch_is_deterministic_and_changes_the_order() -> None:
    data = _ragged(lengths=[5] * 40 + [6] * 24)
    first = Batches(InputView(data), batch_size=4, seed=3)
    second = Batches(InputView(data), batch_size=4, seed=3)
    first.set_epoch(2)
    second.set_epoch(2)
    assert _rows(first) == _rows(second) == _rows(first)  # same twice, too
    second.set_epoch(3)
    assert _rows(first) != _rows(second)
    assert sorted(_rows(first)) == sorted(_rows(second)) == list(range(64))


@pytest.mark.parametrize("shuffle", [True, False])
def test_shards_are_disjoint_equal_and_cover_every_batch(shuffle: bool) -> None:
    data = _ragged(lengths=[5] * 40 + [6] * 24)  # 16 batches of 4
    full = Batches(InputView(data), batch_size=4, shuffle=shuffle, seed=5)
    full.set_epoch(1)
    shares = [full.shard(rank, 4) for rank in range(4)]
    for share in shares:
        share.set_epoch(1)
    rows = [_rows(share) for share in shares]
    assert [len(share) for share in shares] == [4, 4, 4, 4]
    assert [len(r) for r in rows] == [16, 16, 16, 16]
    assert sorted(itertools.chain(*rows)) == list(range(64))  # disjoint, all covered
    plans = [share.plan()[1].tolist() for share in shares]
    assert sorted(itertools.chain(*plans)) == sorted(full.plan()[1].tolist())


def test_shard_remainder_repeats_first_batches_or_is_dropped() -> None:
    data = _ragged(lengths=[5] * 40)  # 10 batches of 4 over 4 ranks
    full = Batches(InputView(data), batch_size=4, seed=5)
    order = full.plan()[1].tolist()
    shares = [full.shard(rank, 4) for rank in range(4)]
    plans = [share.plan()[1].tolist() for share in shares]
    assert [len(p) for p in plans] == [3, 3, 3, 3]
    dealt = [plans[r][k] for k in range(3) for r in range(4)]
    assert dealt == order + order[:2]  # the first two batches are seen twice
    dropping = Batches(InputView(data), batch_size=4, seed=5, drop_last=True)
    kept = [dropping.shard(rank, 4).plan()[1].tolist() for rank in range(4)]
    assert [len(p) for p in kept] == [2, 2, 2, 2]
    with pytest.raises(ValueError, match=r"expected >= world_size=16 batches"):
        dropping.shard(0, 16)


def test_drop_last_drops_the_one_partial_batch() -> None:
    batches = Batches(InputView(_ragged()), batch_size=5, drop_last=True)
    sizes = [len(b) for b in batches]
    assert sizes == [5, 5] and len(batches) == 2


def test_windows_are_gathered_per_batch_exactly() -> None:
    n = 30
    values = np.column_stack([np.arange(n), 100 + np.arange(n)]).astype(np.float32)
    data = SequenceSet(
        values,
        [0, 12, 30],
        feature_names=["load", "hour"],
        static=np.array([[1.0], [2.0]]),
        observed=np.ones((n, 2), bool),
    )
    w = data.windows(
        lookback=4, horizon=2, stride=3, target="load", known_future="hour"
    )
    batches = Batches(w, batch_size=4, seed=0)
    seen = []
    for batch in batches:
        for r, k in enumerate(batch.index.tolist()):
            x, y = w[k]
            np.testing.assert_array_equal(batch.x[r].numpy(), x)
            np.testing.assert_array_equal(batch.y[r].numpy(), y)
            np.testing.assert_array_equal(batch.future[r].numpy(), w.future(k))
            assert batch.static[r, 0] == 1 + w.series_positions[k]
        assert (batch.lengths == 4).all() and batch.observed.all()
        seen += batch.index.tolist()
    assert sorted(seen) == list(range(len(w)))
    assert batches.padding_share == 0.0 and batches.n_rows == len(w)


def test_nan_values_are_refused_with_the_feature_named() -> None:
    values = np.ones((6, 2), np.float32)
    values[2, 1] = np.nan
    data = SequenceSet(values, [0, 3, 6], feature_names=["load", "temp"])
    with pytest.raises(ValueError, match=r"\{'temp': 1\}.*Fix: fill them .*fill="):
        Batches(ReconstructionView(data))
    with pytest.raises(ValueError, match="time_features=True on from_long"):
        data.windows(lookback=1, horizon=1).to_batches()


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"batch_size": 0}, ValueError, r"batch_size: expected >= 1, received 0"),
        ({"batch_size": 2.0}, TypeError, "batch_size: expected an int"),
        ({"pad": "middle"}, ValueError, r"expected 'post' or 'pre'"),
    ],
)
def test_bad_options(options: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        Batches(InputView(_ragged()), **options)


def test_a_sequence_set_is_not_a_source() -> None:
    with pytest.raises(TypeError, match=r"Fix: wrap the data in a view"):
        Batches(_ragged())  # type: ignore[arg-type]


def test_batch_to_keeps_reconstruction_target_identical() -> None:
    batch = next(iter(Batches(ReconstructionView(_ragged()), batch_size=4)))
    moved = batch.to("cpu")
    assert moved.y is moved.x
    pre = Batch(torch.zeros(2, 3, 1), torch.tensor([3, 1]), torch.arange(2), pad="pre")
    assert pre.mask.tolist() == [[True, True, True], [False, False, True]]

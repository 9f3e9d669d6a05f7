"""Chunked Batches: every series once, in time order, cut into consecutive
chunks with true per-chunk lengths, the same batches as unchunked."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from timesteps.data.batches import Batches
from timesteps.data.sequence_set import SequenceSet
from timesteps.data.views import (
    InputView,
    ReconstructionView,
    SeriesTargetView,
    StepTargetView,
)

LENGTHS = [5, 1, 3, 8, 2, 7, 4, 6, 3, 9, 8, 8]


def _ragged(level: str = "step") -> SequenceSet:
    offsets = np.r_[0, np.cumsum(LENGTHS)]
    n = int(offsets[-1])
    values = np.arange(1, 2 * n + 1, dtype=np.float32).reshape(n, 2)  # never 0
    target = np.arange(len(LENGTHS)) % 3 if level == "series" else np.arange(1, n + 1)
    return SequenceSet(
        values,
        offsets,
        observed=(np.arange(n * 2).reshape(n, 2) % 3) != 0,
        static=np.arange(len(LENGTHS), dtype=np.float32)[:, None] * 10,
        target=target,
        target_level=level,
    )


@pytest.mark.parametrize("bucket", [True, False])
@pytest.mark.parametrize("shuffle", [True, False])
def test_chunks_rebuild_every_series_once_in_order(bucket: bool, shuffle: bool) -> None:
    data = _ragged("step")
    C = 3
    batches = Batches(
        StepTargetView(data),
        batch_size=4,
        shuffle=shuffle,
        bucket=bucket,
        chunk_length=C,
        bucket_spread=0.5,
    )
    plain = Batches(
        StepTargetView(data),
        batch_size=4,
        shuffle=shuffle,
        bucket=bucket,
        bucket_spread=0.5,
    )
    pieces: dict[int, list[np.ndarray]] = {}
    targets: dict[int, list[np.ndarray]] = {}
    chunks = list(batches)
    assert len(batches) == len(chunks)
    expected_chunks = [math.ceil(int(b.lengths.max()) / C) for b in plain]
    assert len(chunks) == sum(expected_chunks)
    k = 0
    for whole, n in zip(plain, expected_chunks, strict=True):
        run = chunks[k : k + n]
        k += n
        assert [c.chunk for c in run] == list(range(n))
        assert [c.start for c in run] == [C * c for c in range(n)]
        assert [(c.first, c.last) for c in run] == [
            (c == 0, c == n - 1) for c in range(n)
        ]
        full = whole.lengths
        for chunk in run:
            assert torch.equal(chunk.index, whole.index)  # the same rows
            assert chunk.x.shape[1] <= C
            a, b = chunk.start, chunk.start + chunk.x.shape[1]
            assert torch.equal(chunk.lengths, (full - a).clamp(0, b - a))
            assert torch.equal(chunk.ends, (full > a) & (full <= b))
            assert torch.equal(chunk.x, whole.x[:, a:b])
            assert torch.equal(chunk.y, whole.y[:, a:b])
            assert torch.equal(chunk.observed, whole.observed[:, a:b])
            assert torch.equal(chunk.static, whole.static)
            for r, i in enumerate(chunk.index.tolist()):
                L = int(chunk.lengths[r])
                pieces.setdefault(i, []).append(chunk.x[r, :L].numpy())
                targets.setdefault(i, []).append(chunk.y[r, :L].numpy())
                assert not chunk.x[r, L:].any()  # zeros past the row's end
        # each row ends in exactly one chunk
        assert torch.equal(sum(c.ends.long() for c in run), torch.ones_like(full))
    assert sorted(pieces) == list(range(len(LENGTHS)))
    for i in range(len(LENGTHS)):
        a, b = data.offsets[i], data.offsets[i + 1]
        assert np.array_equal(np.concatenate(pieces[i]), data.values[a:b])
        assert np.array_equal(np.concatenate(targets[i]), data.target[a:b])


def test_chunk_lengths_exact_for_one_batch() -> None:
    """Rows of 2, 3, 4, 9 steps, chunks of 4: the exact lengths and ends."""
    lengths = [2, 3, 4, 9]
    data = SequenceSet(np.ones((18, 1), np.float32), np.r_[0, np.cumsum(lengths)])
    batches = Batches(InputView(data), batch_size=4, shuffle=False, chunk_length=4)
    chunks = list(batches)
    assert len(batches) == 3
    assert [tuple(c.x.shape) for c in chunks] == [(4, 4, 1), (4, 4, 1), (4, 1, 1)]
    assert [c.lengths.tolist() for c in chunks] == [
        [2, 3, 4, 4],
        [0, 0, 0, 4],
        [0, 0, 0, 1],
    ]
    assert [c.ends.tolist() for c in chunks] == [
        [True, True, True, False],
        [False, False, False, False],
        [False, False, False, True],
    ]
    assert [c.mask.sum().item() for c in chunks] == [13, 4, 1]


def test_series_target_and_reconstruction_in_chunks() -> None:
    data = _ragged("series")
    chunks = list(
        Batches(SeriesTargetView(data), batch_size=12, shuffle=False, chunk_length=4)
    )
    assert len(chunks) == 3  # the longest series has 9 steps
    for chunk in chunks:  # the series target is whole in every chunk
        assert torch.equal(chunk.y, torch.from_numpy(data.target[chunk.index.numpy()]))
    plain = data.replace(target=None, target_level=None)
    for chunk in Batches(ReconstructionView(plain), batch_size=5, chunk_length=4):
        assert chunk.y is chunk.x  # reconstruction targets are the chunk itself


def test_padding_share_and_batches_unchanged_by_chunking() -> None:
    view = StepTargetView(_ragged("step"))
    for shuffle in (True, False):
        plain = Batches(view, batch_size=3, shuffle=shuffle, seed=4)
        chunked = Batches(view, batch_size=3, shuffle=shuffle, seed=4, chunk_length=2)
        assert chunked.padding_share == plain.padding_share
        for epoch in (0, 1):
            plain.set_epoch(epoch)
            chunked.set_epoch(epoch)
            firsts = [c.index.tolist() for c in chunked if c.first]
            assert firsts == [b.index.tolist() for b in plain]
            assert len(chunked) == sum(
                math.ceil(int(b.lengths.max()) / 2) for b in plain
            )


def test_chunks_gather_only_their_own_steps() -> None:
    """A chunk of shuffled rows is a (B, C, F) copy, not the padded batch."""
    lengths = [300] * 6
    data = SequenceSet(np.ones((1800, 3), np.float32), np.r_[0, np.cumsum(lengths)])
    batches = Batches(InputView(data), batch_size=6, shuffle=True, chunk_length=50)
    shapes = {tuple(c.x.shape) for c in batches}
    assert shapes == {(6, 50, 3)}
    chunk = next(iter(batches))
    assert chunk.x.untyped_storage().nbytes() == 6 * 50 * 3 * 4


def test_chunking_refusals() -> None:
    data = _ragged("step")
    with pytest.raises(
        ValueError,
        match=r"chunk_length carries each row's state from one chunk to the next, "
        r"so every row must start at step 0 of the first chunk: expected "
        r"pad='post', received pad='pre'\. Fix: use pad='post' \(the default\) "
        r"with chunk_length\.",
    ):
        Batches(StepTargetView(data), pad="pre", chunk_length=4)
    with pytest.raises(ValueError, match=r"chunk_length: expected >= 1, received 0"):
        Batches(StepTargetView(data), chunk_length=0)
    series = SequenceSet(np.ones((40, 1), np.float32), [0, 20, 40])
    with pytest.raises(
        ValueError,
        match=r"chunk_length cuts whole series into consecutive chunks: expected "
        r"a view of whole series .*, received Windows of lookback L=5\. Fix: leave "
        r"chunk_length out for windows",
    ):
        Batches(series.windows(lookback=5, horizon=1), chunk_length=2)

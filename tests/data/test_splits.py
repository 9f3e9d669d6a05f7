"""Splits by series (stratified) and by time: no leaks, exact counts."""

from __future__ import annotations

import numpy as np
import pytest

from timesteps import SequenceSet


def ragged(n: int = 20, seed: int = 0, y: np.ndarray | None = None) -> SequenceSet:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(3, 12, size=n)
    X = [rng.normal(size=(int(t), 2)) for t in lengths]
    return SequenceSet.from_arrays(X, y=y, ids=[f"s{i}" for i in range(n)])


def test_split_by_series_never_shares_a_series() -> None:
    data = ragged(20)
    train, validation = data.split(fraction=0.3, seed=1)
    assert len(train) == 14 and len(validation) == 6
    assert set(train.ids) & set(validation.ids) == set()
    assert sorted([*train.ids, *validation.ids]) == sorted(data.ids)
    assert train.meta["part"] == "train" and validation.meta["part"] == "validation"
    assert "part" not in data.meta
    # whole series travel: the values of a validation series are its original ones
    for i, series_id in enumerate(validation.ids):
        np.testing.assert_array_equal(validation[i], data.loc(series_id))


def test_split_is_reproducible_from_the_seed() -> None:
    data = ragged(20)
    assert data.split(seed=3)[1].ids.tolist() == data.split(seed=3)[1].ids.tolist()
    assert data.split(seed=3)[1].ids.tolist() != data.split(seed=4)[1].ids.tolist()


def test_stratified_split_keeps_each_class_share_exactly() -> None:
    y = np.array([0] * 10 + [1] * 6 + [2] * 4)
    data = ragged(20, y=y)
    train, validation = data.split(fraction=0.25, seed=0)
    # shares 2.5, 1.5, 1.0 -> floors 2, 1, 1 = 4; round(0.25 * 20) = 5; the one
    # missing series goes to the first class with the largest remainder (0)
    assert np.bincount(validation.target, minlength=3).tolist() == [3, 1, 1]
    assert np.bincount(train.target, minlength=3).tolist() == [7, 5, 3]


def test_stratify_defaults_on_for_text_classes_and_off_for_floats() -> None:
    labels = np.array(["sick"] * 8 + ["well"] * 2, dtype=object)
    data = ragged(10, y=labels)
    for seed in range(5):
        _, validation = data.split(fraction=0.5, seed=seed)
        assert sorted(validation.target.tolist()) == ["sick"] * 4 + ["well"]
    floats = ragged(10, y=np.linspace(0, 1, 10))
    with pytest.raises(ValueError, match=r"stratify=True needs a class-like target"):
        floats.split(stratify=True)
    assert len(floats.split(fraction=0.5)[1]) == 5


def test_split_errors() -> None:
    data = ragged(4)
    with pytest.raises(ValueError, match=r"0 < fraction < 1, received 1.5"):
        data.split(fraction=1.5)
    with pytest.raises(ValueError, match=r"leaves a part empty.*4 train and 0"):
        data.split(fraction=0.1)


def test_split_by_time_holds_out_the_last_steps_of_every_series() -> None:
    data = ragged(6)
    y = [np.arange(int(t)) for t in data.lengths]
    data = SequenceSet.from_arrays(
        [data[i] for i in range(len(data))], y=y, ids=data.ids.tolist()
    )
    past, future = data.split_by_time(steps=2)
    assert past.lengths.tolist() == (data.lengths - 2).tolist()
    assert future.lengths.tolist() == [2] * 6
    for i in range(len(data)):
        T = int(data.lengths[i])
        np.testing.assert_array_equal(future[i], data[i][T - 2 :])
        np.testing.assert_array_equal(past[i], data[i][: T - 2])
        assert future.series_times(i).tolist() == [T - 2, T - 1]
    assert future.target[:2].tolist() == [data.lengths[0] - 2, data.lengths[0] - 1]
    assert past.meta["part"] == "train" and future.meta["part"] == "validation"
    assert future.meta["context_steps"] == 0


def test_split_by_time_fraction_rounds_per_series() -> None:
    data = SequenceSet.from_arrays([np.zeros((t, 1)) for t in (10, 5, 3, 2)])
    past, future = data.split_by_time(fraction=0.25)
    # held out: round(2.5)=3, round(1.25)=1, round(0.75)=1, max(1, round(0.5))=1
    assert future.lengths.tolist() == [3, 1, 1, 1]
    assert past.lengths.tolist() == [7, 4, 2, 1]


def test_split_by_time_too_short_series_stay_in_the_past() -> None:
    data = SequenceSet.from_arrays(
        [np.zeros((t, 1)) for t in (6, 2, 4)], ids=["a", "b", "c"]
    )
    with pytest.warns(
        UserWarning,
        match=r"1 of 3 series are too short to hold out their last steps and keep 1 "
        r"past step\(s\); they stay wholly in the past part: ids 'b'",
    ):
        past, future = data.split_by_time(steps=2)
    assert past.ids.tolist() == ["a", "b", "c"]
    assert past.lengths.tolist() == [4, 2, 2]
    assert future.ids.tolist() == ["a", "c"]
    assert future.lengths.tolist() == [2, 2]


def test_split_by_time_keep_context() -> None:
    X = np.arange(20.0).reshape(2, 10, 1)
    data = SequenceSet.from_arrays(X, ids=["a", "b"])
    past, future = data.split_by_time(steps=3, keep_context=4)
    assert past.lengths.tolist() == [7, 7]
    assert future.lengths.tolist() == [7, 7]
    np.testing.assert_array_equal(future[1].ravel(), np.arange(13.0, 20.0))
    assert future.series_times(0).tolist() == [3, 4, 5, 6, 7, 8, 9]
    assert future.meta["context_steps"] == 4
    with pytest.warns(UserWarning, match=r"keep 8 past step\(s\).*ids 'a', 'b'"):
        data.split_by_time(steps=3, keep_context=8)


def test_split_by_time_errors() -> None:
    data = ragged(3)
    with pytest.raises(ValueError, match=r"fraction= or steps=, not both"):
        data.split_by_time(fraction=0.2, steps=2)
    with pytest.raises(ValueError, match=r"an integer >= 1, received 0"):
        data.split_by_time(steps=0)
    with pytest.raises(ValueError, match=r"an integer >= 0, received -1"):
        data.split_by_time(steps=1, keep_context=-1)

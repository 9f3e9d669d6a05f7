"""SequenceSet storage: sizes, indexing by position and by id, subsets."""

from __future__ import annotations

import sys
import types

import numpy as np
import pandas as pd
import pytest

from timesteps import SequenceSet


def three() -> SequenceSet:
    df = pd.DataFrame(
        {
            "id": ["p", "p", "q", "r", "r", "r"],
            "t": [0, 1, 0, 0, 1, 2],
            "x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            "z": [0.5, np.nan, 0.0, 1.0, 1.0, 1.0],
            "y": [1, 0, 1, 0, 0, 1],
        }
    )
    return SequenceSet.from_long(df, id="id", time="t", target="y")


def test_sizes_and_names() -> None:
    data = three()
    assert len(data) == 3
    assert data.lengths.tolist() == [2, 1, 3]
    assert data.n_features == 2
    assert data.n_steps == 6
    assert data.feature_names == ["x", "z"]
    assert data.ids.tolist() == ["p", "q", "r"]
    assert repr(data) == (
        "SequenceSet(B=3 series, T=1..3, F=2 features ['x', 'z'], target per step)"
    )


def test_indexing_by_position_and_by_id() -> None:
    data = three()
    np.testing.assert_array_equal(data[2], [[4, 1], [5, 1], [6, 1]])
    np.testing.assert_array_equal(data[-1], data[2])
    np.testing.assert_array_equal(data.loc("q"), [[3, 0]])
    assert data.position("r") == 2
    with pytest.raises(IndexError, match=r"0 <= position < 3"):
        data[3]
    with pytest.raises(KeyError, match=r"unknown series id.*'pp'.*did you mean 'p'"):
        data.loc("pp")


def test_subsets_keep_targets_times_and_masks_aligned() -> None:
    data = three()
    picked = data[[2, 0]]
    assert picked.ids.tolist() == ["r", "p"]
    assert picked.lengths.tolist() == [3, 2]
    assert picked.times.tolist() == [0, 1, 2, 0, 1]
    assert picked.target.tolist() == [0, 0, 1, 1, 0]
    assert picked.observed[:, 1].tolist() == [1, 1, 1, 1, 0]
    masked = data[np.array([False, True, True])]
    assert masked.ids.tolist() == ["q", "r"]
    assert data[1:].ids.tolist() == ["q", "r"]


def test_replace_keeps_other_fields() -> None:
    data = three()
    doubled = data.replace(values=data.values * 2)
    assert doubled.values[0].tolist() == [2.0, 1.0]
    assert doubled.ids.tolist() == data.ids.tolist()
    assert doubled.target.tolist() == data.target.tolist()


def test_describe_delegates_to_explain(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    fake = types.ModuleType("timesteps.explain.describe")

    def describe(data: SequenceSet, batch_size: int = 32) -> str:
        calls.append((len(data), batch_size))
        return "summary"

    fake.describe = describe  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "timesteps.explain.describe", fake)
    assert three().describe(batch_size=8) == "summary"
    assert calls == [(3, 8)]

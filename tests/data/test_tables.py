"""Tables, arrays and files to SequenceSet and back: exact arrays, exact errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from timesteps import SequenceSet, read_csv, read_parquet

NAN = np.nan


def visits() -> pd.DataFrame:
    """Two patients, rows out of order, one missing measurement."""
    return pd.DataFrame(
        {
            "pid": ["b", "a", "b", "a", "b"],
            "day": [3, 2, 1, 1, 2],
            "bone": [30.0, 20.0, 10.0, 5.0, NAN],
            "weight": [3, 2, 1, 0, 2],
            "sick": [1, 0, 1, 0, 1],
            "sex": [1.0, 0.0, 1.0, 0.0, 1.0],
            "note": ["x", "y", "z", "w", "v"],
        }
    )


# -- from_long ------------------------------------------------------------------


def test_long_groups_by_first_appearance_and_sorts_by_time() -> None:
    data = SequenceSet.from_long(
        visits(), id="pid", time="day", target="sick", static="sex"
    )
    assert data.ids.tolist() == ["b", "a"]
    assert data.offsets.tolist() == [0, 3, 5]
    assert data.times.tolist() == [1, 2, 3, 1, 2]
    assert data.feature_names == ["bone", "weight"]
    np.testing.assert_array_equal(
        data.values,
        np.array([[10, 1], [NAN, 2], [30, 3], [5, 0], [20, 2]], dtype=np.float32),
    )
    np.testing.assert_array_equal(
        data.observed, [[1, 1], [0, 1], [1, 1], [1, 1], [1, 1]]
    )
    assert data.target_level == "series"
    assert data.target.tolist() == [1, 0]
    assert data.target_names == ["sick"]
    np.testing.assert_array_equal(data.static, [[1.0], [0.0]])
    assert data.static_names == ["sex"]


def test_long_target_that_varies_is_per_step() -> None:
    df = visits().assign(sick=[1, 0, 0, 0, 1])
    data = SequenceSet.from_long(df, id="pid", time="day", target="sick")
    assert data.target_level == "step"
    assert data.target.tolist() == [0, 1, 1, 0, 0]


def test_long_several_targets_and_text_target() -> None:
    df = visits().assign(label=["s", "h", "s", "h", "s"])
    data = SequenceSet.from_long(
        df, id="pid", time="day", features=["bone"], target=["sick", "weight"]
    )
    assert data.target_level == "step"
    assert data.target.tolist() == [[1, 1], [1, 2], [1, 3], [0, 0], [0, 2]]
    text = SequenceSet.from_long(df, id="pid", time="day", target="label")
    assert text.target_level == "series"
    assert text.target.tolist() == ["s", "h"]


def test_long_without_time_uses_row_order() -> None:
    data = SequenceSet.from_long(visits(), id="pid", features=["weight"])
    assert data.times.tolist() == [0, 1, 2, 0, 1]
    assert data.values.ravel().tolist() == [3, 1, 2, 2, 0]


def test_long_datetime_times_keep_their_dtype() -> None:
    days = pd.to_datetime(["2024-03-01", "2024-01-01", "2024-02-01"])
    df = pd.DataFrame({"id": [7, 7, 7], "t": days, "x": [3.0, 1.0, 2.0]})
    data = SequenceSet.from_long(df, id="id", time="t")
    assert data.times.dtype == df["t"].to_numpy().dtype
    assert data.values.ravel().tolist() == [1.0, 2.0, 3.0]
    back = data.to_long()
    pd.testing.assert_frame_equal(back, df.sort_values("t").reset_index(drop=True))


def test_long_time_zone_round_trips() -> None:
    days = pd.to_datetime(["2024-01-02", "2024-01-01"]).tz_localize("Europe/Berlin")
    df = pd.DataFrame({"id": [1, 1], "t": days, "x": [2.0, 1.0]})
    back = SequenceSet.from_long(df, id="id", time="t").to_long()
    pd.testing.assert_frame_equal(back, df.iloc[::-1].reset_index(drop=True))


def test_long_round_trip_keeps_columns_and_dtypes() -> None:
    df = visits().drop(columns="note")
    data = SequenceSet.from_long(df, id="pid", time="day", target="sick", static="sex")
    expected = df.iloc[[2, 4, 0, 3, 1]].reset_index(drop=True)
    expected = expected[["pid", "day", "bone", "weight", "sick", "sex"]]
    pd.testing.assert_frame_equal(data.to_long(), expected)


def test_long_duplicate_rows_are_named() -> None:
    df = pd.DataFrame({"id": [1, 1, 1, 2], "t": [5, 5, 5, 1], "x": [1.0] * 4})
    with pytest.raises(
        ValueError,
        match=r"several rows for the same \(id, time\).*received 1 repeated pairs: "
        r"\(id=1, time=5, count=3\)",
    ):
        SequenceSet.from_long(df, id="id", time="t")


def test_long_unknown_column_suggests_near_match() -> None:
    with pytest.raises(
        ValueError, match=r"column 'wieght' is not in the table.*did you mean 'weight'"
    ):
        SequenceSet.from_long(visits(), id="pid", time="day", features=["wieght"])


def test_long_non_numeric_feature_is_a_type_error() -> None:
    with pytest.raises(
        TypeError,
        match=r"feature column 'note' must hold numbers.*received dtype str.*"
        r"encode it as numbers",
    ):
        SequenceSet.from_long(visits(), id="pid", time="day", features=["note"])


def test_long_rows_without_id_or_time_are_dropped_and_counted() -> None:
    df = pd.DataFrame(
        {"id": [1, None, 1, 2], "t": [0, 1, None, 0], "x": [1.0, 2.0, 3.0, 4.0]}
    )
    with pytest.warns(
        UserWarning,
        match=r"dropped 2 of 4 rows whose id or time is missing "
        r"\(1 without an id 'id', 1 without a time 't'\)",
    ):
        data = SequenceSet.from_long(df, id="id", time="t")
    assert data.ids.tolist() == [1, 2]
    assert data.values.ravel().tolist() == [1.0, 4.0]


def test_long_inf_names_column_and_ids() -> None:
    df = visits().assign(bone=[1.0, 2.0, np.inf, 4.0, 5.0])
    with pytest.raises(ValueError, match=r"feature 'bone' holds inf.*with id 'b'"):
        SequenceSet.from_long(df, id="pid", time="day")


def test_long_varying_static_names_the_id() -> None:
    df = visits().assign(sex=[1.0, 0.0, 2.0, 0.0, 1.0])
    with pytest.raises(
        ValueError, match=r"static column 'sex' changes within a series.*id 'b'"
    ):
        SequenceSet.from_long(df, id="pid", time="day", static="sex")


def test_long_empty_inputs() -> None:
    with pytest.raises(ValueError, match="df has no rows"):
        SequenceSet.from_long(visits().iloc[:0], id="pid", time="day")
    with pytest.raises(ValueError, match=r"features= is empty"):
        SequenceSet.from_long(visits(), id="pid", time="day", features=[])
    only_text = pd.DataFrame({"id": [1], "t": [0], "s": ["a"]})
    with pytest.raises(ValueError, match="no numeric feature columns"):
        SequenceSet.from_long(only_text, id="id", time="t")
    with pytest.raises(TypeError, match="df must be a table"):
        SequenceSet.from_long(np.zeros((3, 3)), id="id")


def test_long_text_time_needs_parsing() -> None:
    df = pd.DataFrame({"id": [1], "t": ["2024-01-01"], "x": [1.0]})
    with pytest.raises(TypeError, match=r"pd.to_datetime\(df\['t'\]\)"):
        SequenceSet.from_long(df, id="id", time="t")


@st.composite
def long_tables(draw: st.DrawFn) -> pd.DataFrame:
    """Random ragged series: random ids, times, lengths 1..20, some NaN."""
    n_series = draw(st.integers(1, 6))
    text_ids = draw(st.booleans())
    raw_ids = draw(
        st.lists(
            st.integers(-50, 50), min_size=n_series, max_size=n_series, unique=True
        )
    )
    ids = [f"s{i}" for i in raw_ids] if text_ids else raw_ids
    rows = []
    for series_id in ids:
        length = draw(st.integers(1, 20))
        times = draw(
            st.lists(
                st.integers(-1000, 1000), min_size=length, max_size=length, unique=True
            )
        )
        for t in times:
            value = draw(
                st.one_of(
                    st.just(NAN),
                    st.floats(-1e6, 1e6, width=32, allow_nan=False),
                )
            )
            count = draw(st.integers(0, 9))
            rows.append((series_id, t, value, count))
    order = draw(st.permutations(range(len(rows))))
    rows = [rows[i] for i in order]
    return pd.DataFrame(rows, columns=["id", "time", "value", "count"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(long_tables())
def test_long_round_trip_property(df: pd.DataFrame) -> None:
    data = SequenceSet.from_long(df, id="id", time="time")
    assert data.n_steps == len(df)
    back = data.to_long()
    first = {v: i for i, v in enumerate(pd.unique(df["id"]))}
    expected = (
        df.assign(_rank=df["id"].map(first))
        .sort_values(["_rank", "time"], kind="stable")
        .drop(columns="_rank")
        .reset_index(drop=True)
    )
    pd.testing.assert_frame_equal(back, expected)


# -- from_wide ------------------------------------------------------------------


def test_wide_trailing_nan_shortens_inner_nan_is_unobserved() -> None:
    df = pd.DataFrame(
        {
            "pid": [10, 11, 12],
            "v1": [1.0, 4.0, 7.0],
            "v2": [2.0, NAN, 8.0],
            "v3": [3.0, 6.0, NAN],
            "sick": [0, 1, 0],
            "age": [30, 40, 50],
        }
    )
    data = SequenceSet.from_wide(
        df, id="pid", steps=["v1", "v2", "v3"], target="sick", static="age"
    )
    assert data.ids.tolist() == [10, 11, 12]
    assert data.lengths.tolist() == [3, 3, 2]
    assert data.feature_names == ["value"]
    np.testing.assert_array_equal(
        data.values.ravel(), np.array([1, 2, 3, 4, NAN, 6, 7, 8], np.float32)
    )
    assert data.observed.ravel().tolist() == [1, 1, 1, 1, 0, 1, 1, 1]
    assert data.times.tolist() == [0, 1, 2, 0, 1, 2, 0, 1]
    assert data.target.tolist() == [0, 1, 0]
    assert data.target_level == "series"
    np.testing.assert_array_equal(data.static, [[30], [40], [50]])


def test_wide_several_features_and_row_ids() -> None:
    df = pd.DataFrame(
        {
            "b1": [1.0, 5.0],
            "b2": [2.0, NAN],
            "w1": [10.0, 50.0],
            "w2": [NAN, NAN],
        }
    )
    data = SequenceSet.from_wide(
        df, steps={"bone": ["b1", "b2"], "weight": ["w1", "w2"]}
    )
    assert data.ids.tolist() == [0, 1]
    assert data.lengths.tolist() == [2, 1]
    np.testing.assert_array_equal(
        data.values, np.array([[1, 10], [2, NAN], [5, 50]], np.float32)
    )


def test_wide_errors() -> None:
    df = pd.DataFrame({"a": [1.0, NAN], "b": [2.0, NAN], "c": [3.0, NAN]})
    with pytest.raises(ValueError, match=r"same number of step columns.*x: 2, y: 1"):
        SequenceSet.from_wide(df, steps={"x": ["a", "b"], "y": ["c"]})
    with pytest.raises(ValueError, match=r"1 series have no timesteps.*with id 1"):
        SequenceSet.from_wide(df, steps=["a", "b", "c"])
    with pytest.raises(ValueError, match=r"column 'bb' is not in the table.*'b'"):
        SequenceSet.from_wide(df, steps=["a", "bb"])
    with pytest.raises(ValueError, match=r"from_wide needs the step columns"):
        SequenceSet.from_wide(df)
    with pytest.raises(ValueError, match=r"series ids \('i'\) must be unique.*1"):
        SequenceSet.from_wide(df.assign(i=[1, 1]), id="i", steps=["a"])


# -- from_arrays ----------------------------------------------------------------


def test_arrays_cube_with_series_target() -> None:
    X = np.arange(12, dtype=np.float64).reshape(2, 3, 2)
    data = SequenceSet.from_arrays(
        X, y=np.array([1, 0]), ids=["p", "q"], feature_names=["a", "b"]
    )
    assert data.lengths.tolist() == [3, 3]
    np.testing.assert_array_equal(data.series(1), X[1].astype(np.float32))
    assert data.target.tolist() == [1, 0]
    assert data.target_level == "series"
    assert data.observed is None
    assert data.times.tolist() == [0, 1, 2, 0, 1, 2]
    np.testing.assert_array_equal(data.loc("q"), X[1])


def test_arrays_per_step_target_and_torch_input() -> None:
    X = torch.arange(6, dtype=torch.float32).reshape(2, 3, 1)
    y = torch.tensor([[0, 1, 1], [1, 1, 0]])
    data = SequenceSet.from_arrays(X, y=y)
    assert data.target_level == "step"
    assert data.target.tolist() == [0, 1, 1, 1, 1, 0]
    as_series = SequenceSet.from_arrays(X, y=y, target_level="series")
    assert as_series.target.shape == (2, 3)


def test_arrays_list_of_series() -> None:
    X = [np.array([[1.0, 2.0]]), np.array([[3.0, NAN], [5.0, 6.0]])]
    y = [np.array([1]), np.array([0, 1])]
    data = SequenceSet.from_arrays(X, y=y, times=[[10], [20, 25]])
    assert data.lengths.tolist() == [1, 2]
    assert data.times.tolist() == [10, 20, 25]
    assert data.target.tolist() == [1, 0, 1]
    assert data.target_level == "step"
    assert data.observed.tolist() == [[1, 1], [1, 0], [1, 1]]


def test_arrays_two_axes_error_names_numbers() -> None:
    with pytest.raises(ValueError) as error:
        SequenceSet.from_arrays(np.zeros((4000, 3)))
    message = str(error.value)
    assert "(4000, 3)" in message
    assert "B=4000 samples of T=3 timesteps with no features axis" in message
    assert "X[..., None]" in message
    assert "X.reshape(4000, 3, 1)" in message


def test_arrays_list_of_1d_error_shows_fix() -> None:
    with pytest.raises(ValueError, match=r"\[a\[:, None\] for a in X\]"):
        SequenceSet.from_arrays([np.zeros(3), np.zeros(4)])


def test_arrays_transposed_feature_names() -> None:
    with pytest.raises(
        ValueError,
        match=r"feature_names has 3 names but X has 1 features on its last axis; 3 is "
        r"the size of axis 1 \(T\), so X looks transposed.*"
        r"np.transpose\(X, \(0, 2, 1\)\) or np.moveaxis\(X, 1, -1\)",
    ):
        SequenceSet.from_arrays(np.zeros((4000, 3, 1)), feature_names=["a", "b", "c"])


def test_arrays_y_length_on_wrong_axis() -> None:
    with pytest.raises(
        ValueError,
        match=r"y has 3 values but X has 4000 samples on axis 0.*matches axis 1 "
        r"\(T=3\).*np.moveaxis\(X, 1, 0\)",
    ):
        SequenceSet.from_arrays(np.zeros((4000, 3, 1)), y=np.zeros(3))
    with pytest.raises(ValueError, match=r"y\[1\] must have one value per step"):
        SequenceSet.from_arrays([np.zeros((2, 1)), np.zeros((3, 1))], y=[[0, 1], [0]])


def test_arrays_empty_series_and_bad_times() -> None:
    with pytest.raises(ValueError, match=r"1 series have no timesteps.*with id 'q'"):
        SequenceSet.from_arrays([np.zeros((2, 1)), np.zeros((0, 1))], ids=["p", "q"])
    with pytest.raises(ValueError, match=r"times must increase.*series 0 goes from 5"):
        SequenceSet.from_arrays(np.zeros((1, 2, 1)), times=[[5, 5]])
    with pytest.raises(ValueError, match=r"every series must have the same number"):
        SequenceSet.from_arrays([np.zeros((2, 1)), np.zeros((2, 2))])


# -- files ----------------------------------------------------------------------


def test_read_csv_long_and_wide(tmp_path) -> None:
    long_path = tmp_path / "long.csv"
    pd.DataFrame(
        {
            "id": [1, 1, 2],
            "day": ["2024-01-02", "2024-01-01", "2024-01-05"],
            "x": [2.0, 1.0, 3.0],
        }
    ).to_csv(long_path, index=False)
    data = read_csv(long_path, id="id", time="day")
    assert data.times.dtype.kind == "M"
    assert data.values.ravel().tolist() == [1.0, 2.0, 3.0]

    wide_path = tmp_path / "wide.csv"
    pd.DataFrame({"v1": [1.0, 2.0], "v2": [3.0, NAN]}).to_csv(wide_path, index=False)
    wide = read_csv(wide_path, steps=["v1", "v2"])
    assert wide.lengths.tolist() == [2, 1]


def test_read_parquet_long(tmp_path) -> None:
    path = tmp_path / "long.parquet"
    df = pd.DataFrame({"id": ["a", "a"], "t": [1.5, 0.5], "x": [2, 1]})
    df.to_parquet(path)
    data = read_parquet(path, id="id", time="t", target=None)
    assert data.times.tolist() == [0.5, 1.5]
    pd.testing.assert_frame_equal(data.to_long(), df.iloc[::-1].reset_index(drop=True))

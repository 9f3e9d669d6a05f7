"""Task views: rows, target dtypes, and clear errors when the target is missing."""

from __future__ import annotations

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


def _data(**fields: object) -> SequenceSet:
    values = np.arange(14, dtype=np.float32).reshape(7, 2)
    return SequenceSet(values, [0, 3, 7], **fields)


@pytest.mark.parametrize(
    ("target", "dtype"),
    [
        (np.array([0, 2]), np.int64),
        (np.array([True, False]), np.int64),
        (np.array([0.5, 1.5]), np.float32),
        (np.array([[0.5, 1.0], [1.5, 2.0]]), np.float32),
    ],
)
def test_series_target_dtype_is_decided_by_the_view(target, dtype) -> None:
    view = SeriesTargetView(_data(target=target))
    assert view.targets().dtype == dtype
    np.testing.assert_array_equal(view.targets(), target.astype(dtype))
    batch = next(iter(Batches(view, batch_size=2, shuffle=False)))
    assert batch.y.dtype == torch.from_numpy(np.zeros(1, dtype)).dtype
    np.testing.assert_array_equal(batch.y.numpy(), target.astype(dtype))


def test_rows_select_series() -> None:
    view = SeriesTargetView(_data(target=np.array([4, 7])), rows=[1])
    assert len(view) == 1
    np.testing.assert_array_equal(view.lengths, [4])
    np.testing.assert_array_equal(view.targets(), [7])
    batch = next(iter(view.to_batches(batch_size=8)))
    np.testing.assert_array_equal(batch.index.numpy(), [1])
    np.testing.assert_array_equal(batch.x[0].numpy(), np.arange(6, 14).reshape(4, 2))


def test_missing_target_says_how_to_give_one() -> None:
    expected = (
        "classification or regression needs a target per series: expected a "
        "SequenceSet with a target per series, received a SequenceSet with no "
        "target. Fix: pass target= to from_long/from_wide or y= to from_arrays."
    )
    with pytest.raises(ValueError, match=expected.replace(".", r"\.")):
        SeriesTargetView(_data())
    with pytest.raises(ValueError, match="labelling every step needs a target per"):
        StepTargetView(_data())


def test_target_at_the_wrong_level_names_the_other_view() -> None:
    per_step = _data(target=np.arange(7), target_level="step")
    with pytest.raises(ValueError, match=r"received a target per step\. Fix: use "):
        SeriesTargetView(per_step)
    per_series = _data(target=np.array([0, 1]))
    with pytest.raises(ValueError, match="use SeriesTargetView"):
        StepTargetView(per_series)


def test_string_targets_must_be_encoded_first() -> None:
    view = SeriesTargetView(_data(target=np.array(["ok", "fault"])))
    with pytest.raises(TypeError, match=r"encode class names to ints first"):
        Batches(view)


def test_nan_in_a_float_target_is_refused() -> None:
    view = SeriesTargetView(_data(target=np.array([1.0, np.nan])))
    with pytest.raises(ValueError, match=r"target per series has missing values"):
        view.targets()


def test_step_targets_per_step() -> None:
    view = StepTargetView(_data(target=np.arange(7) % 3, target_level="step"))
    batch = next(iter(Batches(view, batch_size=2, shuffle=False)))
    assert batch.y.dtype == torch.int64
    np.testing.assert_array_equal(batch.y.numpy(), [[0, 1, 2, 0], [0, 1, 2, 0]])
    np.testing.assert_array_equal(batch.lengths.numpy(), [3, 4])
    # the first row has 3 steps: its 4th target is padding (0, masked out)
    np.testing.assert_array_equal(batch.mask.numpy()[0], [True, True, True, False])


def test_reconstruction_and_input_views() -> None:
    batch = next(iter(ReconstructionView(_data()).to_batches(batch_size=2)))
    assert batch.y is batch.x
    batch = next(iter(InputView(_data()).to_batches(batch_size=2)))
    assert batch.y is None


def test_bad_rows_and_sources() -> None:
    with pytest.raises(ValueError, match=r"expected series positions 0 <= row < 2"):
        InputView(_data(), rows=[0, 2])
    with pytest.raises(TypeError, match="1-D array of ints"):
        InputView(_data(), rows=[0.5])
    with pytest.raises(TypeError, match="needs a SequenceSet"):
        InputView(np.zeros((2, 3, 1)))  # type: ignore[arg-type]

"""fit(device=...): checked at the boundary, and the fitted network comes back to
the CPU where predict, stream and save run."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

import timesteps as ts


def _fit(X: np.ndarray, y: np.ndarray, device: str) -> ts.Classifier:
    model = ts.Classifier(units=4, seed=0)
    model.fit(X, y, epochs=2, validation=None, verbose=0, device=device)
    return model


def test_auto_trains_where_torch_can_and_returns_to_the_cpu(
    sign_data: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = sign_data
    on_cpu = _fit(X, y, "cpu")
    auto = _fit(X, y, "auto")
    assert {p.device.type for p in auto.network.parameters()} == {"cpu"}
    if not torch.cuda.is_available():  # then "auto" is the CPU: the same run
        for a, b in zip(
            on_cpu.network.parameters(), auto.network.parameters(), strict=True
        ):
            assert torch.equal(a, b)
    np.testing.assert_array_equal(on_cpu.predict(X[:5]).shape, (5,))


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_a_gpu_that_torch_does_not_see_is_refused(
    sign_data: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = sign_data
    expected = (
        "fit(device=...) asks for a GPU that torch does not see: expected a CUDA "
        "device (torch.cuda.is_available() is True), received 'cuda'. Fix: train "
        'with device="cpu", or device="auto" to take a GPU only when there is one.'
    )
    with pytest.raises(ValueError, match=re.escape(expected)):
        _fit(X, y, "cuda")


def test_an_unknown_device_is_refused(
    sign_data: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = sign_data
    with pytest.raises(ValueError, match=re.escape("received 'gpu0'")):
        _fit(X, y, "gpu0")

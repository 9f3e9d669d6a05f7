"""Settings for the model tests: one torch thread (these networks are tiny, and
on a shared two-core machine two threads spin against each other), and small
synthetic data sets each test can share."""

from __future__ import annotations

import numpy as np
import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def sign_data() -> tuple[np.ndarray, np.ndarray]:
    """(B=300, T=8, F=1) noise; label "pos" when the sum is positive."""
    X = np.random.default_rng(0).normal(size=(300, 8, 1)).astype(np.float32)
    y = np.where(X.sum(axis=(1, 2)) > 0, "pos", "neg")
    return X, y


@pytest.fixture(scope="module")
def noisy_sines() -> np.ndarray:
    """(B=16, T=100, F=1) sines of random phase with noise 0.1."""
    rng = np.random.default_rng(0)
    t = np.arange(100.0)
    phases = rng.uniform(0, 2 * np.pi, 16)
    waves = np.sin(t[None, :] / 3 + phases[:, None]) + 0.1 * rng.normal(size=(16, 100))
    return waves[..., None].astype(np.float32)

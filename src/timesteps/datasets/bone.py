"""The bone-size study: patients, a bone size at a few monthly visits, an outcome.

How it is generated (``numpy.random.default_rng(seed)``):

- each patient has a baseline bone size ``~ N(50, 4)`` mm and a personal monthly
  growth rate ``r ~ N(1.0, 0.4)`` mm;
- between two visits a month apart the bone grows ``r + N(0, 0.3)`` mm, and each
  measurement adds reader noise ``N(0, 0.15)`` mm;
- the outcome is 1 with probability ``sigmoid(-1.0 + 2.5 z)``, where ``z`` is
  the standardised growth over the study, so fast growers are more often
  positive but no threshold separates the classes (about 37% positives; a
  threshold on the growth reaches about 0.81 accuracy, the majority class 0.63).

Sizes are rounded to 0.01 mm, weights to 0.1 kg.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._errors import problem


def bone_size(n_patients: int = 4000, seed: int = 0) -> pd.DataFrame:
    """The wide bone-size table: one row per patient, one column per visit.

    Columns: ``patient_id`` (1..n), ``bone_m1``, ``bone_m2``, ``bone_m3`` (bone
    size in mm at months 1, 2, 3), ``outcome`` (0/1). As model input this is
    ``(B=n_patients, T=3, F=1)``.

    >>> df = bone_size(n_patients=4000)
    >>> df.shape, list(df.columns)
    ((4000, 5), ['patient_id', 'bone_m1', 'bone_m2', 'bone_m3', 'outcome'])
    >>> round(float(df["outcome"].mean()), 2)   # share of positives
    0.37
    """
    _check_size("n_patients", n_patients)
    rng = np.random.default_rng(seed)
    baseline = rng.normal(50.0, 4.0, n_patients)
    rate = rng.normal(1.0, 0.4, n_patients)

    growth = rate[:, None] + rng.normal(0.0, 0.3, (n_patients, 2))
    true_size = baseline[:, None] + np.concatenate(
        [np.zeros((n_patients, 1)), np.cumsum(growth, axis=1)], axis=1
    )
    measured = true_size + rng.normal(0.0, 0.15, true_size.shape)

    outcome = _outcome(rng, growth.sum(axis=1))
    return pd.DataFrame(
        {
            "patient_id": np.arange(1, n_patients + 1),
            "bone_m1": measured[:, 0].round(2),
            "bone_m2": measured[:, 1].round(2),
            "bone_m3": measured[:, 2].round(2),
            "outcome": outcome,
        }
    )


def bone_size_long(n_patients: int = 1000, seed: int = 0) -> pd.DataFrame:
    """The long bone-size table: 2..6 visits per patient, and a weight measured
    at other times than the bone size.

    Columns: ``patient_id``, ``month`` (0..12), ``bone_size`` (mm, NaN where only
    the weight was taken), ``weight`` (kg, NaN where only the bone was measured),
    ``outcome`` (0/1, the same on every row of a patient). Rows are sorted by
    patient and month; at most one row per (patient, month).

    Each patient has 2..6 bone visits at distinct months and 1..4 weighings at
    distinct months (some coincide with a visit). The outcome depends on the
    bone growth rate and, more weakly, on the weight gain.

    >>> df = bone_size_long(n_patients=300)
    >>> sorted(df.groupby("patient_id")["bone_size"].count().unique().tolist())
    [2, 3, 4, 5, 6]
    >>> bool(df["weight"].isna().any() and df["bone_size"].isna().any())
    True
    """
    _check_size("n_patients", n_patients)
    rng = np.random.default_rng(seed)
    months = np.arange(13)
    baseline = rng.normal(50.0, 4.0, n_patients)
    rate = rng.normal(1.0, 0.4, n_patients)
    start_weight = rng.normal(30.0, 5.0, n_patients)
    weight_rate = 0.3 * rate + rng.normal(0.2, 0.15, n_patients)

    n_visits = rng.integers(2, 7, n_patients)
    n_weighings = rng.integers(1, 5, n_patients)
    frames = []
    for p in range(n_patients):
        bone_months = np.sort(rng.choice(months, n_visits[p], replace=False))
        weight_months = np.sort(rng.choice(months, n_weighings[p], replace=False))
        when = np.union1d(bone_months, weight_months)
        bone = baseline[p] + rate[p] * when + rng.normal(0.0, 0.3, len(when))
        weight = start_weight[p] + weight_rate[p] * when
        weight = weight + rng.normal(0.0, 0.4, len(when))
        frames.append(
            pd.DataFrame(
                {
                    "patient_id": p + 1,
                    "month": when,
                    "bone_size": np.where(
                        np.isin(when, bone_months), bone.round(2), np.nan
                    ),
                    "weight": np.where(
                        np.isin(when, weight_months), weight.round(1), np.nan
                    ),
                }
            )
        )
    df = pd.concat(frames, ignore_index=True)
    score = rate + 0.5 * (weight_rate - weight_rate.mean()) / weight_rate.std()
    outcome = _outcome(rng, score)
    df["outcome"] = outcome[df["patient_id"].to_numpy() - 1]
    return df


def _outcome(rng: np.random.Generator, growth: np.ndarray) -> np.ndarray:
    """0/1 outcomes, more likely positive for faster growth: noisy, learnable."""
    z = (growth - growth.mean()) / growth.std()
    probability = 1.0 / (1.0 + np.exp(-(-1.0 + 2.5 * z)))
    return (rng.random(len(z)) < probability).astype(np.int64)


def _check_size(name: str, value: object, minimum: int = 1) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        raise TypeError(problem(name, "an int", f"{type(value).__name__} {value!r}"))
    if value < minimum:
        raise ValueError(problem(name, f">= {minimum}", str(value)))

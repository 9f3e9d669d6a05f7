"""Embedded datasets: deterministic generators shipped inside the package.

Nothing is downloaded: each function draws its table from ``numpy``'s
``default_rng(seed)``, so the same arguments give the same table on every
machine. Each returns a pandas DataFrame in the form a user would have:

| function              | form                                      | for              |
|-----------------------|-------------------------------------------|------------------|
| ``bone_size``         | wide: a row per patient, three visits     | many-to-one      |
| ``bone_size_long``    | long: 2..6 visits, weight at other visits | irregular inputs |
| ``sensor_recordings`` | long: recordings of very different length | buckets, labels  |
| ``forecast_series``   | long: hourly, with calendar features      | forecasting      |

>>> import timesteps as ts
>>> ts.datasets.bone_size(n_patients=5).shape
(5, 5)
"""

from __future__ import annotations

from .bone import bone_size, bone_size_long
from .hourly import forecast_series
from .sensors import sensor_recordings

__all__ = ["bone_size", "bone_size_long", "forecast_series", "sensor_recordings"]

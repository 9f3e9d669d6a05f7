"""Task models built from the layers: each has ``fit``, ``predict``,
``evaluate``, ``save`` and ``timesteps.load``.

| model         | topology                        | output                          |
|---------------|---------------------------------|---------------------------------|
| ``Classifier``  | many-to-one                     | a label per series              |
| ``Regressor``   | many-to-one                     | values per series               |
| ``Tagger``      | many-to-many                    | a label per step                |
| ``Forecaster``  | direct, recursive, seq2seq      | h future steps per series       |
| ``Generator``   | one-to-many (repeat, fed back)  | a sequence from a vector        |
| ``Autoencoder`` | sequence to vector to sequence  | embeddings, anomaly scores      |
"""

from __future__ import annotations

from .._lazy import lazy_exports

_EXPORTS = {
    "TaskModel": ".base",
    "Classifier": ".classifier",
    "Regressor": ".classifier",
    "Tagger": ".tagger",
    "Forecaster": ".forecaster",
    "Generator": ".generator",
    "Autoencoder": ".autoencoder",
    "save": ".saving",
    "load": ".saving",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = list(_EXPORTS)

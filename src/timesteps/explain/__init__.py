"""Explain models and data: every shape, every parameter, the network unrolled.

- :func:`explain` traces a model on a batch: a table of every layer with its
  input and output shapes in the axis vocabulary, its parameter count and the
  formula behind it (PyTorch's and Keras'), and sentences about what is
  surprising in this model.
- :func:`diagram` draws the network unrolled over its timesteps (SVG or PNG).
- :func:`describe` summarises a SequenceSet: lengths, missing values, sampling,
  targets and the padding a batch would cost.
- :func:`parse_layers` reads ``["LSTM(300)", "Dense(20)"]`` into a Sequential
  (for the command line), evaluating only layer calls with literal arguments.

``timesteps.explain`` is both this package and the function: the package is
callable, so ``ts.explain(model)`` works however the package was imported
(importing ``timesteps.explain.anything`` binds the package to the name
``timesteps.explain``, which would otherwise hide the function).
"""

from __future__ import annotations

import sys
import types
from typing import Any

from .describe import DataSummary, describe
from .diagram import diagram
from .explain import explain
from .parse import parse_layers
from .table import Explanation, LayerRow

__all__ = [
    "DataSummary",
    "Explanation",
    "LayerRow",
    "describe",
    "diagram",
    "explain",
    "parse_layers",
]


class _CallablePackage(types.ModuleType):
    """This package, callable as :func:`explain`."""

    def __call__(self, *args: Any, **kwargs: Any) -> Explanation:
        return explain(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage

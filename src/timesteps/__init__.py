"""timesteps: recurrent sequence models on time series, with every shape explained.

Arrays that go into a model are ``(B, T, F)``: samples, timesteps, features.
See ``timesteps._shapes`` for the axis vocabulary used everywhere.

>>> import timesteps as ts
>>> ts.format_shape((50, 3, 1), "BTF")
'(B=50, T=3, F=1)'

Names are imported on first use (``_lazy``), so ``import timesteps`` and the
command line's ``--help`` do not load torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_exports
from ._shapes import format_shape

__version__ = "0.1.0"

_EXPORTS = {
    # data
    "SequenceSet": ".data",
    "read_csv": ".data",
    "read_parquet": ".data",
    "Windows": ".data",
    "Batch": ".data",
    "Batches": ".data",
    "Scaler": ".data",
    "datasets": ".datasets",
    # layers
    "layers": ".layers",
    "Sequential": ".layers",
    "SimpleRNN": ".layers",
    "LSTM": ".layers",
    "GRU": ".layers",
    "Bidirectional": ".layers",
    "Conv1D": ".layers",
    "Dense": ".layers",
    "TimeDistributed": ".layers",
    "RepeatVector": ".layers",
    # models
    "Classifier": ".models",
    "Regressor": ".models",
    "Tagger": ".models",
    "Forecaster": ".models",
    "Generator": ".models",
    "Autoencoder": ".models",
    "save": ".models",
    "load": ".models",
    # training
    "History": ".training",
    # explain
    "explain": ".explain",
    "diagram": ".explain",
    "describe": ".explain",
    # forecast evaluation
    "forecast": ".forecast",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "GRU",
    "LSTM",
    "Autoencoder",
    "Batch",
    "Batches",
    "Bidirectional",
    "Classifier",
    "Conv1D",
    "Dense",
    "Forecaster",
    "Generator",
    "History",
    "Regressor",
    "RepeatVector",
    "Scaler",
    "SequenceSet",
    "Sequential",
    "SimpleRNN",
    "Tagger",
    "TimeDistributed",
    "Windows",
    "__version__",
    "datasets",
    "describe",
    "diagram",
    "explain",
    "forecast",
    "format_shape",
    "layers",
    "load",
    "read_csv",
    "read_parquet",
    "save",
]

if TYPE_CHECKING:  # pragma: no cover - names for type checkers and IDEs
    from . import datasets, forecast, layers
    from .data import (
        Batch,
        Batches,
        Scaler,
        SequenceSet,
        Windows,
        read_csv,
        read_parquet,
    )
    from .explain import describe, diagram, explain
    from .layers import (
        GRU,
        LSTM,
        Bidirectional,
        Conv1D,
        Dense,
        RepeatVector,
        Sequential,
        SimpleRNN,
        TimeDistributed,
    )
    from .models import (
        Autoencoder,
        Classifier,
        Forecaster,
        Generator,
        Regressor,
        Tagger,
        load,
        save,
    )
    from .training import History

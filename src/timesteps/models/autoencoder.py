"""Autoencoder: a sequence to one vector and back, for embeddings and anomalies.

```
(B, T, F) ─► encoder: LSTM/GRU/SimpleRNN x layers ─► (B, H) the embedding
          ─► RepeatVector(T) ─► (B, T, H) ─► decoder: recurrent x layers
             (return_sequences=True) ─► TimeDistributed(Dense(F)) ─► (B, T, F)
```

The loss is the squared error of the real steps only (and only of values that
were recorded, when the data has an observed mask), in scaled units. A series
unlike those seen in training is rebuilt badly: its reconstruction error is the
anomaly score.

>>> import numpy as np, timesteps as ts
>>> X = np.random.default_rng(0).normal(size=(16, 6, 2))
>>> model = ts.Autoencoder(units=3)
>>> _ = model.fit(X, epochs=1, validation=None, verbose=0)
>>> model.embed(X).shape, model.predict(X).shape     # (B, H), (B, T, F)
((16, 3), (16, 6, 2))
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import torch

from ..data.batches import Batch
from ..data.sequence_set import SequenceSet
from ..data.views import InputView, ReconstructionView
from ..layers import Dense, TimeDistributed
from .base import TaskModel
from .builders import SequenceAutoencoder, conv_front, recurrent_layers
from .tagger import _by_series

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


class Scores(NamedTuple):
    """Reconstruction errors: ``steps`` per step (id, time, error) and
    ``series`` per series (id, score = the mean error of its steps). For array
    input: ``(B, T)`` (or a list of ``(T_i,)``) and ``(B,)`` arrays."""

    steps: Any
    series: Any


class Autoencoder(TaskModel):
    """Sequence autoencoder. ``units`` is the size H of the embedding (2H when
    ``bidirectional``: the encoder reads both ways, the decoder forward).

    Args: see :class:`~timesteps.models.base.TaskModel`; the network is always
    built (no ``network=``).
    """

    kind = "Autoencoder"
    accepts_network = False

    def __init__(
        self,
        *,
        cell: str = "lstm",
        units: int = 32,
        layers: int = 1,
        dropout: float = 0.0,
        bidirectional: bool = False,
        conv: dict[str, Any] | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__(
            cell=cell,
            units=units,
            layers=layers,
            dropout=dropout,
            bidirectional=bidirectional,
            conv=conv,
            seed=seed,
        )

    def _split(
        self, data: SequenceSet, fraction: float
    ) -> tuple[SequenceSet, SequenceSet]:
        from ..data.splits import split

        return split(data, fraction=fraction, seed=self.config["seed"], stratify=False)

    def _build(self) -> torch.nn.Module:
        c = self.config
        F_ = len(self.feature_names_ or [])
        encoder = conv_front(c["conv"]) + recurrent_layers(
            c["cell"],
            c["units"],
            c["layers"],
            dropout=c["dropout"],
            bidirectional=c["bidirectional"],
        )
        decoder = recurrent_layers(
            c["cell"],
            c["units"],
            c["layers"],
            dropout=c["dropout"],
            return_sequences=True,
        )
        decoder.append(TimeDistributed(Dense(F_)))
        return SequenceAutoencoder(encoder, decoder, input_shape=(None, F_))

    def _source(self, data: SequenceSet, purpose: str) -> Any:
        if purpose == "predict":
            return InputView(data)
        return ReconstructionView(data)

    def _forward(self, network: torch.nn.Module, batch: Batch) -> torch.Tensor:
        return network(batch.x, batch.lengths)  # (B, T, F)

    def _loss(self, network: torch.nn.Module, batch: Batch) -> tuple[torch.Tensor, Any]:
        out = self._forward(network, batch)
        counted = _counted(batch)  # (B, T, F)
        squared = (out - batch.x) ** 2 * counted
        n = counted.sum()
        return squared.sum() / n.clamp(min=1), n

    def _errors(self, data: SequenceSet) -> np.ndarray:
        """``(N,)`` mean squared error over the features of each step (scaled
        units, recorded values only)."""

        def step_errors(network: torch.nn.Module, batch: Batch) -> torch.Tensor:
            counted = _counted(batch)
            squared = (self._forward(network, batch) - batch.x) ** 2 * counted
            return squared.sum(-1) / counted.sum(-1).clamp(min=1)  # (B, T)

        return self._per_step(InputView(self._scaled(data)), step_errors)

    def predict(self, data: Any) -> pd.DataFrame | np.ndarray | list[np.ndarray]:
        """The reconstruction in original units: a long DataFrame (id, time,
        features), or for arrays ``(B, T, F)`` (a list when lengths differ)."""
        data, arrays = self._inputs(data, "predict")
        flat = self._per_step(InputView(self._scaled(data)))  # (N, F)
        names = list(self.feature_names_ or [])
        if self.scaler_ is not None:
            flat = self.scaler_.inverse_transform_values(flat, names)
        if arrays:
            return _by_series(flat, data)
        return self._step_frame(data, {n: flat[:, j] for j, n in enumerate(names)})

    def embed(self, data: Any) -> pd.DataFrame | np.ndarray:
        """The encoder's vector of each series: a DataFrame (id, h0, h1, ...)
        or a ``(B, H)`` array for arrays."""
        data, arrays = self._inputs(data, "embed")

        def vectors(network: Any, batch: Batch) -> torch.Tensor:
            return network.embed(batch.x, batch.lengths)  # (B, H)

        embedding = self._per_series(InputView(self._scaled(data)), len(data), vectors)
        if arrays:
            return embedding
        columns = {f"h{k}": embedding[:, k] for k in range(embedding.shape[1])}
        return self._series_frame(data, columns)

    def score(self, data: Any) -> Scores:
        """Reconstruction errors per step and an anomaly score per series (the
        mean of its step errors; higher is more unusual)."""
        data, arrays = self._inputs(data, "score")
        errors = self._errors(data)  # (N,)
        per_series = np.add.reduceat(errors, data.offsets[:-1]) / data.lengths
        if arrays:
            return Scores(_by_series(errors, data), per_series)
        steps = self._step_frame(data, {"error": errors})
        series = self._series_frame(data, {"score": per_series})
        return Scores(steps, series)

    def evaluate(self, data: Any) -> dict[str, float]:
        """``loss``: the mean squared reconstruction error (scaled units) of
        the recorded values; ``n_series``."""
        data, _ = self._inputs(data, "evaluate")
        loss = self._evaluate_loss(ReconstructionView(self._scaled(data)))
        return {"loss": loss, "n_series": float(len(data))}


def _counted(batch: Batch) -> torch.Tensor:
    """``(B, T, F)`` 1.0 where a value counts: a real step, and recorded."""
    counted = batch.mask.unsqueeze(-1).to(batch.x.dtype).expand_as(batch.x)
    if batch.observed is not None:
        counted = counted * batch.observed.to(batch.x.dtype)
    return counted

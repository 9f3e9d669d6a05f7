"""Tagger: a label for every step (many-to-many).

```
(B, T, F) ─► LSTM/GRU/SimpleRNN x layers (return_sequences=True) ─► (B, T, H)
          ─► TimeDistributed(Dense(C)) ─► (B, T, C) logits, softmax per step
```

The loss is the cross-entropy of the real steps only: padding (steps past a
series' end) never counts, so a batch of mixed lengths gives the same loss as
each series alone. A bidirectional tagger reads each series from its own end
backwards as well.

>>> import numpy as np, timesteps as ts
>>> X = np.random.default_rng(0).normal(size=(16, 6, 1))
>>> model = ts.Tagger(units=4)
>>> _ = model.fit(X, (X[..., 0] > 0).astype(int), epochs=1, validation=None,
...               verbose=0)
>>> model.predict(X).shape      # (B, T): a label per step
(16, 6)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F

from .._errors import problem
from ..data.batches import Batch
from ..data.sequence_set import SequenceSet
from ..data.views import InputView, StepTargetView
from ..layers import Dense, Sequential, TimeDistributed
from ..layers.base import varying_lengths
from ..layers.state import _forward_carrying
from .base import (
    TaskModel,
    class_labels,
    class_weight_vector,
    encode_labels,
    learn_classes,
)
from .builders import conv_front, recurrent_layers
from .classifier import _labels_from_json, _labels_to_json

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


class Tagger(TaskModel):
    """A label per step. Labels may be strings or ints (``classes_``); the
    validation part is split by series.

    Args: see :class:`~timesteps.models.base.TaskModel`. A ``conv`` front must
    keep every step (``strides=1``).
    """

    kind = "Tagger"
    chunkable = True

    def __init__(
        self,
        *,
        cell: str = "lstm",
        units: int = 32,
        layers: int = 1,
        dropout: float = 0.0,
        bidirectional: bool = False,
        conv: dict[str, Any] | None = None,
        network: Sequential | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__(
            cell=cell,
            units=units,
            layers=layers,
            dropout=dropout,
            bidirectional=bidirectional,
            conv=conv,
            network=network,
            seed=seed,
        )
        if conv is not None and conv.get("strides", 1) != 1:
            raise ValueError(
                problem(
                    "Tagger: a label per step needs every step",
                    "conv strides=1",
                    f"strides={conv['strides']}",
                    "drop strides from conv, or use a Classifier",
                )
            )
        self.classes_: np.ndarray | None = None
        self.class_weights_: torch.Tensor | None = None

    def _prepare_fit(
        self, data: SequenceSet, *, refit: bool, validation: bool = False
    ) -> SequenceSet:
        if data.target is None or data.target_level != "step":
            received = (
                "no target"
                if data.target is None
                else f"a target per {data.target_level}"
            )
            raise ValueError(
                problem(
                    "Tagger learns a label per step",
                    "a SequenceSet with a target per step",
                    received,
                    "pass y as (B, T) or a list of (T_i,) label arrays, or a "
                    "per-step target column to from_long",
                )
            )
        labels = class_labels(np.asarray(data.target))
        if labels.ndim != 1:
            raise ValueError(
                problem(
                    "Tagger: one label per step",
                    "a per-step target (N,)",
                    f"shape {labels.shape}",
                )
            )
        if not refit and not validation:
            self.classes_ = learn_classes(labels, "Tagger", "target")
        assert self.classes_ is not None  # learned on the first fit
        return data.replace(target=encode_labels(labels, self.classes_, "Tagger"))

    def _split(
        self, data: SequenceSet, fraction: float
    ) -> tuple[SequenceSet, SequenceSet]:
        from ..data.splits import split

        return split(data, fraction=fraction, seed=self.config["seed"], stratify=False)

    def _set_class_weights(self, train_part: SequenceSet, class_weight: Any) -> None:
        assert self.classes_ is not None and train_part.target is not None
        weights = class_weight_vector(
            class_weight, self.classes_, train_part.target, "Tagger"
        )
        self.class_weights_ = (
            None if weights is None else torch.tensor(weights, dtype=torch.float32)
        )

    def _network_output_shape(self) -> tuple[int | None, ...]:
        assert self.classes_ is not None
        return (None, len(self.classes_))

    def _build(self) -> torch.nn.Module:
        c = self.config
        assert self.classes_ is not None
        stack = conv_front(c["conv"]) + recurrent_layers(
            c["cell"],
            c["units"],
            c["layers"],
            dropout=c["dropout"],
            bidirectional=c["bidirectional"],
            return_sequences=True,
        )
        stack.append(TimeDistributed(Dense(len(self.classes_))))
        F_ = len(self.feature_names_ or [])
        return Sequential(stack, input_shape=(None, F_))

    def _source(self, data: SequenceSet, purpose: str) -> Any:
        if purpose == "predict" or data.target is None:
            return InputView(data)
        return StepTargetView(data)

    def _forward(self, network: torch.nn.Module, batch: Batch) -> torch.Tensor:
        return network(batch.x, batch.lengths)  # (B, T, C)

    def _forward_states(
        self, network: torch.nn.Module, batch: Batch, states: list[torch.Tensor]
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        lengths = varying_lengths(batch.lengths, batch.x.shape[1])
        return _forward_carrying(network, batch.x, lengths, states)  # (B, T, C)

    def _loss(self, network: torch.nn.Module, batch: Batch) -> tuple[torch.Tensor, Any]:
        logits = self._forward_any(network, batch)  # (B, T, C); a chunk's steps
        y = batch.y
        assert y is not None
        mask = batch.mask  # (B, T): real steps only
        losses = F.cross_entropy(logits[mask], y[mask], reduction="none")  # (n,)
        if self.class_weights_ is not None and network.training:
            losses = losses * self.class_weights_.to(losses.device)[y[mask]]
        return losses.mean(), int(mask.sum())

    def _probabilities(
        self, data: SequenceSet, chunk_length: int | str | None
    ) -> np.ndarray:
        """``(N, C)`` per-step probabilities in the data's flat step order."""
        C = self._chunking(chunk_length, "predict")
        logits = self._per_step(InputView(self._scaled(data)), chunk_length=C)
        return torch.softmax(torch.from_numpy(logits), dim=-1).numpy()

    def predict_proba(
        self, data: Any, *, chunk_length: int | str | None = "fit"
    ) -> pd.DataFrame | np.ndarray | list[np.ndarray]:
        """Per-step class probabilities: a DataFrame (id, time, one column per
        class), or for arrays ``(B, T, C)`` (a list of ``(T_i, C)`` when the
        lengths differ). ``chunk_length``: ``"fit"`` reads series in the chunks
        fit used, an int in chunks of that many steps, None whole."""
        data, arrays = self._inputs(data, "predict_proba")
        probabilities = self._probabilities(data, chunk_length)
        if arrays:
            return _by_series(probabilities, data)
        assert self.classes_ is not None
        columns = {str(c): probabilities[:, k] for k, c in enumerate(self.classes_)}
        return self._step_frame(data, columns)

    def predict(
        self, data: Any, *, chunk_length: int | str | None = "fit"
    ) -> pd.DataFrame | np.ndarray | list[np.ndarray]:
        """The label of every step: a DataFrame (id, time, prediction), or for
        arrays ``(B, T)`` (a list of ``(T_i,)`` when the lengths differ);
        ``chunk_length`` as in :meth:`predict_proba`."""
        data, arrays = self._inputs(data, "predict")
        assert self.classes_ is not None
        probabilities = self._probabilities(data, chunk_length)
        labels = self.classes_[probabilities.argmax(axis=1)]
        if arrays:
            return _by_series(labels, data)
        return self._step_frame(data, {"prediction": labels})

    def evaluate(
        self, data: Any, y: Any = None, *, chunk_length: int | str | None = "fit"
    ) -> dict[str, float]:
        """``loss`` (cross-entropy per real step), ``accuracy`` over the real
        steps, and ``n_steps``; ``chunk_length`` as in :meth:`predict_proba`."""
        self._check_fitted("evaluate")
        C = self._chunking(chunk_length, "evaluate")
        data, arrays = self._as_data(data, y)
        data = self._check_features(data, arrays=arrays)
        data = self._prepare_fit(data, refit=True, validation=True)
        scaled = self._scaled(data)
        loss = self._evaluate_loss(StepTargetView(scaled), C)
        predicted = self._per_step(InputView(scaled), chunk_length=C).argmax(axis=1)
        accuracy = float((predicted == data.target).mean())
        return {"loss": loss, "accuracy": accuracy, "n_steps": float(data.n_steps)}

    def _stream_parts(
        self,
    ) -> tuple[Sequential, Callable[[torch.Tensor, torch.Tensor | None], Any]]:
        assert isinstance(self.network, Sequential) and self.classes_ is not None
        classes = self.classes_
        return self.network, lambda out, extra: classes[out.numpy().argmax(axis=-1)]

    def _state(self) -> dict[str, Any]:
        state = super()._state()
        state["classes"] = _labels_to_json(self.classes_)
        return state

    def _set_state(self, state: dict[str, Any]) -> None:
        super()._set_state(state)
        self.classes_ = _labels_from_json(state["classes"])


def _by_series(flat: np.ndarray, data: SequenceSet) -> np.ndarray | list[np.ndarray]:
    """Flat ``(N, ...)`` step values as ``(B, T, ...)`` when every series has T
    steps, else a list of ``(T_i, ...)`` arrays."""
    lengths = data.lengths
    if len(set(lengths.tolist())) == 1:
        return flat.reshape(len(data), int(lengths[0]), *flat.shape[1:])
    return [flat[a:b] for a, b in zip(data.offsets[:-1], data.offsets[1:], strict=True)]

"""Many-to-one models: a label (Classifier) or values (Regressor) per series.

The network reads every step of a series and keeps the recurrent state at the
series' own last step, a (B, H) vector, which a Dense layer maps to the output:

```
(B, T, F) ─► [Conv1D] ─► LSTM/GRU/SimpleRNN x layers ─► (B, H) ─► [+ static (B, S)]
          ─► Dense(K) ─► (B, K): one logit (two classes), C logits, or K values
```

>>> import numpy as np, timesteps as ts
>>> X = np.random.default_rng(0).normal(size=(64, 6, 1))
>>> y = np.where(X.sum(axis=(1, 2)) > 0, "up", "down")
>>> model = ts.Classifier(units=8)
>>> _ = model.fit(X, y, epochs=2, validation=None, verbose=0)
>>> model.classes_.tolist(), model.predict(X[:3]).shape
(['down', 'up'], (3,))
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
from ..data.views import InputView, SeriesTargetView
from ..layers import Dense, Sequential
from ..layers.base import varying_lengths
from ..layers.state import _forward_carrying
from .base import (
    TaskModel,
    class_labels,
    class_weight_vector,
    encode_labels,
    learn_classes,
)
from .builders import ManyToOne, conv_front, recurrent_layers

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


class _ManyToOneModel(TaskModel):
    """What Classifier and Regressor share: the network, static features and
    chunked training (the loss of a row at the chunk where its series ends)."""

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
        static: bool = True,
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
        self.config["static"] = bool(static)

    def _uses_static(self, data: SequenceSet) -> bool:
        return (
            self.config["static"]
            and data.static is not None
            and not self.custom_network
        )

    def _n_outputs(self) -> int:
        raise NotImplementedError

    def _network_output_shape(self) -> tuple[int | None, ...]:
        return (self._n_outputs(),)

    def _build(self) -> torch.nn.Module:
        c = self.config
        encoder = conv_front(c["conv"]) + recurrent_layers(
            c["cell"],
            c["units"],
            c["layers"],
            dropout=c["dropout"],
            bidirectional=c["bidirectional"],
        )
        F_ = len(self.feature_names_ or [])
        return ManyToOne(
            encoder,
            [Dense(self._n_outputs())],
            input_shape=(None, F_),
            extra_features=len(self.static_names_),
        )

    def _source(self, data: SequenceSet, purpose: str) -> Any:
        if purpose == "predict" or data.target is None:
            return InputView(data)
        return SeriesTargetView(data)

    def _forward(self, network: torch.nn.Module, batch: Batch) -> torch.Tensor:
        if self.custom_network:
            return network(batch.x, batch.lengths)
        extra = batch.static if self.static_names_ else None
        return network(batch.x, batch.lengths, extra)  # (B, K)

    def _forward_states(
        self, network: torch.nn.Module, batch: Batch, states: list[torch.Tensor]
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        lengths = varying_lengths(batch.lengths, batch.x.shape[1])
        if self.custom_network:
            return _forward_carrying(network, batch.x, lengths, states)
        assert isinstance(network, ManyToOne)
        vector, final = _forward_carrying(network.encoder, batch.x, lengths, states)
        if network.extra_features:
            assert batch.static is not None  # the network reads static features
            vector = torch.cat([vector, batch.static], dim=-1)  # (B, H + S)
        return network.head(vector), final  # (B, K)

    def _loss(self, network: torch.nn.Module, batch: Batch) -> tuple[torch.Tensor, Any]:
        y = batch.y
        assert y is not None  # a SeriesTargetView
        if batch.chunk is None:
            return self._series_loss(network, self._forward(network, batch), y)
        ends = batch.ends  # (B,) rows whose series ends in this chunk
        assert ends is not None  # set on every chunk
        if not bool(ends.any()):
            with torch.no_grad():  # only carries the state to the next chunk
                self._carried_forward(network, batch)
            return batch.x.new_zeros(()), 0  # weight 0: no optimiser step
        out = self._carried_forward(network, batch)  # (B, K)
        return self._series_loss(network, out[ends], y[ends])

    def _series_loss(
        self, network: torch.nn.Module, out: torch.Tensor, y: torch.Tensor
    ) -> tuple[torch.Tensor, Any]:
        """(mean loss, weight) of outputs ``out`` (B, K) against targets ``y``."""
        raise NotImplementedError

    def _outputs(self, data: SequenceSet, chunk_length: Any = "fit") -> np.ndarray:
        """``(B, K)`` network outputs for every series of checked data."""
        C = self._chunking(chunk_length, "predict")
        view = InputView(self._scaled(data))
        return self._per_series(view, len(data), chunk_length=C)

    def _stream_parts(
        self,
    ) -> tuple[Sequential, Callable[[torch.Tensor, torch.Tensor | None], Any]]:
        assert self.network is not None  # fitted
        network = self.network
        if self.custom_network:
            assert isinstance(network, Sequential)
            return network, lambda out, extra: self._finish(out.numpy())
        assert isinstance(network, ManyToOne)

        def finish(vector: torch.Tensor, extra: torch.Tensor | None) -> Any:
            if network.extra_features:
                assert extra is not None  # checked by stream
                vector = torch.cat([vector, extra], dim=-1)
            return self._finish(network.head(vector).numpy())

        return network.encoder, finish

    def _finish(self, outputs: np.ndarray) -> Any:
        """Network outputs ``(B, K)`` to what ``predict`` returns for arrays."""
        raise NotImplementedError


class Classifier(_ManyToOneModel):
    """One label per series (many-to-one).

    Two classes: one logit and binary cross-entropy (``BCEWithLogits``); more:
    C logits and softmax cross-entropy. Labels may be strings or ints; they are
    encoded in sorted order (``classes_``) and decoded by ``predict``. The
    validation part is split by series, keeping each class's share.

    Args: see :class:`~timesteps.models.base.TaskModel`; ``static=True`` joins
    the data's static features to the encoder's vector.

    >>> import numpy as np, timesteps as ts
    >>> X = np.random.default_rng(1).normal(size=(40, 4, 2))
    >>> model = ts.Classifier(units=4, cell="gru")
    >>> _ = model.fit(X, (X[:, :, 0].sum(1) > 0).astype(int), epochs=1,
    ...               validation=None, verbose=0)
    >>> model.predict_proba(X[:2]).shape      # (B, C)
    (2, 2)
    """

    kind = "Classifier"

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
        static: bool = True,
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
            static=static,
            seed=seed,
        )
        self.classes_: np.ndarray | None = None
        self.class_weights_: torch.Tensor | None = None

    @property
    def binary(self) -> bool:
        """Two classes: one logit, sigmoid."""
        return self.classes_ is not None and len(self.classes_) == 2

    def _n_outputs(self) -> int:
        assert self.classes_ is not None  # learned before the network is built
        return 1 if self.binary else len(self.classes_)

    def _prepare_fit(
        self, data: SequenceSet, *, refit: bool, validation: bool = False
    ) -> SequenceSet:
        target = _series_target(data, "Classifier")
        if target.ndim != 1:
            raise ValueError(
                problem(
                    "Classifier: one label per series",
                    "a target of shape (B,)",
                    f"shape {target.shape}",
                    "pass one label per series; for several values use Regressor",
                )
            )
        labels = class_labels(target)
        if not refit and not validation:
            self.classes_ = learn_classes(labels, "Classifier", "target column")
        assert self.classes_ is not None  # learned on the first fit
        codes = encode_labels(labels, self.classes_, "Classifier")
        return data.replace(target=codes)

    def _set_class_weights(self, train_part: SequenceSet, class_weight: Any) -> None:
        assert self.classes_ is not None and train_part.target is not None
        weights = class_weight_vector(
            class_weight, self.classes_, train_part.target, "Classifier"
        )
        self.class_weights_ = (
            None if weights is None else torch.tensor(weights, dtype=torch.float32)
        )

    def _series_loss(
        self, network: torch.nn.Module, logits: torch.Tensor, y: torch.Tensor
    ) -> tuple[torch.Tensor, Any]:
        if self.binary:
            losses = F.binary_cross_entropy_with_logits(
                logits[:, 0], y.to(logits.dtype), reduction="none"
            )
        else:
            losses = F.cross_entropy(logits, y, reduction="none")  # (B,)
        if self.class_weights_ is not None and network.training:
            losses = losses * self.class_weights_.to(losses.device)[y]
        return losses.mean(), int(y.shape[0])

    def _probabilities(self, outputs: np.ndarray) -> np.ndarray:
        logits = torch.from_numpy(outputs)
        if self.binary:
            p = torch.sigmoid(logits[:, 0])
            return torch.stack([1 - p, p], dim=1).numpy()  # (B, 2)
        return torch.softmax(logits, dim=1).numpy()  # (B, C)

    def _finish(self, outputs: np.ndarray) -> np.ndarray:
        assert self.classes_ is not None  # fitted
        return self.classes_[self._probabilities(outputs).argmax(axis=1)]

    def predict_proba(
        self, data: Any, *, chunk_length: int | str | None = "fit"
    ) -> pd.DataFrame | np.ndarray:
        """Class probabilities: a DataFrame (id and one column per class) for a
        SequenceSet or table, a ``(B, C)`` array for arrays. ``chunk_length``:
        ``"fit"`` reads series in the chunks fit used, an int in chunks of that
        many steps, None whole (the results agree to float precision)."""
        data, arrays = self._inputs(data, "predict_proba")
        probabilities = self._probabilities(self._outputs(data, chunk_length))
        if arrays:
            return probabilities
        assert self.classes_ is not None  # fitted
        columns = {str(c): probabilities[:, k] for k, c in enumerate(self.classes_)}
        return self._series_frame(data, columns)

    def predict(
        self, data: Any, *, chunk_length: int | str | None = "fit"
    ) -> pd.DataFrame | np.ndarray:
        """The most probable label of each series: a DataFrame (id,
        prediction) for a SequenceSet or table, a ``(B,)`` array for arrays;
        ``chunk_length`` as in :meth:`predict_proba`."""
        data, arrays = self._inputs(data, "predict")
        labels = self._finish(self._outputs(data, chunk_length))
        if arrays:
            return labels
        return self._series_frame(data, {"prediction": labels})

    def evaluate(
        self, data: Any, y: Any = None, *, chunk_length: int | str | None = "fit"
    ) -> dict[str, float]:
        """``loss`` (cross-entropy), ``accuracy`` and ``n_series`` on labelled
        data; ``chunk_length`` as in :meth:`predict_proba`."""
        self._check_fitted("evaluate")
        C = self._chunking(chunk_length, "evaluate")
        data, arrays = self._as_data(data, y)
        data = self._check_features(data, arrays=arrays)
        data = self._prepare_fit(data, refit=True, validation=True)
        assert data.target is not None and self.classes_ is not None
        scaled = self._scaled(data)
        loss = self._evaluate_loss(SeriesTargetView(scaled), C)
        outputs = self._per_series(InputView(scaled), len(data), chunk_length=C)
        predicted = self._probabilities(outputs)
        accuracy = float((predicted.argmax(axis=1) == data.target).mean())
        return {"loss": loss, "accuracy": accuracy, "n_series": float(len(data))}

    def _state(self) -> dict[str, Any]:
        state = super()._state()
        state["classes"] = _labels_to_json(self.classes_)
        return state

    def _set_state(self, state: dict[str, Any]) -> None:
        super()._set_state(state)
        self.classes_ = _labels_from_json(state["classes"])


class Regressor(_ManyToOneModel):
    """Values per series (many-to-one): ``(B,)`` or ``(B, K)`` targets, MSE.

    Targets are standardised with the mean and standard deviation of the
    training part (``scale=True``) and predictions are put back in original
    units.

    >>> import numpy as np, timesteps as ts
    >>> X = np.random.default_rng(2).normal(size=(32, 5, 1))
    >>> model = ts.Regressor(units=4)
    >>> _ = model.fit(X, 10 + X.sum(axis=(1, 2)), epochs=1, validation=None, verbose=0)
    >>> model.predict(X[:4]).shape
    (4,)
    """

    kind = "Regressor"

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
        static: bool = True,
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
            static=static,
            seed=seed,
        )
        self.target_names_: list[str] = []
        self.target_ndim_ = 1
        self.target_offset_: np.ndarray | None = None
        self.target_scale_: np.ndarray | None = None

    def _n_outputs(self) -> int:
        return len(self.target_names_)

    def _prepare_fit(
        self, data: SequenceSet, *, refit: bool, validation: bool = False
    ) -> SequenceSet:
        target = _series_target(data, "Regressor")
        if target.dtype.kind not in "biuf" or target.ndim > 2:
            raise ValueError(
                problem(
                    "Regressor: numeric targets per series",
                    "numbers of shape (B,) or (B, K)",
                    f"dtype {target.dtype}, shape {target.shape}",
                    "use Classifier for labels",
                )
            )
        values = target.astype(np.float64)
        if np.isnan(values).any():
            raise ValueError(
                problem(
                    "Regressor: the target has missing values",
                    "no NaN in the target",
                    f"{int(np.isnan(values).sum())} NaN",
                    "drop those series or fill their targets",
                )
            )
        K = 1 if values.ndim == 1 else values.shape[1]
        if refit or validation:
            if len(self.target_names_) != K:
                raise ValueError(
                    problem(
                        "Regressor: the target has another number of values",
                        f"K={len(self.target_names_)} values per series",
                        f"K={K}",
                        "pass the same targets as in the first fit",
                    )
                )
        else:
            names = list(data.target_names)
            if len(names) != K:
                names = ["target"] if K == 1 else [f"target{k}" for k in range(K)]
            self.target_names_ = names
            self.target_ndim_ = values.ndim
        return data.replace(target=values.reshape(len(data), K))

    def _learn_targets(self, train_part: SequenceSet, scale: bool) -> None:
        assert train_part.target is not None
        target = train_part.target
        K = target.shape[1]
        if scale:
            offset, spread = target.mean(axis=0), target.std(axis=0)
            self.target_offset_ = offset
            self.target_scale_ = np.where(spread > 0, spread, 1.0)
        else:
            self.target_offset_, self.target_scale_ = np.zeros(K), np.ones(K)

    def _scaled(self, data: SequenceSet) -> SequenceSet:
        data = super()._scaled(data)
        if data.target is not None and data.target_level == "series":
            assert self.target_offset_ is not None and self.target_scale_ is not None
            target = (data.target - self.target_offset_) / self.target_scale_
            data = data.replace(target=target.astype(np.float32))
        return data

    def _series_loss(
        self, network: torch.nn.Module, out: torch.Tensor, y: torch.Tensor
    ) -> tuple[torch.Tensor, Any]:
        return F.mse_loss(out, y.reshape(out.shape)), int(out.numel())

    def _values(self, outputs: np.ndarray) -> np.ndarray:
        assert self.target_offset_ is not None and self.target_scale_ is not None
        return outputs.astype(np.float64) * self.target_scale_ + self.target_offset_

    def _finish(self, outputs: np.ndarray) -> np.ndarray:
        values = self._values(outputs)
        return values[:, 0] if self.target_ndim_ == 1 else values

    def predict(
        self, data: Any, *, chunk_length: int | str | None = "fit"
    ) -> pd.DataFrame | np.ndarray:
        """Values in original units: a DataFrame (id, one column per target)
        for a SequenceSet or table; ``(B,)`` or ``(B, K)`` for arrays.
        ``chunk_length``: ``"fit"`` reads series in the chunks fit used, an int
        in chunks of that many steps, None whole."""
        data, arrays = self._inputs(data, "predict")
        values = self._values(self._outputs(data, chunk_length))
        if arrays:
            return values[:, 0] if self.target_ndim_ == 1 else values
        columns = {name: values[:, k] for k, name in enumerate(self.target_names_)}
        return self._series_frame(data, columns)

    def evaluate(
        self, data: Any, y: Any = None, *, chunk_length: int | str | None = "fit"
    ) -> dict[str, float]:
        """``loss`` (MSE of the scaled targets, as in training) and ``mse``,
        ``rmse``, ``mae`` in original units, and ``n_series``; ``chunk_length``
        as in :meth:`predict`."""
        self._check_fitted("evaluate")
        C = self._chunking(chunk_length, "evaluate")
        data, arrays = self._as_data(data, y)
        data = self._check_features(data, arrays=arrays)
        data = self._prepare_fit(data, refit=True, validation=True)
        assert data.target is not None
        scaled = self._scaled(data)
        loss = self._evaluate_loss(SeriesTargetView(scaled), C)
        outputs = self._per_series(InputView(scaled), len(data), chunk_length=C)
        values = self._values(outputs)
        error = values - data.target
        mse = float((error**2).mean())
        return {
            "loss": loss,
            "mse": mse,
            "rmse": float(np.sqrt(mse)),
            "mae": float(np.abs(error).mean()),
            "n_series": float(len(data)),
        }

    def _state(self) -> dict[str, Any]:
        state = super()._state()
        state.update(
            target_names=self.target_names_,
            target_ndim=self.target_ndim_,
            target_offset=_floats(self.target_offset_),
            target_scale=_floats(self.target_scale_),
        )
        return state

    def _set_state(self, state: dict[str, Any]) -> None:
        super()._set_state(state)
        self.target_names_ = list(state["target_names"])
        self.target_ndim_ = int(state["target_ndim"])
        self.target_offset_ = np.asarray(state["target_offset"], dtype=np.float64)
        self.target_scale_ = np.asarray(state["target_scale"], dtype=np.float64)


def _series_target(data: SequenceSet, who: str) -> np.ndarray:
    if data.target is None or data.target_level != "series":
        received = (
            "no target" if data.target is None else f"a target per {data.target_level}"
        )
        raise ValueError(
            problem(
                f"{who} learns one target per series",
                "a SequenceSet with a target per series (B,)",
                received,
                "pass y= with one value per series, or target= to from_long",
            )
        )
    return np.asarray(data.target)


def _floats(array: np.ndarray | None) -> list[float] | None:
    return None if array is None else [float(v) for v in array]


def _labels_to_json(labels: np.ndarray | None) -> dict[str, Any] | None:
    """Class labels with their kind, so that loading gives the same dtype."""
    if labels is None:
        return None
    kind = labels.dtype.kind
    if kind in "US":
        return {"kind": "str", "values": [str(v) for v in labels.tolist()]}
    if kind == "b":
        return {"kind": "bool", "values": [bool(v) for v in labels.tolist()]}
    if kind in "iu":
        return {"kind": "int", "values": [int(v) for v in labels.tolist()]}
    return {"kind": "float", "values": [float(v) for v in labels.tolist()]}


_KINDS = {"str": str, "bool": bool, "int": np.int64, "float": np.float64}


def _labels_from_json(state: Any) -> np.ndarray | None:
    if state is None:
        return None
    if not isinstance(state, dict) or state.get("kind") not in _KINDS:
        raise ValueError(
            problem(
                "saved classes",
                "a dict with kind in str/bool/int/float and values",
                repr(state)[:80],
            )
        )
    return np.asarray(state["values"], dtype=_KINDS[state["kind"]])

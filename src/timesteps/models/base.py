"""TaskModel: what every task model shares.

A task model owns a network made of layers (``.network``), the names of the
features it was built for, the scaler fitted on its training part, and the
steps from data to results:

```
data (SequenceSet, long table, arrays) ──► checked against the model's features
  ──► split for validation (never leaking) ──► Scaler fitted on the training part
  ──► task view / windows ──► Batches ──► trainer ──► History
predict: same checks and scaling ──► network ──► outputs in original units,
  aligned to series ids and times (a DataFrame), or arrays for array input
```

Subclasses say what is task-specific: how the target is prepared, how the
validation part is split, which network is built, the loss, and how outputs
become results.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Hashable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch

from .._errors import near_matches, problem
from .._shapes import format_shape
from ..data.batches import Batch, Batches
from ..data.scaling import Scaler
from ..data.sequence_set import SequenceSet
from ..data.splits import split
from ..data.tables import from_arrays, from_long
from ..data.views import SequenceView
from ..data.windows import Windows
from ..layers import Conv1D, Dense, Sequential, TimeDistributed
from ..layers.recurrent import Bidirectional, _Recurrent
from ..training import History, TrainConfig
from ..training import evaluate as evaluate_loss
from ..training import fit as train
from .builders import CELLS, seeded

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..layers import StateStore

logger = logging.getLogger(__name__)

PREDICT_BATCH = 256
"""Rows per batch at prediction (no gradients, so larger than in training)."""


class TaskModel:
    """A network of recurrent layers for one task, with fit/predict/save.

    Args:
        cell: ``"lstm"``, ``"gru"`` or ``"rnn"`` (SimpleRNN).
        units: H, the size of each recurrent layer's state.
        layers: how many recurrent layers are stacked.
        dropout: input dropout of each recurrent layer (training only).
        bidirectional: read each sequence forward and backward (2H outputs).
        conv: ``None`` or ``dict(filters, kernel_size, strides)``: a causal
            Conv1D front that shortens long series by ``strides`` before the
            recurrent layers.
        network: a ``Sequential`` to use instead of the built network (full
            control); it must take the model's ``(T, F)`` input and give the
            task's output shape.
        seed: seeds the initial weights, the shuffling and the split.
    """

    kind: ClassVar[str] = "TaskModel"
    accepts_network: ClassVar[bool] = True
    chunkable: ClassVar[bool] = False
    """Whether ``fit``/``predict`` take ``chunk_length`` (state carried across
    consecutive chunks of each series)."""

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
        name = type(self).__name__
        if cell not in CELLS:
            raise ValueError(
                problem(
                    f"{name}: unknown recurrent cell",
                    " or ".join(repr(c) for c in CELLS),
                    repr(cell),
                    near_matches(str(cell), CELLS),
                )
            )
        self.config: dict[str, Any] = {
            "cell": cell,
            "units": _positive_int(units, "units", name),
            "layers": _positive_int(layers, "layers", name),
            "dropout": _fraction(dropout, name),
            "bidirectional": bool(bidirectional),
            "conv": _check_conv(conv, name),
            "seed": _positive_int(seed, "seed", name, minimum=0),
        }
        if network is not None:
            if not isinstance(network, Sequential):
                raise TypeError(
                    problem(
                        f"{name}: network must be a Sequential",
                        "a timesteps.Sequential of timesteps layers",
                        type(network).__name__,
                        "wrap the layers in Sequential([...], input_shape=(None, F))",
                    )
                )
            if not self.accepts_network:
                raise ValueError(
                    problem(
                        f"{name} builds its own network",
                        "network=None",
                        "a Sequential",
                        "leave network out and set cell/units/layers, or train "
                        "the Sequential itself with its compile/fit",
                    )
                )
        self.network: torch.nn.Module | None = network
        self.custom_network = network is not None
        self.feature_names_: list[str] | None = None
        self.static_names_: list[str] = []
        self.scaler_: Scaler | None = None
        self.static_offset_: np.ndarray | None = None
        self.static_scale_: np.ndarray | None = None
        self.history_: History | None = None
        self.meta_: dict[str, Any] = {}
        self.chunk_length_: int | None = None
        self._stream_store: StateStore | None = None
        self._chunk_states: list[torch.Tensor] = []

    # -- description -------------------------------------------------------------------

    @property
    def input_shape(self) -> tuple[int | None, ...] | None:
        """The per-sample input ``(T, F)`` (T None: any length), None before fit."""
        if self.feature_names_ is None:
            return None
        return (None, len(self.feature_names_))

    @property
    def is_fitted(self) -> bool:
        return self.feature_names_ is not None and self.network is not None

    def __repr__(self) -> str:
        shown = {k: v for k, v in self.config.items() if v is not None}
        body = ", ".join(f"{k}={v!r}" for k, v in shown.items())
        fitted = "" if self.is_fitted else ", not fitted"
        return f"{type(self).__name__}({body}{fitted})"

    # -- fitting -----------------------------------------------------------------------

    def fit(
        self,
        data: Any,
        y: Any = None,
        *,
        epochs: int = 20,
        batch_size: int = 32,
        validation: float | SequenceSet | None = 0.2,
        early_stopping: int | None = 5,
        lr: float = 1e-3,
        optimizer: str = "adam",
        clip_norm: float | None = 1.0,
        class_weight: str | dict[Any, float] | None = None,
        checkpoint_dir: str | Path | None = None,
        resume: bool = False,
        verbose: int = 1,
        scale: bool = True,
        chunk_length: int | None = None,
        device: str | torch.device = "cpu",
    ) -> History:
        """Train on ``data`` and return the History of the run.

        Args:
            data: a SequenceSet, or arrays ``X`` ``(B, T, F)`` / a list of
                ``(T_i, F)`` arrays with their targets ``y``.
            validation: a fraction held out (by series; by time for
                forecasters), a SequenceSet, or None.
            early_stopping: patience in epochs on the validation loss (the
                training loss without validation); the best epoch's weights are
                kept. None: train all epochs.
            class_weight: classifiers and taggers: None, ``"balanced"`` or a
                dict label -> weight.
            checkpoint_dir, resume: write a checkpoint each epoch; continue one.
            scale: standardise the features (and regression targets) with
                statistics of the training part only.
            chunk_length: None, or C: read each batch of series as consecutive
                chunks of at most C steps, carrying every recurrent layer's
                state from one chunk to the next and detaching it in between
                (truncated backpropagation through time), so memory grows
                with C, not with the longest series. Classifier, Regressor
                and Tagger; ``predict`` and ``evaluate`` then use the same C
                by default. Layers that look ahead (bidirectional) or across
                steps (a Conv1D with kernel_size or strides > 1) are refused.

            device: where to train: ``"cpu"``, ``"cuda"``, ``"cuda:1"``, or
                ``"auto"`` (a GPU when torch sees one). Under ``torchrun`` each
                process takes ``cuda:LOCAL_RANK``. The fitted network comes back
                to the CPU, where ``predict``, ``stream`` and ``save`` run.

        A second ``fit`` continues training the same network with the scaler
        and classes of the first.
        """
        place = _training_device(device)
        if chunk_length is not None:
            self._check_chunk_length(chunk_length, "fit")
        data, _ = self._as_data(data, y)
        fitted = self.is_fitted
        if fitted:
            data = self._check_features(data, arrays=False)
        data = self._prepare_fit(data, refit=fitted)
        train_part, valid_part = self._validation_parts(data, validation)
        if not fitted:
            self._learn_inputs(train_part, scale)
            self._learn_targets(train_part, scale)
            self.network = self._new_network()
        if chunk_length is not None:
            self._check_chunkable(chunk_length, "fit")
        if isinstance(validation, SequenceSet) and valid_part is not None:
            valid_part = self._check_features(valid_part, arrays=False)
        self._set_class_weights(train_part, class_weight)
        seed = self.config["seed"]
        train_batches = self._source(self._scaled(train_part), "fit").to_batches(
            batch_size=batch_size, shuffle=True, seed=seed, chunk_length=chunk_length
        )
        valid_batches = None
        if valid_part is not None:
            valid_batches = self._source(
                self._scaled(valid_part), "validation"
            ).to_batches(
                batch_size=max(batch_size, PREDICT_BATCH),
                shuffle=False,
                chunk_length=chunk_length,
            )
        config = TrainConfig(
            epochs=epochs,
            optimizer=optimizer,
            lr=lr,
            clip_norm=clip_norm,
            early_stopping=early_stopping,
            seed=seed,
            verbose=verbose,
            checkpoint_dir=checkpoint_dir,
            resume=resume,
            device=place,
        )
        assert self.network is not None  # built above
        try:
            self.history_ = train(
                self.network, self._loss, train_batches, valid_batches, config
            )
        finally:
            self._chunk_states = []
            self.network.to("cpu")
        self.chunk_length_ = chunk_length
        self.network.eval()
        self._stream_store = None
        return self.history_

    def _validation_parts(
        self, data: SequenceSet, validation: Any
    ) -> tuple[SequenceSet, SequenceSet | None]:
        """(train, validation); a float splits by series (subclasses by time)."""
        if validation is None:
            return data, None
        if isinstance(validation, SequenceSet):
            # features are checked in fit, once the model knows its own
            return data, self._prepare_fit(validation, refit=True, validation=True)
        fraction = _validation_fraction(validation, type(self).__name__)
        return self._split(data, fraction)

    def _split(
        self, data: SequenceSet, fraction: float
    ) -> tuple[SequenceSet, SequenceSet]:
        """By series: a series is in one part only (stratified for classes)."""
        return split(data, fraction=fraction, seed=self.config["seed"])

    def _learn_inputs(self, train_part: SequenceSet, scale: bool) -> None:
        """Feature names, static names and the scalers, from the training part."""
        self.feature_names_ = list(train_part.feature_names)
        self.meta_ = {
            "id_name": str(train_part.meta.get("id_name", "id")),
            "time_name": str(train_part.meta.get("time_name", "time")),
            "source": str(train_part.meta.get("source", "")),
        }
        self.scaler_ = Scaler().fit(train_part) if scale else None
        if self._uses_static(train_part):
            assert train_part.static is not None  # checked by _uses_static
            self.static_names_ = list(train_part.static_names)
            static = train_part.static.astype(np.float64)
            offset, spread = static.mean(axis=0), static.std(axis=0)
            if not scale:
                offset, spread = np.zeros_like(offset), np.ones_like(spread)
            self.static_offset_ = offset
            self.static_scale_ = np.where(spread > 0, spread, 1.0)

    def _uses_static(self, data: SequenceSet) -> bool:
        """Whether the network reads static features (subclasses that can)."""
        return False

    def _new_network(self) -> torch.nn.Module:
        if isinstance(self.network, Sequential):
            return self._check_custom(self.network)
        with seeded(self.config["seed"]):
            network = self._build()
        return network.eval()

    def _check_custom(self, network: Sequential) -> Sequential:
        """A user's Sequential must read the model's features and give the
        task's output."""
        name = type(self).__name__
        F = len(self.feature_names_ or [])
        if network.input_shape[-1] != F or len(network.input_shape) != 2:
            raise ValueError(
                problem(
                    f"{name}: the network's input does not fit the data",
                    f"input_shape=(T, F={F}) for the features {self.feature_names_}",
                    f"input_shape={network.input_shape}",
                    f"build the Sequential with input_shape=(None, {F})",
                )
            )
        expected = self._network_output_shape()
        received = tuple(network.output_shape)
        if not _shape_fits(received, expected):
            raise ValueError(
                problem(
                    f"{name}: the network's output does not fit the task",
                    f"per-sample output {_show_shape(expected)}",
                    f"{_show_shape(received)}",
                    "end the Sequential with a layer giving that shape, e.g. "
                    f"Dense({expected[-1]})",
                )
            )
        return network

    # -- hooks for subclasses ----------------------------------------------------------

    def _prepare_fit(
        self, data: SequenceSet, *, refit: bool, validation: bool = False
    ) -> SequenceSet:
        """Check and encode the target of training data."""
        return data

    def _learn_targets(self, train_part: SequenceSet, scale: bool) -> None:
        """Learn target encodings or scalings from the training part."""

    def _set_class_weights(self, train_part: SequenceSet, class_weight: Any) -> None:
        if class_weight is not None:
            raise ValueError(
                problem(
                    f"{type(self).__name__} has no classes to weight",
                    "class_weight=None",
                    repr(class_weight),
                    "class_weight is for Classifier and Tagger",
                )
            )

    def _build(self) -> torch.nn.Module:
        raise NotImplementedError

    def _network_output_shape(self) -> tuple[int | None, ...]:
        raise NotImplementedError

    def _source(self, data: SequenceSet, purpose: str) -> SequenceView | Windows:
        """The view (or windows) batches are made from, for ``purpose`` in
        ``"fit"``, ``"validation"``, ``"evaluate"``, ``"predict"``."""
        raise NotImplementedError

    def _loss(self, network: torch.nn.Module, batch: Batch) -> tuple[torch.Tensor, Any]:
        raise NotImplementedError

    def forward_batch(self, batch: Batch) -> torch.Tensor:
        """The network's output for a batch of scaled inputs (what ``explain``
        traces): logits, values, forecasts or reconstructions."""
        self._check_fitted("forward_batch")
        assert self.network is not None  # fitted
        return self._forward(self.network, batch)

    def _forward(self, network: torch.nn.Module, batch: Batch) -> torch.Tensor:
        raise NotImplementedError

    # -- chunks: state carried from one chunk to the next ----------------------------

    def _forward_states(
        self, network: torch.nn.Module, batch: Batch, states: list[torch.Tensor]
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The output for a chunk, starting every recurrent layer from
        ``states`` (empty: zeros), and the states at each row's last step in
        the chunk (chunkable models)."""
        raise NotImplementedError

    def _carried_forward(self, network: torch.nn.Module, batch: Batch) -> torch.Tensor:
        """The output for one chunk, from the states the previous chunk of the
        same rows left (zeros at a batch's first chunk); keeps its final states,
        detached, for the next chunk: truncated backpropagation through time."""
        states = [] if batch.first else self._chunk_states
        output, final = self._forward_states(network, batch, states)
        self._chunk_states = [] if batch.last else [s.detach() for s in final]
        return output

    def _forward_any(self, network: torch.nn.Module, batch: Batch) -> torch.Tensor:
        """``_forward`` for a batch, ``_carried_forward`` for a chunk."""
        if batch.chunk is None:
            return self._forward(network, batch)
        return self._carried_forward(network, batch)

    def _check_chunk_length(self, chunk_length: Any, action: str) -> None:
        name = type(self).__name__
        if not self.chunkable:
            raise ValueError(
                problem(
                    f"{name}.{action}: chunk_length is for models that read each "
                    "series in order to one state",
                    "chunk_length=None",
                    f"chunk_length={chunk_length!r}",
                    "use a Classifier, Regressor or Tagger for chunked series, or "
                    "leave chunk_length out",
                )
            )
        _positive_int(chunk_length, "chunk_length", f"{name}.{action}")

    def _check_chunkable(self, chunk_length: int, action: str) -> None:
        """Every layer that reads the timesteps must carry its state forward
        exactly: refuse those that look ahead or across chunk boundaries."""
        on_time = True
        for layer in _stacks(self.network):
            if not on_time:
                break
            reason = _chunk_refusal(layer)
            if reason is not None:
                why, fix = reason
                raise ValueError(
                    problem(
                        f"{type(self).__name__}.{action}: chunk_length="
                        f"{chunk_length} carries each layer's state from one "
                        f"chunk to the next, which {layer!r} cannot do",
                        "layers that read the steps in order: SimpleRNN, LSTM, "
                        "GRU (one direction), Dense, TimeDistributed, Conv1D "
                        "with kernel_size=1 and strides=1",
                        f"{layer!r}: {why}",
                        fix,
                    )
                )
            if isinstance(layer, _Recurrent):
                on_time = layer.return_sequences

    def _chunking(self, chunk_length: Any, action: str) -> int | None:
        """The chunk length for predict/evaluate: ``"fit"`` gives fit's."""
        if isinstance(chunk_length, str) and chunk_length == "fit":
            return self.chunk_length_
        if chunk_length is None:
            return None
        self._check_chunk_length(chunk_length, action)
        self._check_chunkable(chunk_length, action)
        return int(chunk_length)

    # -- data in -----------------------------------------------------------------------

    def _as_data(self, data: Any, y: Any = None) -> tuple[SequenceSet, bool]:
        """A SequenceSet and whether it came from arrays."""
        name = type(self).__name__
        if isinstance(data, SequenceSet):
            if y is not None:
                data = _with_target(data, y)
            return data, False
        if _is_frame(data):
            return self._from_frame(data, y), False
        if isinstance(data, (np.ndarray, torch.Tensor, list, tuple)):
            return from_arrays(data, y), True
        raise TypeError(
            problem(
                f"{name} takes series",
                "a SequenceSet, a (B, T, F) array or a list of (T_i, F) arrays",
                type(data).__name__,
                "build a SequenceSet with SequenceSet.from_long(df, id=..., "
                "time=...) or pass arrays",
            )
        )

    def _from_frame(self, df: Any, y: Any) -> SequenceSet:
        """A long table, read with the id and time columns seen in training."""
        name = type(self).__name__
        if not self.is_fitted or y is not None:
            raise TypeError(
                problem(
                    f"{name}.fit takes a SequenceSet, not a table",
                    "a SequenceSet (it says which columns are id, time, target)",
                    "a DataFrame",
                    "build one with SequenceSet.from_long(df, id='id', time='time', "
                    "target='y')",
                )
            )
        id_name, time_name = self.meta_.get("id_name", "id"), self.meta_["time_name"]
        missing = [c for c in (id_name,) if c not in df.columns]
        if missing:
            raise ValueError(
                problem(
                    f"{name}: the table lacks the id column seen in training",
                    f"a column {id_name!r}",
                    f"columns {list(df.columns)[:10]}",
                    "rename the id column, or build a SequenceSet with from_long",
                )
            )
        time = time_name if time_name in df.columns else None
        static = [s for s in self.static_names_ if s in df.columns] or None
        features = [f for f in (self.feature_names_ or []) if f in df.columns]
        return from_long(df, id=id_name, time=time, features=features, static=static)

    def _check_features(self, data: SequenceSet, *, arrays: bool) -> SequenceSet:
        """The data's features, in the model's order; arrays (or any data, for
        a model trained on unnamed array features f0, f1, ...) get the model's
        names. Raises when they
        differ from those the model was built for."""
        expected = list(self.feature_names_ or [])
        received = list(data.feature_names)
        F, G = len(expected), len(received)
        fix = (
            f"pass data with the {F} features the model was built for, in any "
            "order, or fit a new model on these features"
        )
        unnamed = arrays or expected == [f"f{j}" for j in range(F)]
        if unnamed and F == G:  # array features have positions, not names
            data = data.replace(feature_names=expected)
        elif received != expected:
            if sorted(received) == sorted(expected):
                order = [received.index(n) for n in expected]
                observed = None if data.observed is None else data.observed[:, order]
                data = data.replace(
                    values=data.values[:, order],
                    observed=observed,
                    feature_names=expected,
                )
            else:
                missing = [n for n in expected if n not in received]
                if missing and F == G:
                    fix = f"{fix}; missing {missing}"
                raise ValueError(
                    problem(
                        f"{type(self).__name__}: the data's features differ from "
                        "those the model was built for",
                        f"F={F} features {expected}",
                        f"F={G} features {received}",
                        fix,
                    )
                )
        if self.static_names_:
            data = self._check_static(data)
        return data

    def _check_static(self, data: SequenceSet) -> SequenceSet:
        expected = self.static_names_
        received = list(data.static_names) if data.static is not None else []
        if sorted(received) != sorted(expected) or data.static is None:
            raise ValueError(
                problem(
                    f"{type(self).__name__} reads static (per-series) features",
                    f"S={len(expected)} static features {expected}",
                    f"S={len(received)} static features {received}",
                    "pass static= when building the SequenceSet, as in training",
                )
            )
        order = [received.index(n) for n in expected]
        return data.replace(static=data.static[:, order], static_names=expected)

    def _check_fitted(self, action: str) -> None:
        if not self.is_fitted:
            name = type(self).__name__
            raise ValueError(
                problem(
                    f"{name}.{action} needs a fitted model",
                    "a model trained with fit() or read with timesteps.load()",
                    "a model that was never fitted",
                    f"call {name.lower()}.fit(train) first",
                )
            )

    def _inputs(self, data: Any, action: str) -> tuple[SequenceSet, bool]:
        """Checked data for predict/evaluate and whether it came from arrays."""
        self._check_fitted(action)
        data, arrays = self._as_data(data)
        return self._check_features(data, arrays=arrays), arrays

    def _scaled(self, data: SequenceSet) -> SequenceSet:
        """Features (and static features) in the units the network learned."""
        if self.scaler_ is not None:
            data = self.scaler_.transform(data)
        if self.static_names_ and data.static is not None:
            assert self.static_offset_ is not None and self.static_scale_ is not None
            static = (data.static - self.static_offset_) / self.static_scale_
            data = data.replace(static=static.astype(np.float32))
        return data

    def _scale_values(self, x: np.ndarray) -> np.ndarray:
        """Scale raw ``(..., F)`` feature values (streaming)."""
        if self.scaler_ is None:
            return x.astype(np.float32)
        assert self.scaler_.offset_ is not None and self.scaler_.scale_ is not None
        offset, scale = self.scaler_.offset_, self.scaler_.scale_
        return ((x - offset) / scale).astype(np.float32)

    # -- running the network -----------------------------------------------------------

    def batches(self, data: Any, y: Any = None, batch_size: int = 32) -> Batches:
        """The batches the model reads for ``data`` (checked and scaled as in
        prediction; with the target when ``data`` has one): for ``explain``.

        >>> import numpy as np, timesteps as ts
        >>> X = np.random.default_rng(0).normal(size=(8, 5, 2))
        >>> model = ts.Regressor(units=4)
        >>> _ = model.fit(X, X.sum(axis=(1, 2)), epochs=1, validation=None, verbose=0)
        >>> batch = next(iter(model.batches(X)))
        >>> tuple(model.forward_batch(batch).shape)     # (B, K)
        (8, 1)
        """
        self._check_fitted("batches")
        data, arrays = self._as_data(data, y)
        data = self._check_features(data, arrays=arrays)
        purpose = "predict"
        if data.target is not None:
            data = self._prepare_fit(data, refit=True, validation=True)
            purpose = "evaluate"
        source = self._source(self._scaled(data), purpose)
        return source.to_batches(batch_size=batch_size, shuffle=False)

    def _run(
        self,
        source: SequenceView | Windows,
        fn: Callable[[torch.nn.Module, Batch], torch.Tensor] | None = None,
        chunk_length: int | None = None,
    ) -> tuple[list[torch.Tensor], list[Batch]]:
        """Outputs of every batch (or chunk) of ``source`` (in evaluation mode,
        no gradients) and the batches, in order."""
        assert self.network is not None  # fitted
        fn = fn or (self._forward if chunk_length is None else self._carried_forward)
        network = self.network
        was_training = network.training
        network.eval()
        outputs, batches = [], []
        try:
            with torch.no_grad():
                for batch in source.to_batches(
                    batch_size=PREDICT_BATCH, shuffle=False, chunk_length=chunk_length
                ):
                    outputs.append(fn(network, batch))
                    batches.append(batch)
        finally:
            network.train(was_training)
            self._chunk_states = []
        return outputs, batches

    def _per_series(
        self,
        source: SequenceView | Windows,
        n: int,
        fn: Any = None,
        chunk_length: int | None = None,
    ) -> np.ndarray:
        """``(n, ...)`` outputs by row position (views: series; windows: window);
        chunked, each row's output comes from the chunk where its series ends."""
        outputs, batches = self._run(source, fn, chunk_length)
        if chunk_length is not None:
            ends = [b.ends for b in batches if b.ends is not None]  # (B,) bool
            outputs = [out[end] for out, end in zip(outputs, ends, strict=True)]
            batches = [
                dataclasses.replace(b, index=b.index[end])
                for b, end in zip(batches, ends, strict=True)
            ]
        rows = torch.cat([_rows(source, b) for b in batches]).numpy()
        values = torch.cat(outputs).numpy()
        result = np.zeros((n, *values.shape[1:]), dtype=values.dtype)
        result[rows] = values
        return result

    def _per_step(
        self, view: SequenceView, fn: Any = None, chunk_length: int | None = None
    ) -> np.ndarray:
        """``(N, ...)`` step outputs in ``view.data``'s flat step order."""
        data = view.data
        outputs, batches = self._run(view, fn, chunk_length)
        flat = None
        for out, batch in zip(outputs, batches, strict=True):
            mask = batch.mask.numpy()  # (B, T)
            positions = batch.index.numpy()
            starts = data.offsets[positions] + batch.start  # (B,)
            rows = starts[:, None] + _within(mask)
            values = out.numpy()
            if flat is None:
                flat = np.zeros((data.n_steps, *values.shape[2:]), values.dtype)
            flat[rows[mask]] = values[mask]
        assert flat is not None  # at least one batch
        return flat

    # -- results out -------------------------------------------------------------------

    def _id_name(self, data: SequenceSet) -> str:
        return str(data.meta.get("id_name", self.meta_.get("id_name", "id")))

    def _time_name(self, data: SequenceSet) -> str:
        return str(data.meta.get("time_name", self.meta_.get("time_name", "time")))

    def _series_frame(
        self, data: SequenceSet, columns: dict[str, Any], ids: Any = None
    ) -> pd.DataFrame:
        import pandas as pd

        frame = {self._id_name(data): data.ids if ids is None else ids, **columns}
        return pd.DataFrame(frame)

    def _step_frame(self, data: SequenceSet, columns: dict[str, Any]) -> pd.DataFrame:
        import pandas as pd

        frame = {
            self._id_name(data): np.repeat(data.ids, data.lengths),
            self._time_name(data): data.times,
            **columns,
        }
        return pd.DataFrame(frame)

    def _evaluate_loss(
        self, source: SequenceView | Windows, chunk_length: int | None = None
    ) -> float:
        assert self.network is not None  # fitted
        batches = source.to_batches(
            batch_size=PREDICT_BATCH, shuffle=False, chunk_length=chunk_length
        )
        try:
            return float(evaluate_loss(self.network, self._loss, batches)["loss"])
        finally:
            self._chunk_states = []

    # -- streaming ---------------------------------------------------------------------

    def _stream_parts(
        self,
    ) -> tuple[Sequential, Callable[[torch.Tensor, torch.Tensor | None], Any]]:
        """The Sequential to stream and how its output becomes the result."""
        raise ValueError(
            problem(
                f"{type(self).__name__} does not stream",
                "a Classifier, Regressor or Tagger",
                type(self).__name__,
                "call predict on whole sequences",
            )
        )

    def stream(
        self,
        ids: Iterable[Hashable],
        steps: Any,
        lengths: Any = None,
        static: Any = None,
    ) -> Any:
        """Feed the next steps of the series ``ids`` and keep each one's
        recurrent state by id, so new steps can arrive for any series, in any
        order; a series fed piece by piece gets what ``predict`` gives for its
        whole sequence.

        Args:
            ids: ``(B,)`` series ids.
            steps: ``(B, T, F)`` the next T steps of each listed series, in
                original units (post-padded, with ``lengths`` when they differ).
            static: ``(B, S)`` static features, for models that read them.

        Returns what ``predict`` returns for arrays: labels or values after the
        new steps (many-to-one), or one per new step (Tagger). Forget states
        with :meth:`reset_stream`.
        """
        from ..layers import StateStore
        from ..layers import stream as run_stream

        self._check_fitted("stream")
        sequential, finish = self._stream_parts()
        x = np.asarray(
            steps.detach().cpu().numpy() if hasattr(steps, "detach") else steps,
            dtype=np.float64,
        )
        F = len(self.feature_names_ or [])
        if x.ndim != 3 or x.shape[-1] != F:
            raise ValueError(
                problem(
                    f"{type(self).__name__}.stream: steps must be (B, T, F)",
                    format_shape((None, None, F), "BTF"),
                    f"shape {x.shape}",
                    "pass the next steps of each series as a (B, T, F) array",
                )
            )
        if self._stream_store is None:
            self._stream_store = StateStore.for_model(sequential)
        extra = self._stream_static(static, x.shape[0])
        with torch.no_grad():
            out = run_stream(
                sequential,
                ids,
                torch.from_numpy(self._scale_values(x)),
                lengths=lengths,
                store=self._stream_store,
            )
            return finish(out, extra)

    def _stream_static(self, static: Any, B: int) -> torch.Tensor | None:
        if not self.static_names_:
            return None
        S = len(self.static_names_)
        array = None if static is None else np.asarray(static, dtype=np.float64)
        if array is None or array.shape != (B, S):
            raise ValueError(
                problem(
                    f"{type(self).__name__}.stream needs the static features",
                    f"static of shape {format_shape((B, S), 'BS')} "
                    f"({self.static_names_})",
                    "none" if array is None else f"shape {array.shape}",
                    "pass static= with one row per id",
                )
            )
        assert self.static_offset_ is not None and self.static_scale_ is not None
        scaled = (array - self.static_offset_) / self.static_scale_
        return torch.from_numpy(scaled.astype(np.float32))

    def reset_stream(self, ids: Iterable[Hashable] | None = None) -> None:
        """Forget the streamed states of ``ids`` (all when None)."""
        if self._stream_store is not None:
            self._stream_store.reset(ids)

    # -- saving ------------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Write the model to the folder ``path``: ``model.json`` (configuration,
        feature names, scaler, classes, the network's layers) and
        ``weights.safetensors``. Read it back with ``timesteps.load(path)``."""
        from .saving import save

        return save(self, path)

    def _state(self) -> dict[str, Any]:
        """What was learned besides the weights, as JSON-able values."""
        return {
            "feature_names": self.feature_names_,
            "static_names": self.static_names_,
            "scaler": None if self.scaler_ is None else self.scaler_.to_dict(),
            "static_offset": _list(self.static_offset_),
            "static_scale": _list(self.static_scale_),
            "meta": self.meta_,
            "history": None if self.history_ is None else self.history_.to_dict(),
            "chunk_length": self.chunk_length_,
        }

    def _set_state(self, state: dict[str, Any]) -> None:
        self.feature_names_ = list(state["feature_names"])
        self.static_names_ = list(state.get("static_names") or [])
        scaler = state.get("scaler")
        self.scaler_ = None if scaler is None else Scaler.from_dict(scaler)
        self.static_offset_ = _array(state.get("static_offset"))
        self.static_scale_ = _array(state.get("static_scale"))
        self.meta_ = dict(state.get("meta") or {})
        history = state.get("history")
        self.history_ = None if history is None else History.from_dict(history)
        chunk_length = state.get("chunk_length")
        self.chunk_length_ = None if chunk_length is None else int(chunk_length)

    def _init_config(self) -> dict[str, Any]:
        """Constructor arguments (JSON-able) that rebuild this model."""
        return dict(self.config)


# -- helpers ---------------------------------------------------------------------------


def learn_classes(labels: np.ndarray, who: str, what: str) -> np.ndarray:
    """The sorted distinct labels a classifier learns on its first fit; at least
    two (``what`` names where they come from, for the fix)."""
    classes = np.unique(labels)
    if len(classes) < 2:
        raise ValueError(
            problem(
                f"{who} needs at least two classes",
                ">= 2 distinct labels",
                f"only {classes.tolist()}",
                f"check the {what}",
            )
        )
    return classes


def encode_labels(labels: np.ndarray, classes: np.ndarray, who: str) -> np.ndarray:
    """``(n,)`` int64 codes of ``labels`` among ``classes`` (sorted); unknown
    labels are an error naming them."""
    codes = np.searchsorted(classes, labels)
    codes = np.clip(codes, 0, len(classes) - 1)
    unknown = classes[codes] != labels
    if unknown.any():
        shown = sorted({str(v) for v in labels[unknown].tolist()})[:5]
        raise ValueError(
            problem(
                f"{who}: labels the model has not seen",
                f"one of the classes {classes.tolist()[:10]}",
                f"{shown}",
                "fit on data that holds every class, or drop those series",
            )
        )
    return codes.astype(np.int64)


def class_labels(target: np.ndarray) -> np.ndarray:
    """Labels comparable with each other: text as str, numbers as they are."""
    if target.dtype.kind == "O":
        return target.astype(str)
    return target


def balanced_weights(codes: np.ndarray, n_classes: int) -> np.ndarray:
    """Keras' ``"balanced"``: ``n / (C x n_c)``; a class absent from training
    gets weight 0."""
    counts = np.bincount(codes, minlength=n_classes).astype(np.float64)
    with np.errstate(divide="ignore"):
        weights = np.where(counts > 0, len(codes) / (n_classes * counts), 0.0)
    return weights


def class_weight_vector(
    class_weight: Any, classes: np.ndarray, codes: np.ndarray, who: str
) -> np.ndarray | None:
    """``(C,)`` weights from None, ``"balanced"`` or a dict label -> weight."""
    if class_weight is None:
        return None
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise ValueError(
                problem(
                    f"{who}: unknown class_weight",
                    "None, 'balanced' or a dict label -> weight",
                    repr(class_weight),
                    "pass class_weight='balanced'",
                )
            )
        return balanced_weights(codes, len(classes))
    if not isinstance(class_weight, dict):
        raise TypeError(
            problem(
                f"{who}: class_weight",
                "None, 'balanced' or a dict label -> weight",
                type(class_weight).__name__,
            )
        )
    weights = np.ones(len(classes))
    known = [str(c) for c in classes.tolist()]
    for label, weight in class_weight.items():
        if str(label) not in known:
            raise ValueError(
                problem(
                    f"{who}: class_weight names an unknown class",
                    f"one of {classes.tolist()[:10]}",
                    repr(label),
                    near_matches(str(label), known),
                )
            )
        weights[known.index(str(label))] = float(weight)
    return weights


def _rows(source: SequenceView | Windows, batch: Batch) -> torch.Tensor:
    """Row numbers of a batch's rows: positions within the view, window numbers."""
    if isinstance(source, Windows):
        return batch.index.cpu()
    index = batch.index.cpu().numpy()
    if np.array_equal(source.rows, np.arange(len(source.data))):
        return torch.from_numpy(index)
    lookup = np.empty(len(source.data), dtype=np.int64)
    lookup[source.rows] = np.arange(len(source.rows))
    return torch.from_numpy(lookup[index])


def _stacks(network: Any) -> list[Any]:
    """The layers that read the timesteps, in order: a Sequential's, or the
    encoder's of a ManyToOne network."""
    sequential = getattr(network, "encoder", network)
    return list(sequential.stack) if isinstance(sequential, Sequential) else []


def _chunk_refusal(layer: Any) -> tuple[str, str] | None:
    """(why, fix) when ``layer`` cannot carry its state across chunks."""
    whole = "or fit without chunk_length (whole series)"
    if isinstance(layer, Bidirectional) or getattr(layer, "bidirectional", False):
        return (
            "its backward direction starts at each series' own end, which lies "
            "in a later chunk",
            f"use bidirectional=False, {whole}",
        )
    if getattr(layer, "go_backwards", False):
        return (
            "it reads each series from its own end, which lies in a later chunk",
            f"use go_backwards=False, {whole}",
        )
    if isinstance(layer, Conv1D):
        if layer.span > 1 or layer.strides > 1:
            return (
                f"its window (kernel_size={layer.kernel_size}, strides="
                f"{layer.strides}) reaches back into the previous chunk, and "
                "chunk boundaries need not fall on its strides",
                "drop the chunking: the strided Conv1D already shortens long "
                f"series by its strides, {whole}; or use conv=None",
            )
        return None
    if isinstance(layer, _Recurrent | Dense | TimeDistributed):
        return None
    return (
        f"{type(layer).__name__} does not read the steps one after another",
        f"build the network from recurrent, Dense and TimeDistributed layers, {whole}",
    )


def _within(mask: np.ndarray) -> np.ndarray:
    """``(B, T)`` step number within each row for post-padded rows."""
    return np.broadcast_to(np.arange(mask.shape[1]), mask.shape)


def _with_target(data: SequenceSet, y: Any) -> SequenceSet:
    target = np.asarray(y)
    if len(target) == len(data):
        level = "series"
    elif len(target) == data.n_steps:
        level = "step"
    else:
        raise ValueError(
            problem(
                "y must give a target per series or per step",
                f"{len(data)} values (one per series) or {data.n_steps} (one per step)",
                f"{len(target)} values",
                "pass the SequenceSet with its target instead",
            )
        )
    names = (
        ["target"]
        if target.ndim == 1
        else [f"target{k}" for k in range(target.shape[1])]
    )
    return data.replace(target=target, target_level=level, target_names=names)


def _is_frame(data: Any) -> bool:
    return type(data).__name__ == "DataFrame" and hasattr(data, "columns")


def _positive_int(value: Any, name: str, who: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(
            problem(
                f"{who}: {name} must be an integer", f"an int >= {minimum}", repr(value)
            )
        )
    if value < minimum:
        raise ValueError(
            problem(
                f"{who}: {name} is out of range", f">= {minimum}", f"{name}={value}"
            )
        )
    return int(value)


def _fraction(value: Any, who: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(
            problem(f"{who}: dropout", "a number 0.0 <= dropout < 1.0", repr(value))
        )
    if not 0.0 <= value < 1.0:
        raise ValueError(
            problem(
                f"{who}: dropout is the share of inputs dropped",
                "0.0 <= dropout < 1.0",
                f"dropout={value!r}",
                "pass a fraction such as dropout=0.2",
            )
        )
    return float(value)


def _check_conv(conv: Any, who: str) -> dict[str, Any] | None:
    if conv is None:
        return None
    allowed = {"filters", "kernel_size", "strides", "padding", "activation"}
    if not isinstance(conv, dict) or not {"filters", "kernel_size"} <= set(conv):
        raise ValueError(
            problem(
                f"{who}: conv describes a Conv1D front",
                "None or dict(filters=..., kernel_size=..., strides=...)",
                repr(conv),
                "pass e.g. conv=dict(filters=16, kernel_size=5, strides=4)",
            )
        )
    unknown = sorted(set(conv) - allowed)
    if unknown:
        raise ValueError(
            problem(
                f"{who}: unknown conv settings",
                f"keys among {sorted(allowed)}",
                f"{unknown}",
                near_matches(unknown[0], allowed),
            )
        )
    return dict(conv)


def _validation_fraction(value: Any, who: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(
            problem(
                f"{who}.fit: validation",
                "a fraction 0 < validation < 1, a SequenceSet or None",
                type(value).__name__,
            )
        )
    if not 0.0 < value < 1.0:
        raise ValueError(
            problem(
                f"{who}.fit: validation is the share held out",
                "0 < validation < 1, a SequenceSet or None",
                repr(value),
                "pass e.g. validation=0.2, or validation=None to train on all",
            )
        )
    return float(value)


def _shape_fits(received: Sequence[int | None], expected: Sequence[int | None]) -> bool:
    if len(received) != len(expected):
        return False
    return all(
        e is None or r is None or e == r
        for r, e in zip(received, expected, strict=True)
    )


def _show_shape(shape: Sequence[int | None]) -> str:
    letters = "K" if len(shape) == 1 else "TK"
    return format_shape((None, *shape), "B" + letters)


def _list(array: np.ndarray | None) -> list[float] | None:
    return None if array is None else [float(v) for v in np.ravel(array)]


def _array(values: Any) -> np.ndarray | None:
    return None if values is None else np.asarray(values, dtype=np.float64)


def _training_device(device: str | torch.device) -> str:
    """The device ``fit`` trains on, checked at the boundary: ``"auto"`` is
    ``"cuda"`` when torch sees a GPU, else ``"cpu"``."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        place = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(
            problem(
                "fit(device=...) names the device to train on",
                '"cpu", "cuda", "cuda:N" or "auto"',
                repr(device),
                'pass device="auto" to take a GPU when there is one',
            )
        ) from None
    if place.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            problem(
                "fit(device=...) asks for a GPU that torch does not see",
                "a CUDA device (torch.cuda.is_available() is True)",
                repr(str(device)),
                'train with device="cpu", or device="auto" to take a GPU only '
                "when there is one",
            )
        )
    return str(place)

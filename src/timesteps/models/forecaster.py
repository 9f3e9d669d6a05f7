"""Forecaster: the next h steps of each series from its last L steps.

Three strategies, each trained on windows (lookback L, horizon h) that never
cross from one series into another:

- ``"direct"``: the encoder's last state -> ``Dense(h x K)``, reshaped to
  ``(B, h, K)``: all h steps at once. Known-future inputs over the horizon and
  static features are joined to the state before the Dense layer.
- ``"recursive"``: a one-step model (last state -> ``Dense(K)``) trained on
  windows with h = 1; at prediction each forecast is appended to the window,
  which slides by one step, h times. The next input row needs every feature,
  so this works only when every input feature is a target or a known-future
  feature (whose future values are given).
- ``"seq2seq"``: an encoder over the L steps whose final states start a
  decoder over the h steps (see
  :class:`~timesteps.models.builders.EncoderDecoder`): the decoder reads the
  known-future features if there are any, else the previous step's target
  (the true one in training, the forecast fed back at prediction).

Validation never leaks: the last steps of every series are held out
(``split_by_time(keep_context=L)``), so validation windows predict only steps
the training windows never saw. The scaler is fitted on the training part and
forecasts come back in original units.

>>> import numpy as np, timesteps as ts
>>> t = np.arange(60.0)
>>> X = np.stack([np.sin(t / 4 + p) for p in range(6)])[..., None]   # (6, 60, 1)
>>> model = ts.Forecaster(lookback=8, horizon=3, units=8)
>>> _ = model.fit(X, epochs=1, verbose=0)
>>> model.predict(X).shape      # (B, h, K)
(6, 3, 1)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F

from .._errors import near_matches, problem
from .._shapes import format_shape
from ..data.batches import Batch, Batches
from ..data.sequence_set import SequenceSet
from ..data.splits import split_by_time
from ..data.tables import from_long
from ..data.windows import Windows
from ..layers import Dense, Sequential, TimeDistributed
from .base import TaskModel, _is_frame, _positive_int
from .builders import EncoderDecoder, ManyToOne, conv_front, recurrent_layers

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

STRATEGIES = ("direct", "recursive", "seq2seq")


class Forecaster(TaskModel):
    """Forecast h steps of the ``target`` features from the last L steps.

    Args:
        lookback: L, the steps each forecast reads.
        horizon: h, the steps forecast.
        strategy: ``"direct"``, ``"recursive"`` or ``"seq2seq"`` (module docs).
        target: feature name(s) to forecast (K of them); default all features
            that are not ``known_future``.
        known_future: feature name(s) known in advance over the horizon
            (calendar, planned settings); ``predict`` needs their future values.
        static: join the data's static features, if it has any.
        cell, units, layers, dropout, bidirectional, conv, network, seed: see
            :class:`~timesteps.models.base.TaskModel` (``network`` for
            ``"direct"``: output ``(h x K,)``; ``"recursive"``: ``(K,)``).
    """

    kind = "Forecaster"

    def __init__(
        self,
        lookback: int,
        horizon: int,
        strategy: str = "direct",
        target: str | Sequence[str] | None = None,
        known_future: str | Sequence[str] | None = None,
        static: bool = True,
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
        if strategy not in STRATEGIES:
            raise ValueError(
                problem(
                    "Forecaster: unknown strategy",
                    " or ".join(repr(s) for s in STRATEGIES),
                    repr(strategy),
                    near_matches(str(strategy), STRATEGIES),
                )
            )
        known = _names(known_future)
        if strategy == "seq2seq" and network is not None:
            raise ValueError(
                problem(
                    "Forecaster(strategy='seq2seq') builds its own encoder and decoder",
                    "network=None",
                    "a Sequential",
                    "leave network out, or use strategy='direct' with it",
                )
            )
        if strategy == "seq2seq" and bidirectional:
            raise ValueError(
                problem(
                    "Forecaster(strategy='seq2seq'): the encoder's final states "
                    "start a one-direction decoder",
                    "bidirectional=False",
                    "bidirectional=True",
                    "set bidirectional=False, or use strategy='direct'",
                )
            )
        if network is not None and known:
            raise ValueError(
                problem(
                    "Forecaster: a custom network reads only the lookback window",
                    "known_future=None with network=",
                    f"known_future={known}",
                    "leave network out so the model joins the known-future inputs",
                )
            )
        self.config.update(
            lookback=_positive_int(lookback, "lookback L", "Forecaster"),
            horizon=_positive_int(horizon, "horizon h", "Forecaster"),
            strategy=strategy,
            target=_names(target),
            known_future=known,
            static=bool(static),
        )
        self.target_names_: list[str] = []
        self.known_names_: list[str] = []

    # -- description -------------------------------------------------------------------

    @property
    def lookback(self) -> int:
        return int(self.config["lookback"])

    @property
    def horizon(self) -> int:
        return int(self.config["horizon"])

    @property
    def strategy(self) -> str:
        return str(self.config["strategy"])

    @property
    def input_shape(self) -> tuple[int | None, ...] | None:
        """``(L, F)``: the window each forecast reads; None before fit."""
        if self.feature_names_ is None:
            return None
        return (self.lookback, len(self.feature_names_))

    # -- fitting -----------------------------------------------------------------------

    def _prepare_fit(
        self, data: SequenceSet, *, refit: bool, validation: bool = False
    ) -> SequenceSet:
        if refit or validation:
            return data
        names = data.feature_names
        for role, chosen in (
            ("target", self.config["target"]),
            ("known_future", self.config["known_future"]),
        ):
            for name in chosen or []:
                if name not in names:
                    raise ValueError(
                        problem(
                            f"Forecaster: {role} names an unknown feature",
                            f"one of the features {names[:10]}",
                            repr(name),
                            near_matches(name, names),
                        )
                    )
        known = list(self.config["known_future"] or [])
        target = self.config["target"] or [n for n in names if n not in known]
        both = sorted(set(target) & set(known))
        if both or not target:
            raise ValueError(
                problem(
                    "Forecaster: target and known_future must be different features",
                    "at least one target and no feature in both",
                    f"target={target}, known_future={known}",
                    "drop the shared features from known_future",
                )
            )
        if self.strategy == "recursive":
            other = [n for n in names if n not in target and n not in known]
            if other:
                raise ValueError(
                    problem(
                        "Forecaster(strategy='recursive') feeds each forecast back "
                        "as the next input row, so every input feature must be a "
                        "target or known in advance",
                        f"features {target + known} (targets and known_future)",
                        f"also {other}, whose future values nobody gives",
                        "use strategy='direct' (or 'seq2seq'), add them to target "
                        "or known_future, or drop them from the data",
                    )
                )
        self.target_names_, self.known_names_ = list(target), known
        return data

    def _split(
        self, data: SequenceSet, fraction: float
    ) -> tuple[SequenceSet, SequenceSet]:
        """By time: the last steps of every series, after L steps of context."""
        return split_by_time(data, fraction=fraction, keep_context=self.lookback)

    def _uses_static(self, data: SequenceSet) -> bool:
        return (
            self.config["static"]
            and data.static is not None
            and not self.custom_network
        )

    @property
    def _K(self) -> int:
        return len(self.target_names_)

    def _target_index(self) -> list[int]:
        names = self.feature_names_ or []
        return [names.index(n) for n in self.target_names_]

    def _future_index(self) -> list[int]:
        names = self.feature_names_ or []
        return [names.index(n) for n in self.known_names_]

    def _network_output_shape(self) -> tuple[int | None, ...]:
        if self.strategy == "recursive":
            return (self._K,)
        return (self.horizon * self._K,)

    def _build(self) -> torch.nn.Module:
        c = self.config
        F_ = len(self.feature_names_ or [])
        S, Fk, K, h = (
            len(self.static_names_),
            len(self.known_names_),
            self._K,
            self.horizon,
        )
        shape = (self.lookback, F_)
        if self.strategy == "seq2seq":
            encoder = recurrent_layers(
                c["cell"],
                c["units"],
                c["layers"],
                dropout=c["dropout"],
                return_state=True,
            )
            decoder = recurrent_layers(
                c["cell"],
                c["units"],
                c["layers"],
                dropout=c["dropout"],
                return_sequences=True,
                return_state=True,
            )
            return EncoderDecoder(
                conv_front(c["conv"]),
                encoder,
                decoder,
                TimeDistributed(Dense(K)),
                input_shape=shape,
                horizon=h,
                target_index=self._target_index(),
                future_features=Fk,
                static_features=S,
            )
        encoder = conv_front(c["conv"]) + recurrent_layers(
            c["cell"],
            c["units"],
            c["layers"],
            dropout=c["dropout"],
            bidirectional=c["bidirectional"],
        )
        if self.strategy == "direct":
            return ManyToOne(encoder, [Dense(h * K)], shape, extra_features=S + h * Fk)
        return ManyToOne(encoder, [Dense(K)], shape, extra_features=S)

    def _windows(self, data: SequenceSet, horizon: int, stride: int = 1) -> Windows:
        return data.windows(
            self.lookback,
            horizon,
            stride=stride,
            target=self.target_names_,
            known_future=self.known_names_ or None,
        )

    def _source(self, data: SequenceSet, purpose: str) -> Windows:
        if purpose == "predict":
            return data.forecast_inputs(self.lookback)
        horizon = self.horizon
        if self.strategy == "recursive" and purpose in ("fit", "validation"):
            horizon = 1
        try:
            return self._windows(data, horizon)
        except ValueError as error:
            if purpose != "validation":
                raise
            raise ValueError(
                problem(
                    "Forecaster: no validation window fits in the held-out steps",
                    f"at least h={horizon} held-out steps per series after "
                    f"L={self.lookback} steps of context",
                    str(error),
                    "pass a larger validation fraction, a validation SequenceSet "
                    "of longer series, or validation=None",
                )
            ) from None

    # -- the network on a batch --------------------------------------------------------

    def _extra(self, batch: Batch, future: torch.Tensor | None) -> torch.Tensor | None:
        parts: list[torch.Tensor] = []
        if self.static_names_:
            assert batch.static is not None  # the model reads static features
            parts.append(batch.static)
        if self.strategy == "direct" and self.known_names_:
            assert future is not None
            parts.append(future[:, : self.horizon].flatten(1))  # (B, h x Fk)
        return torch.cat(parts, dim=-1) if parts else None

    def _forward(self, network: torch.nn.Module, batch: Batch) -> torch.Tensor:
        """``(B, h, K)`` (recursive: ``(B, 1, K)``, the next step) in scaled units."""
        return self._forecast_batch(network, batch, batch.future, teacher=True)

    def _forecast_batch(
        self,
        network: torch.nn.Module,
        batch: Batch,
        future: torch.Tensor | None,
        teacher: bool = False,
    ) -> torch.Tensor:
        B, K = batch.x.shape[0], self._K
        if self.strategy == "seq2seq":
            static = batch.static if self.static_names_ else None
            y = batch.y if teacher and network.training else None
            return network(batch.x, batch.lengths, static, future, y)  # (B, h, K)
        if self.custom_network:
            out = network(batch.x, batch.lengths)
        else:
            out = network(batch.x, batch.lengths, self._extra(batch, future))
        if self.strategy == "recursive":
            return out.reshape(B, 1, K)
        return out.reshape(B, self.horizon, K)  # (B, h, K)

    def _loss(self, network: torch.nn.Module, batch: Batch) -> tuple[torch.Tensor, Any]:
        out = self._forward(network, batch)
        y = batch.y
        assert y is not None
        return F.mse_loss(out, y), int(y.numel())

    def _recursive(
        self,
        network: torch.nn.Module,
        batch: Batch,
        future: torch.Tensor | None,
        steps: int,
    ) -> torch.Tensor:
        """``steps`` forecasts, each appended to the window (which slides by
        one step) before the next: ``(B, steps, K)``."""
        window = batch.x  # (B, L, F)
        target, known = self._target_index(), self._future_index()
        forecasts = []
        for j in range(steps):
            step = Batch(window, batch.lengths, batch.index, static=batch.static)
            nxt = self._forecast_batch(network, step, None)[:, 0]  # (B, K)
            forecasts.append(nxt)
            if j == steps - 1:
                break
            row = window.new_zeros(window.shape[0], window.shape[2])  # (B, F)
            row[:, target] = nxt
            if known:
                assert future is not None
                row[:, known] = future[:, j]
            window = torch.cat([window[:, 1:], row[:, None]], dim=1)  # (B, L, F)
        return torch.stack(forecasts, dim=1)

    def _predict_windows(
        self, windows: Windows, future: np.ndarray | None, steps: int
    ) -> np.ndarray:
        """``(n_windows, steps, K)`` scaled forecasts; ``future`` ``(n_windows,
        >= steps, Fk)`` scaled known-future values by window (None: from the
        batches)."""
        table = None if future is None else torch.from_numpy(future)

        def run(network: torch.nn.Module, batch: Batch) -> torch.Tensor:
            known = batch.future if table is None else table[batch.index.cpu()]
            if self.strategy == "recursive":
                return self._recursive(network, batch, known, steps)
            return self._forecast_batch(network, batch, known)[:, :steps]

        return self._per_series(windows, len(windows), run)

    # -- results -----------------------------------------------------------------------

    def _unscale(self, forecasts: np.ndarray) -> np.ndarray:
        if self.scaler_ is None:
            return forecasts.astype(np.float64)
        return self.scaler_.inverse_transform_values(forecasts, self.target_names_)

    def forecast(
        self, data: Any, future: Any = None, horizon: int | None = None
    ) -> np.ndarray:
        """``(B, h, K)`` forecasts in original units from the end of every
        series (NaN rows for series shorter than L, which are skipped with a
        warning).

        Args:
            data: the series (SequenceSet, long table or arrays).
            future: values of the ``known_future`` features after each series'
                end: a ``(B, n, F_known)`` array in series order, a SequenceSet
                or a long table with the same ids (at least h steps each, h - 1
                for ``"recursive"``).
            horizon: steps to forecast; at most h for ``"direct"`` and
                ``"seq2seq"``, any number for ``"recursive"`` (as far as the
                known-future values reach).
        """
        data, _ = self._inputs(data, "forecast")
        return self._forecast_all(data, future, horizon)[0]

    def _forecast_all(
        self, data: SequenceSet, future: Any, horizon: int | None
    ) -> tuple[np.ndarray, Windows, int]:
        steps = self._check_horizon(horizon)
        known = self._known_values(data, future, steps)
        windows = self._scaled(data).forecast_inputs(self.lookback)
        positions = windows.series_positions
        if known is not None:
            known = known[positions]
        scaled = self._predict_windows(windows, known, steps)
        result = np.full((len(data), steps, self._K), np.nan)
        result[positions] = self._unscale(scaled)
        return result, windows, steps

    def batches(self, data: Any, y: Any = None, batch_size: int = 32) -> Batches:
        """Windows of ``L`` input steps with their ``h`` target steps (and the
        known-future values over the horizon), checked and scaled as in
        evaluation: what ``explain`` traces. Unlike other models a forecaster's
        targets are features, so every long enough series gives windows."""
        self._check_fitted("batches")
        data, arrays = self._as_data(data, y)
        data = self._check_features(data, arrays=arrays)
        source = self._source(self._scaled(data), "evaluate")
        return source.to_batches(batch_size=batch_size, shuffle=False)

    def predict(
        self, data: Any, future: Any = None, horizon: int | None = None
    ) -> pd.DataFrame | np.ndarray:
        """Forecasts from the end of every series, in original units.

        A DataFrame with the id, ``step`` (1..h), ``time`` (each series' last
        time plus ``step`` times its last time step) and one column per target
        for a SequenceSet or table; a ``(B, h, K)`` array for arrays (NaN rows
        for series shorter than L). ``future`` and ``horizon``: see
        :meth:`forecast`.
        """
        import pandas as pd

        data, arrays = self._inputs(data, "predict")
        result, windows, steps = self._forecast_all(data, future, horizon)
        if arrays:
            return result
        positions = windows.series_positions
        values = result[positions].reshape(len(positions) * steps, self._K)
        last = data.offsets[1:][positions] - 1
        first = data.offsets[:-1][positions]
        stamp = data.times[last]
        previous = data.times[np.maximum(last - 1, first)]
        delta = stamp - previous
        single = last == first
        if single.any():
            unit = np.ones(1, dtype=delta.dtype) if delta.dtype.kind != "m" else None
            delta = delta if unit is None else np.where(single, unit, delta)
        step = np.arange(1, steps + 1)
        times = stamp[:, None] + delta[:, None] * step[None, :]  # (B', h)
        frame = {
            self._id_name(data): np.repeat(data.ids[positions], steps),
            "step": np.tile(step, len(positions)),
            self._time_name(data): times.reshape(-1),
            **{name: values[:, k] for k, name in enumerate(self.target_names_)},
        }
        return pd.DataFrame(frame)

    def evaluate(self, data: Any) -> dict[str, float]:
        """Forecast errors over every window (lookback L, horizon h, stride 1)
        of ``data``, in original units: ``mae``, ``rmse``, the naive
        last-value forecast's ``naive_mae`` and ``mae_ratio = mae /
        naive_mae`` (below 1: better than naive), ``loss`` (the training loss)
        and ``n_windows``. A part from ``split_by_time(keep_context=L)`` is
        scored only on the steps after its context."""
        data, _ = self._inputs(data, "evaluate")
        scaled = self._scaled(data)
        windows = self._windows(scaled, self.horizon)
        forecasts = self._unscale(self._predict_windows(windows, None, self.horizon))
        starts = windows.flat_starts(np.arange(len(windows)))  # same offsets as data
        target = self._target_index()
        rows = starts[:, None] + self.lookback + np.arange(self.horizon)  # (n, h)
        actual = data.values[rows][..., target].astype(np.float64)  # (n, h, K)
        last = data.values[starts + self.lookback - 1][:, target].astype(np.float64)
        naive = np.abs(actual - last[:, None, :]).mean()
        mae = float(np.abs(actual - forecasts).mean())
        loss_source = self._source(scaled, "validation")
        return {
            "loss": self._evaluate_loss(loss_source),
            "mae": mae,
            "rmse": float(np.sqrt(((actual - forecasts) ** 2).mean())),
            "naive_mae": float(naive),
            "mae_ratio": float(mae / naive) if naive > 0 else float("nan"),
            "n_windows": float(len(windows)),
        }

    # -- horizon and known-future values -----------------------------------------------

    def _check_horizon(self, horizon: int | None) -> int:
        if horizon is None:
            return self.horizon
        steps = _positive_int(horizon, "horizon", "Forecaster.predict")
        if self.strategy != "recursive" and steps > self.horizon:
            raise ValueError(
                problem(
                    f"Forecaster(strategy={self.strategy!r}) was trained to "
                    f"forecast h={self.horizon} steps",
                    f"horizon <= {self.horizon}",
                    f"horizon={steps}",
                    "fit a model with a longer horizon, or use strategy='recursive'",
                )
            )
        return steps

    def _known_values(
        self, data: SequenceSet, future: Any, steps: int
    ) -> np.ndarray | None:
        """``(B, n, F_known)`` scaled known-future values by series position."""
        Fk = len(self.known_names_)
        if not Fk:
            return None
        need = steps - 1 if self.strategy == "recursive" else self.horizon
        if future is None:
            raise ValueError(
                problem(
                    "Forecaster: the known-future features' values after the end "
                    "of each series are needed",
                    f"future= with {need} steps of {self.known_names_} per series",
                    "future=None",
                    "pass future= as a (B, n, F_known) array, or a SequenceSet or "
                    "long table of those features with the same ids",
                )
            )
        array = self._future_array(data, future)
        if array.shape[1] < need:
            kind = "recursive model" if self.strategy == "recursive" else "model"
            raise ValueError(
                problem(
                    f"Forecaster: the {kind} needs known-future values for "
                    f"every forecast step it reads",
                    f"at least {need} steps of {self.known_names_} per series "
                    f"for horizon {steps}",
                    f"{array.shape[1]} steps",
                    f"pass more future steps, or a horizon of at most "
                    f"{array.shape[1] + 1 if self.strategy == 'recursive' else steps}",
                )
            )
        if self.scaler_ is not None:
            assert self.scaler_.offset_ is not None and self.scaler_.scale_ is not None
            columns = self._future_index()
            offset = self.scaler_.offset_[columns]
            scale = self.scaler_.scale_[columns]
            array = (array - offset) / scale
        width = max(need, 1)
        padded = np.zeros((len(data), max(width, self.horizon), Fk), np.float32)
        take = min(array.shape[1], padded.shape[1])
        padded[:, :take] = array[:, :take]
        return padded

    def _future_array(self, data: SequenceSet, future: Any) -> np.ndarray:
        """``(B, n, F_known)`` raw values in series order."""
        Fk = len(self.known_names_)
        if _is_frame(future):
            future = from_long(
                future,
                id=self._id_name(data),
                time=self._time_name(data) if self._time_name(data) in future else None,
                features=self.known_names_,
            )
        if isinstance(future, SequenceSet):
            missing = [n for n in self.known_names_ if n not in future.feature_names]
            if missing:
                raise ValueError(
                    problem(
                        "Forecaster: future lacks known-future features",
                        f"features {self.known_names_}",
                        f"features {future.feature_names}",
                        "give every known_future feature",
                    )
                )
            columns = [future.feature_names.index(n) for n in self.known_names_]
            n = int(future.lengths.min())
            rows = []
            for series_id in data.ids.tolist():
                try:
                    i = future.position(series_id)
                except KeyError:
                    raise ValueError(
                        problem(
                            "Forecaster: future has no values for a series",
                            "the ids of the data",
                            f"no series {series_id!r} in future",
                            "give future values for every series",
                        )
                    ) from None
                rows.append(future.series(i)[:n, columns])
            return np.stack(rows).astype(np.float64)
        array = np.asarray(future, dtype=np.float64)
        if array.ndim == 2 and Fk == 1:
            array = array[..., None]
        if array.ndim != 3 or array.shape[0] != len(data) or array.shape[2] != Fk:
            raise ValueError(
                problem(
                    "Forecaster: future must hold the known-future values per series",
                    format_shape((len(data), None, Fk), "BhF"),
                    f"shape {array.shape}",
                    f"one row per series, features {self.known_names_}",
                )
            )
        return array

    # -- saving ------------------------------------------------------------------------

    def _state(self) -> dict[str, Any]:
        state = super()._state()
        state.update(target_names=self.target_names_, known_names=self.known_names_)
        return state

    def _set_state(self, state: dict[str, Any]) -> None:
        super()._set_state(state)
        self.target_names_ = list(state["target_names"])
        self.known_names_ = list(state["known_names"])


def _names(names: str | Sequence[str] | None) -> list[str] | None:
    if names is None:
        return None
    if isinstance(names, str):
        return [names]
    return [str(n) for n in names]

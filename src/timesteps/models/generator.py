"""Generator: one-to-many, from a vector to a sequence of n steps.

The vector is each series' static features (a SequenceSet's ``static``) or a
``(B, S)`` array; the sequence is the series itself, ``(T_i, F)``. Two ways:

- ``"repeat"``: ``RepeatVector(n)`` feeds the same vector to every step of a
  recurrent stack (``return_sequences=True``), ``TimeDistributed(Dense(F))``
  reads each step. Step t never depends on later steps, so one model generates
  any n.
- ``"autoregressive"``: the vector sets the initial states (a tanh ``Dense``)
  and each step reads the previous step's values (and the vector): trained on
  the true previous values (teacher forcing), generated one step at a time with
  the state carried from step to step. ``generate`` can first warm up on known
  history (the steps fed in, the state kept) and go on from its end; without
  vectors it continues the pattern of the history.

>>> import numpy as np, timesteps as ts
>>> vectors = np.random.default_rng(0).uniform(1, 2, size=(16, 1))    # (B, S)
>>> waves = vectors[:, None, :] * np.sin(np.arange(10) / 2)[None, :, None]
>>> model = ts.Generator(units=8)
>>> _ = model.fit(vectors, waves, epochs=1, validation=None, verbose=0)
>>> model.generate(vectors[:2], steps=10).shape      # (B, n, F)
(2, 10, 1)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from .._errors import near_matches, problem
from .._shapes import format_shape
from ..data.batches import Batch
from ..data.sequence_set import SequenceSet
from ..data.tables import from_arrays
from ..data.views import ReconstructionView
from ..layers import Dense, RepeatVector, Sequential, TimeDistributed
from .base import TaskModel, _positive_int
from .builders import AutoregressiveDecoder, recurrent_layers
from .tagger import _by_series

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

STRATEGIES = ("repeat", "autoregressive")


class Generator(TaskModel):
    """A sequence from a vector (one-to-many).

    Args:
        strategy: ``"repeat"`` or ``"autoregressive"`` (module docs).
        cell, units, layers, dropout, seed: see
            :class:`~timesteps.models.base.TaskModel`.

    ``fit(vectors (B, S), sequences (B, T, F) or a list of (T_i, F))`` or
    ``fit(data)`` with a SequenceSet whose ``static`` holds the vectors
    (``"autoregressive"`` also learns from sequences alone).
    """

    kind = "Generator"
    accepts_network = False

    def __init__(
        self,
        strategy: str = "repeat",
        *,
        cell: str = "lstm",
        units: int = 32,
        layers: int = 1,
        dropout: float = 0.0,
        seed: int = 0,
    ) -> None:
        super().__init__(
            cell=cell, units=units, layers=layers, dropout=dropout, seed=seed
        )
        if strategy not in STRATEGIES:
            raise ValueError(
                problem(
                    "Generator: unknown strategy",
                    " or ".join(repr(s) for s in STRATEGIES),
                    repr(strategy),
                    near_matches(str(strategy), STRATEGIES),
                )
            )
        self.config["strategy"] = strategy

    @property
    def strategy(self) -> str:
        return str(self.config["strategy"])

    def _init_config(self) -> dict[str, Any]:
        config = dict(self.config)
        for fixed in ("bidirectional", "conv"):
            config.pop(fixed)
        return config

    # -- data --------------------------------------------------------------------------

    def _as_data(self, data: Any, y: Any = None) -> tuple[SequenceSet, bool]:
        """``(vectors, sequences)`` arrays, sequences alone, or a SequenceSet."""
        if isinstance(data, SequenceSet) or y is None:
            return super()._as_data(data)
        sequences = from_arrays(y)
        vectors = np.asarray(
            data.detach().cpu().numpy() if hasattr(data, "detach") else data,
            dtype=np.float32,
        )
        if vectors.ndim != 2 or len(vectors) != len(sequences):
            raise ValueError(
                problem(
                    "Generator: one vector per sequence",
                    format_shape((len(sequences), None), "BS"),
                    f"shape {vectors.shape}",
                    "pass vectors as a (B, S) array, one row per sequence",
                )
            )
        names = [f"s{j}" for j in range(vectors.shape[1])]
        return sequences.replace(static=vectors, static_names=names), True

    def _uses_static(self, data: SequenceSet) -> bool:
        return data.static is not None

    def _prepare_fit(
        self, data: SequenceSet, *, refit: bool, validation: bool = False
    ) -> SequenceSet:
        if self.strategy == "repeat" and data.static is None:
            raise ValueError(
                problem(
                    "Generator(strategy='repeat') generates from a vector",
                    "vectors: fit(vectors (B, S), sequences) or a SequenceSet "
                    "with static features",
                    "sequences without vectors",
                    "pass the vectors, or use strategy='autoregressive' to "
                    "continue sequences from their history",
                )
            )
        return data

    def _split(
        self, data: SequenceSet, fraction: float
    ) -> tuple[SequenceSet, SequenceSet]:
        from ..data.splits import split

        return split(data, fraction=fraction, seed=self.config["seed"], stratify=False)

    # -- network -----------------------------------------------------------------------

    def _build(self) -> torch.nn.Module:
        c = self.config
        F_, S = len(self.feature_names_ or []), len(self.static_names_)
        if self.strategy == "repeat":
            stack: list[Any] = [RepeatVector(1)]
            stack += recurrent_layers(
                c["cell"],
                c["units"],
                c["layers"],
                dropout=c["dropout"],
                return_sequences=True,
            )
            stack.append(TimeDistributed(Dense(F_)))
            return Sequential(stack, input_shape=(S,))
        layers = recurrent_layers(
            c["cell"],
            c["units"],
            c["layers"],
            dropout=c["dropout"],
            return_sequences=True,
            return_state=True,
        )
        recurrent: list[Any] = list(layers)
        width = sum(r.units * r._n_states for r in recurrent)  # every state
        start = Dense(width, activation="tanh") if S else None
        return AutoregressiveDecoder(
            layers, TimeDistributed(Dense(F_)), F_, vector_features=S, start=start
        )

    def _source(self, data: SequenceSet, purpose: str) -> ReconstructionView:
        return ReconstructionView(data)

    def _vector(self, batch: Batch) -> torch.Tensor | None:
        return batch.static if self.static_names_ else None

    def _forward(self, network: torch.nn.Module, batch: Batch) -> torch.Tensor:
        """``(B, T, F)``: repeat from the vector, or teacher-forced steps."""
        if self.strategy == "repeat":
            assert batch.static is not None  # a repeat model reads vectors
            return self._repeat(network, batch.static, batch.x.shape[1])
        return network(self._vector(batch), batch.x, batch.lengths)

    def _repeat(self, network: Any, vector: Any, steps: int) -> torch.Tensor:
        network.layers[0].n = steps  # RepeatVector(n) for this call
        return network(vector)  # (B, n, F)

    def _loss(self, network: torch.nn.Module, batch: Batch) -> tuple[torch.Tensor, Any]:
        out = self._forward(network, batch)
        counted = batch.mask.unsqueeze(-1).to(out.dtype).expand_as(out)
        n = counted.sum()
        return ((out - batch.x) ** 2 * counted).sum() / n, n

    # -- generating --------------------------------------------------------------------

    def generate(self, start: Any = None, steps: int = 10) -> pd.DataFrame | np.ndarray:
        """Generate ``steps`` steps per vector, in original units.

        Args:
            start: ``(B, S)`` vectors; or a SequenceSet whose series are
                history to warm up on (and whose ``static`` are the vectors):
                the generated steps continue each series after its end; or None
                for a model trained without vectors (one sequence from zero
                state).
            steps: n, the steps generated.

        Returns ``(B, n, F)`` for arrays (and None), or a DataFrame (id,
        ``step`` 1..n, one column per feature) for a SequenceSet.
        """
        self._check_fitted("generate")
        steps = _positive_int(steps, "steps", "Generator.generate")
        history: SequenceSet | None = None
        if isinstance(start, SequenceSet):
            history = self._check_features(start, arrays=False)
            vectors = self._scaled(history).static
            B = len(history)
        else:
            vectors, B = self._vectors(start)
        vector = None if vectors is None else torch.from_numpy(vectors)
        assert self.network is not None
        network = self.network.eval()
        with torch.no_grad():
            if self.strategy == "repeat":
                scaled = self._generate_repeat(network, vector, history, steps)
            else:
                scaled = self._generate_fed_back(network, vector, history, steps, B)
        values = scaled.numpy().astype(np.float64)
        names = list(self.feature_names_ or [])
        if self.scaler_ is not None:
            values = self.scaler_.inverse_transform_values(values, names)
        if history is None:
            return values
        import pandas as pd

        flat = values.reshape(B * steps, len(names))
        frame = {
            self._id_name(history): np.repeat(history.ids, steps),
            "step": np.tile(np.arange(1, steps + 1), B),
            **{name: flat[:, j] for j, name in enumerate(names)},
        }
        return pd.DataFrame(frame)

    def _vectors(self, start: Any) -> tuple[np.ndarray | None, int]:
        S = len(self.static_names_)
        if start is None:
            if S:
                raise ValueError(
                    problem(
                        "Generator.generate: this model generates from vectors",
                        f"start= (B, S={S}) vectors or a SequenceSet",
                        "start=None",
                        "pass one vector per sequence to generate",
                    )
                )
            return None, 1
        array = np.asarray(
            start.detach().cpu().numpy() if hasattr(start, "detach") else start,
            dtype=np.float64,
        )
        if array.ndim != 2 or array.shape[1] != S:
            raise ValueError(
                problem(
                    "Generator.generate: vectors as in training",
                    format_shape((None, S), "BS"),
                    f"shape {array.shape}",
                    f"pass a (B, {S}) array of vectors",
                )
            )
        if S:
            assert self.static_offset_ is not None and self.static_scale_ is not None
            array = (array - self.static_offset_) / self.static_scale_
        return array.astype(np.float32), len(array)

    def _generate_repeat(
        self,
        network: torch.nn.Module,
        vector: torch.Tensor | None,
        history: SequenceSet | None,
        steps: int,
    ) -> torch.Tensor:
        assert vector is not None  # a repeat model always has vectors
        if history is None:
            return self._repeat(network, vector, steps)
        lengths = torch.from_numpy(history.lengths)
        out = self._repeat(network, vector, int(lengths.max()) + steps)
        rows = lengths[:, None] + torch.arange(steps)[None, :]  # (B, n)
        return out[torch.arange(len(lengths))[:, None], rows]  # (B, n, F)

    def _generate_fed_back(
        self,
        network: Any,
        vector: torch.Tensor | None,
        history: SequenceSet | None,
        steps: int,
        B: int,
    ) -> torch.Tensor:
        F_ = network.features
        states = network.initial_states(vector, B)
        previous = torch.zeros(B, 1, F_)
        if history is not None:
            scaled = self._scaled(history)
            batch = next(
                iter(ReconstructionView(scaled).to_batches(batch_size=B, shuffle=False))
            )
            order = torch.argsort(batch.index)  # back to series order
            x, lengths = batch.x[order], batch.lengths[order]
            fed = torch.cat([torch.zeros(B, 1, F_), x], dim=1)  # y_{t-1}, T + 1
            out, states = network.step(vector, fed, states, lengths + 1)
            previous = out[torch.arange(B), lengths].unsqueeze(1)  # (B, 1, F)
        generated = []
        for j in range(steps):
            if j or history is None:
                previous, states = network.step(vector, previous, states)
            generated.append(previous)
        return torch.cat(generated, dim=1)  # (B, n, F)

    def predict(self, data: Any) -> pd.DataFrame | np.ndarray | list[np.ndarray]:
        """Each series generated from its vector alone, as long as the series:
        a DataFrame (id, time, features), or ``(B, T, F)`` for arrays."""
        data, arrays = self._inputs(data, "predict")
        flat = self._generated(data)
        names = list(self.feature_names_ or [])
        if arrays:
            return _by_series(flat, data)
        return self._step_frame(data, {n: flat[:, j] for j, n in enumerate(names)})

    def _generated(self, data: SequenceSet) -> np.ndarray:
        """``(N, F)`` free-running generation in original units, flat step order."""
        longest = int(data.lengths.max())
        if self.static_names_:
            scaled = self._scaled(data)
            assert scaled.static is not None
            vector = torch.from_numpy(scaled.static)
            B = len(data)
        else:
            vector, B = None, len(data)
        assert self.network is not None
        network = self.network.eval()
        with torch.no_grad():
            if self.strategy == "repeat":
                out = self._repeat(network, vector, longest)
            else:
                out = self._generate_fed_back(network, vector, None, longest, B)
        values = out.numpy().astype(np.float64)  # (B, T_max, F)
        mask = np.arange(longest)[None, :] < data.lengths[:, None]
        flat = values[mask]
        if self.scaler_ is not None:
            flat = self.scaler_.inverse_transform_values(
                flat, self.feature_names_ or []
            )
        return flat

    def evaluate(self, data: Any, y: Any = None) -> dict[str, float]:
        """``loss`` (the training loss: teacher-forced for ``"autoregressive"``,
        scaled units) and ``mse``/``mae`` of free-running generation in
        original units over the real steps."""
        self._check_fitted("evaluate")
        data, arrays = self._as_data(data, y)
        data = self._check_features(data, arrays=arrays)
        loss = self._evaluate_loss(ReconstructionView(self._scaled(data)))
        error = self._generated(data) - data.values
        return {
            "loss": loss,
            "mse": float((error**2).mean()),
            "mae": float(np.abs(error).mean()),
            "n_series": float(len(data)),
        }

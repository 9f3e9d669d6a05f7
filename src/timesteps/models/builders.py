"""Networks of the task models, made of layers and rebuilt from JSON.

Every network here is a ``torch.nn.Module`` whose parts are ``Sequential``
stacks or single ``Layer``s, so ``explain`` finds every layer, and each part
says how to rebuild it (``get_config``/``from_config``): saving a model writes
that JSON, loading rebuilds the network from it and never runs code from the
file (only the classes named in :data:`NETWORKS` and the package's layers can
be named).

| network                    | topology                                            |
|----------------------------|-----------------------------------------------------|
| ``Sequential``             | a plain stack (taggers, custom networks)            |
| ``ManyToOne``              | encoder (B, T, F) -> (B, H), extras joined, head    |
| ``EncoderDecoder``         | encoder states start a decoder over h steps         |
| ``SequenceAutoencoder``    | encoder to (B, H), RepeatVector(T), decoder, Dense  |
| ``AutoregressiveDecoder``  | a vector starts a recurrent stack fed its outputs   |

>>> import torch
>>> from timesteps.models.builders import recurrent_layers
>>> [repr(layer) for layer in recurrent_layers("gru", 8, 2)]
['GRU(8, return_sequences=True)', 'GRU(8)']
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import torch

from .._errors import near_matches, problem
from ..layers import (
    GRU,
    LSTM,
    Conv1D,
    Dense,
    Layer,
    RepeatVector,
    Sequential,
    SimpleRNN,
    TimeDistributed,
    deserialize_layer,
    serialize_layer,
)
from ..layers.base import trusted

CELLS: dict[str, Any] = {"lstm": LSTM, "gru": GRU, "rnn": SimpleRNN}

States = list[torch.Tensor]


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Draw initial weights from ``seed`` without touching the global generator."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def recurrent_layers(
    cell: str,
    units: int,
    layers: int,
    *,
    dropout: float = 0.0,
    bidirectional: bool = False,
    return_sequences: bool = False,
    return_state: bool = False,
) -> list[Layer]:
    """``layers`` stacked recurrent layers of ``units`` each; all but the last
    return sequences, the last returns them when ``return_sequences``.

    >>> [repr(layer) for layer in recurrent_layers("lstm", 4, 2, dropout=0.1)]
    ['LSTM(4, return_sequences=True, dropout=0.1)', 'LSTM(4, dropout=0.1)']
    """
    kind = CELLS[cell]
    stack = []
    for i in range(layers):
        last = i == layers - 1
        stack.append(
            kind(
                units,
                return_sequences=return_sequences or not last,
                return_state=return_state,
                dropout=dropout,
                bidirectional=bidirectional,
            )
        )
    return stack


def conv_front(conv: dict[str, Any] | None) -> list[Layer]:
    """The downsampling Conv1D front (causal, ReLU) for long series, or none."""
    if conv is None:
        return []
    return [
        Conv1D(
            conv["filters"],
            conv["kernel_size"],
            strides=conv.get("strides", 1),
            padding=conv.get("padding", "causal"),
            activation=conv.get("activation", "relu"),
        )
    ]


# -- networks --------------------------------------------------------------------------


class ManyToOne(torch.nn.Module):
    """Encoder over the timesteps to one vector, extras joined, then a head.

    ``forward(x (B, T, F), lengths (B,), extra (B, E) | None) -> (B, K)``: the
    encoder's (B, H) vector at each sequence's own last step, joined with
    ``extra`` (static features, flattened known-future inputs) when the network
    was built with ``extra_features > 0``, goes through the head.

    >>> from timesteps.layers import LSTM, Dense
    >>> net = ManyToOne([LSTM(8)], [Dense(3)], input_shape=(None, 2), extra_features=1)
    >>> net(torch.zeros(4, 5, 2), None, torch.zeros(4, 1)).shape   # (B, K)
    torch.Size([4, 3])
    """

    def __init__(
        self,
        encoder: Sequence[Layer],
        head: Sequence[Layer],
        input_shape: Sequence[int | None],
        extra_features: int = 0,
    ) -> None:
        super().__init__()
        self.encoder = Sequential(list(encoder), input_shape=input_shape)
        (H,) = self.encoder.output_shape
        self.extra_features = int(extra_features)
        assert H is not None  # a vector layer has a known size
        self.head = Sequential(list(head), input_shape=(H + self.extra_features,))
        self.input_shape = self.encoder.input_shape
        self.output_shape = self.head.output_shape

    def forward(
        self,
        x: torch.Tensor,
        lengths: torch.Tensor | None = None,
        extra: torch.Tensor | None = None,
    ) -> torch.Tensor:
        vector = self.encoder(x, lengths)  # (B, H)
        if self.extra_features:
            assert extra is not None  # built to read extra features
            vector = torch.cat([vector, extra], dim=-1)  # (B, H + E)
        return self.head(vector)

    def get_config(self) -> dict[str, Any]:
        return {
            "encoder": self.encoder.get_config()["layers"],
            "head": self.head.get_config()["layers"],
            "input_shape": list(self.input_shape),
            "extra_features": self.extra_features,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ManyToOne:
        return cls(
            [deserialize_layer(c) for c in config["encoder"]],
            [deserialize_layer(c) for c in config["head"]],
            tuple(config["input_shape"]),
            config["extra_features"],
        )


class _StateStack(torch.nn.Module):
    """Recurrent layers run one after the other, each from its own initial state
    and returning its final state (the layers have ``return_state=True``)."""

    def run_stack(
        self,
        layers: Iterable[Any],
        x: torch.Tensor,
        lengths: torch.Tensor | None,
        states: list[States] | None,
    ) -> tuple[torch.Tensor, list[States]]:
        finals = []
        for i, layer in enumerate(layers):
            initial = None if states is None else states[i]
            x, *final = layer(x, lengths=lengths, initial_state=initial)
            finals.append(list(final))
            lengths = layer.output_lengths(lengths)
        return x, finals


class EncoderDecoder(_StateStack):
    """Sequence to sequence: the encoder's final states start the decoder.

    The encoder reads the L steps of a window (an optional Conv1D front, then
    ``n`` recurrent layers); recurrent layer ``i`` of the decoder starts from the
    final state of encoder layer ``i`` and runs over the h steps to forecast;
    ``TimeDistributed(Dense(K))`` reads each decoder step.

    Decoder input at forecast step j (``decoder_features`` wide):

    - with known-future features: their values at step j (``future``);
    - otherwise: the target value of step j - 1 (step 0 reads the last observed
      target of the window). In training that is the true value (teacher
      forcing, all h steps in one call); at prediction each step's forecast is
      fed back (``teacher=None``), one step at a time.

    Static features, when given, are joined to every decoder input.

    ``forward(x (B, L, F), lengths, static (B, S) | None, future (B, h, F_known)
    | None, teacher (B, h, K) | None) -> (B, h, K)``.
    """

    def __init__(
        self,
        front: Sequence[Layer],
        encoder: Sequence[Layer],
        decoder: Sequence[Layer],
        head: Layer,
        input_shape: Sequence[int | None],
        horizon: int,
        target_index: Sequence[int],
        future_features: int = 0,
        static_features: int = 0,
    ) -> None:
        super().__init__()
        self.input_shape = tuple(input_shape)
        self.horizon = int(horizon)
        self.target_index = [int(j) for j in target_index]
        self.future_features = int(future_features)
        self.static_features = int(static_features)
        K = len(self.target_index)
        self.front = Sequential(list(front), input_shape=self.input_shape)
        self.encoder: Any = torch.nn.ModuleList(encoder)
        self.decoder: Any = torch.nn.ModuleList(decoder)
        self.head: Any = head
        shape = self.front.output_shape
        for layer in encoder:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        step_inputs = self.future_features or K
        shape = (None, step_inputs + self.static_features)
        for layer in decoder:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        self.head.build(shape)
        self.output_shape = (self.horizon, K)

    def forward(
        self,
        x: torch.Tensor,
        lengths: torch.Tensor | None = None,
        static: torch.Tensor | None = None,
        future: torch.Tensor | None = None,
        teacher: torch.Tensor | None = None,
    ) -> torch.Tensor:
        with trusted():
            encoded = self.front(x, lengths)
            lengths = _after(self.front, lengths)
            _, states = self.run_stack(self.encoder, encoded, lengths, None)
            if self.future_features:
                assert future is not None  # built to read known-future inputs
                return self._decode(future, static, states)  # (B, h, K)
            last = x[:, -1, self.target_index].unsqueeze(1)  # (B, 1, K)
            if teacher is not None:
                inputs = torch.cat([last, teacher[:, :-1]], dim=1)  # (B, h, K)
                return self._decode(inputs, static, states)
            steps = []
            for _ in range(self.horizon):
                out, states = self._decode_step(last, static, states)
                steps.append(out)
                last = out  # (B, 1, K) fed back
            return torch.cat(steps, dim=1)  # (B, h, K)

    def _decode(
        self, inputs: torch.Tensor, static: torch.Tensor | None, states: list[States]
    ) -> torch.Tensor:
        return self._decode_step(inputs, static, states)[0]

    def _decode_step(
        self, inputs: torch.Tensor, static: torch.Tensor | None, states: list[States]
    ) -> tuple[torch.Tensor, list[States]]:
        if self.static_features:
            assert static is not None  # built to read static features
            repeated = static.unsqueeze(1).expand(-1, inputs.shape[1], -1)
            inputs = torch.cat([inputs, repeated], dim=-1)
        out, states = self.run_stack(self.decoder, inputs, None, states)
        return self.head(out), states  # (B, steps, K)

    def get_config(self) -> dict[str, Any]:
        return {
            "front": self.front.get_config()["layers"],
            "encoder": [serialize_layer(layer) for layer in self.encoder],
            "decoder": [serialize_layer(layer) for layer in self.decoder],
            "head": serialize_layer(self.head),
            "input_shape": list(self.input_shape),
            "horizon": self.horizon,
            "target_index": self.target_index,
            "future_features": self.future_features,
            "static_features": self.static_features,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> EncoderDecoder:
        return cls(
            [deserialize_layer(c) for c in config["front"]],
            [deserialize_layer(c) for c in config["encoder"]],
            [deserialize_layer(c) for c in config["decoder"]],
            deserialize_layer(config["head"]),
            tuple(config["input_shape"]),
            config["horizon"],
            config["target_index"],
            config["future_features"],
            config["static_features"],
        )


class SequenceAutoencoder(torch.nn.Module):
    """Encoder to one vector per sequence, decoder back to every step.

    ``encoder`` (B, T, F) -> (B, H); ``RepeatVector`` repeats the vector over the
    batch's T steps (its ``n`` follows the batch); the decoder (recurrent layers
    with ``return_sequences=True`` and ``TimeDistributed(Dense(F))``) rebuilds
    each step. Steps past a sequence's end are zero in the output.

    >>> from timesteps.layers import LSTM, TimeDistributed, Dense
    >>> net = SequenceAutoencoder([LSTM(4)], [LSTM(4, return_sequences=True),
    ...                           TimeDistributed(Dense(2))], input_shape=(None, 2))
    >>> net(torch.zeros(3, 6, 2)).shape    # (B, T, F) -> (B, T, F)
    torch.Size([3, 6, 2])
    """

    def __init__(
        self,
        encoder: Sequence[Layer],
        decoder: Sequence[Layer],
        input_shape: Sequence[int | None],
    ) -> None:
        super().__init__()
        self.encoder = Sequential(list(encoder), input_shape=input_shape)
        (H,) = self.encoder.output_shape
        self.repeat: Any = RepeatVector(1)
        self.repeat.build((H,))
        self.decoder = Sequential(list(decoder), input_shape=(None, H))
        self.input_shape = self.encoder.input_shape

    def embed(
        self, x: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The (B, H) vector of each sequence."""
        return self.encoder(x, lengths)

    def forward(
        self, x: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> torch.Tensor:
        vector = self.encoder(x, lengths)  # (B, H)
        self.repeat.n = int(x.shape[1])  # RepeatVector(T) for this batch
        repeated = self.repeat(vector)  # (B, T, H)
        return self.decoder(repeated, lengths)  # (B, T, F)

    def get_config(self) -> dict[str, Any]:
        return {
            "encoder": self.encoder.get_config()["layers"],
            "decoder": self.decoder.get_config()["layers"],
            "input_shape": list(self.input_shape),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> SequenceAutoencoder:
        return cls(
            [deserialize_layer(c) for c in config["encoder"]],
            [deserialize_layer(c) for c in config["decoder"]],
            tuple(config["input_shape"]),
        )


class AutoregressiveDecoder(_StateStack):
    """One-to-many, fed back: a vector starts the recurrent state, and each
    step reads the previous step's values (and the vector).

    - ``start`` (``Dense`` with tanh) maps the vector (B, S) to the initial
      states of every recurrent layer; without a vector (S = 0) they start at 0.
    - Step t reads ``[y_{t-1}, vector]``; ``y_{-1}`` is zeros.
    - ``head`` (``TimeDistributed(Dense(F))``) gives each step's values.

    ``forward(vector (B, S) | None, teacher (B, T, F), lengths)`` runs all T
    steps at once on the true previous values (teacher forcing, for training
    and for warming up on known history); :meth:`step` runs one step from given
    states, for generation.
    """

    def __init__(
        self,
        layers: Sequence[Layer],
        head: Layer,
        features: int,
        vector_features: int = 0,
        start: Layer | None = None,
    ) -> None:
        super().__init__()
        self.features = int(features)
        self.vector_features = int(vector_features)
        self.layers: Any = torch.nn.ModuleList(layers)
        shape: tuple[int | None, ...] = (None, self.features + self.vector_features)
        self.state_sizes: list[int] = []
        for layer in layers:
            recurrent: Any = layer
            recurrent.build(shape)
            shape = recurrent.compute_output_shape(shape)
            self.state_sizes += [recurrent.units] * recurrent._n_states
        self.head: Any = head
        self.head.build(shape)
        self.start: Any = start
        if self.start is not None:
            self.start.build((self.vector_features,))
        self.input_shape = (None, self.features)

    def initial_states(
        self, vector: torch.Tensor | None, B: int
    ) -> list[States] | None:
        """Each layer's initial states from the vector (None: zeros)."""
        if self.start is None or vector is None:
            return None
        flat = self.start(vector)  # (B, sum of state sizes)
        parts = list(torch.split(flat, self.state_sizes, dim=-1))
        states, k = [], 0
        for layer in self.layers:
            states.append(parts[k : k + layer._n_states])
            k += layer._n_states
        return states

    def forward(
        self,
        vector: torch.Tensor | None,
        teacher: torch.Tensor,
        lengths: torch.Tensor | None = None,
    ) -> torch.Tensor:
        B = teacher.shape[0]
        previous = torch.cat(
            [teacher.new_zeros(B, 1, self.features), teacher[:, :-1]], dim=1
        )  # (B, T, F): y_{t-1}
        with trusted():
            states = self.initial_states(vector, B)
            out, _ = self.step(vector, previous, states, lengths)
        return out

    def step(
        self,
        vector: torch.Tensor | None,
        previous: torch.Tensor,
        states: list[States] | None,
        lengths: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, list[States]]:
        """Run the steps ``previous`` (B, T, F) from ``states``: (B, T, F) and
        the final states."""
        inputs = previous
        if self.vector_features:
            assert vector is not None  # built to read a vector
            repeated = vector.unsqueeze(1).expand(-1, previous.shape[1], -1)
            inputs = torch.cat([previous, repeated], dim=-1)
        with trusted():
            out, states = self.run_stack(self.layers, inputs, lengths, states)
            return self.head(out, lengths=lengths), states

    def get_config(self) -> dict[str, Any]:
        return {
            "layers": [serialize_layer(layer) for layer in self.layers],
            "head": serialize_layer(self.head),
            "features": self.features,
            "vector_features": self.vector_features,
            "start": None if self.start is None else serialize_layer(self.start),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> AutoregressiveDecoder:
        start = config.get("start")
        return cls(
            [deserialize_layer(c) for c in config["layers"]],
            deserialize_layer(config["head"]),
            config["features"],
            config["vector_features"],
            None if start is None else deserialize_layer(start),
        )


def _after(stack: Sequential, lengths: torch.Tensor | None) -> torch.Tensor | None:
    layer: Any
    for layer in stack.layers:
        lengths = layer.output_lengths(lengths)
    return lengths


# -- JSON ------------------------------------------------------------------------------

NETWORKS: dict[str, Any] = {
    "Sequential": Sequential,
    "ManyToOne": ManyToOne,
    "EncoderDecoder": EncoderDecoder,
    "SequenceAutoencoder": SequenceAutoencoder,
    "AutoregressiveDecoder": AutoregressiveDecoder,
}


def network_config(network: torch.nn.Module) -> dict[str, Any]:
    """``{"class_name": ..., "config": ...}``: JSON that rebuilds ``network``.

    >>> from timesteps.layers import LSTM, Dense
    >>> net = Sequential([LSTM(4), Dense(1)], input_shape=(None, 2))
    >>> network_config(net)["class_name"]
    'Sequential'
    """
    name = type(network).__name__
    if name not in NETWORKS:
        raise TypeError(
            problem(
                "only timesteps networks can be saved",
                "a Sequential or a task model's network",
                name,
                "build the network from timesteps.layers inside a Sequential",
            )
        )
    described: Any = network
    return {"class_name": name, "config": described.get_config()}


def network_from_config(spec: Any) -> torch.nn.Module:
    """The network :func:`network_config` described, built, freshly initialised."""
    name = spec.get("class_name") if isinstance(spec, dict) else None
    if name not in NETWORKS:
        raise ValueError(
            problem(
                "unknown network in a saved configuration",
                "one of " + ", ".join(NETWORKS),
                repr(name),
                near_matches(str(name), NETWORKS),
            )
        )
    network: torch.nn.Module = NETWORKS[name].from_config(dict(spec["config"]))
    return network


def dense_head(units: int, activation: str | None = None) -> Layer:
    """``Dense(units)`` (a helper so every builder spells heads one way)."""
    return Dense(units, activation=activation)


def step_head(units: int) -> Layer:
    """``TimeDistributed(Dense(units))``: the same Dense on every step."""
    return TimeDistributed(Dense(units))

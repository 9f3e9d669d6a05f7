"""SimpleRNN, LSTM, GRU and Bidirectional on PyTorch's fused kernels.

Every layer runs one ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` call over the whole
sequence (oneDNN on CPU for LSTM, cuDNN on GPU), never a Python loop over
timesteps. Sequences of different lengths in one batch are exact: each sequence
gets what it gets when run alone at its own length.

How lengths are handled (measured with benchmarks/bench_recurrent.py):

- lengths ``None`` or all equal: one kernel call (an LSTM longer than
  ``2 x MAX_CALL_STEPS`` steps: calls of at most ``MAX_CALL_STEPS``, states
  carried, exact).
- CPU: rows are sorted by length and the batch runs in fused calls between
  distinct lengths, carrying the states; a row leaves the batch after the call
  in which it ends. Which distinct lengths end a call is chosen per batch by a
  cost model (``_plan_groups``: a fixed cost per call against the steps it
  computes): one call per distinct length ("segments": no padded step, every
  state exact, LSTM's c too), one call over the padded batch ("dense"), or a
  few calls each covering several distinct lengths ("coarse": rows ending
  inside a call run on over their padding). Outside the segments, each row's
  last output is taken by index and steps past its end are zeroed, so outputs
  and h are exact but LSTM's final c is not: when c is needed (return_state,
  stateful), the segments run. Without them, an LSTM's calls longer than
  ``MAX_CALL_STEPS`` are also cut in pieces, states carried (exact): oneDNN
  training runs faster on short calls than on one long call. Measured here
  (benchmarks/bench_recurrent.py, 2 cores, H=64, lengths 100..3,000, B=32,
  training, no final states, noisy shared machine): 1.1-1.6x faster than
  the exact segments and 1.2-1.7x faster than one dense call on
  length-bucketed batches, 1.1-1.35x faster than the segments on random
  batches.
- GPU: packed sequences (cuDNN handles them in one call).
- Backward direction (``go_backwards``, bidirectional): each row is reversed
  within its own length by one index_select, so it starts at its own end.

>>> import torch
>>> from timesteps.layers import LSTM
>>> LSTM(300)(torch.zeros(2, 20, 1)).shape                   # (B, T, F) -> (B, H)
torch.Size([2, 300])
>>> LSTM(300, return_sequences=True)(torch.zeros(2, 20, 1)).shape
torch.Size([2, 20, 300])
>>> LSTM(300).param_breakdown((20, 1)).keras_formula
'4 x (300 x (1 + 300) + 300)'
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .._errors import problem
from .._shapes import format_shape
from .base import (
    Layer,
    ParamBreakdown,
    Shape,
    deserialize_layer,
    serialize_layer,
    step_mask,
    varying_lengths,
)
from .core import _features, check_units

MERGE_MODES = ("concat", "sum", "mul", "ave")
PATHS = ("dense", "segments", "packed", "coarse")

# Cost of one fused call on CPU in row-steps (one row through one step), for
# ``_plan_groups``: a call costs CALL_COST, each of its steps STEP_COST plus
# one per row. Measured with nn.LSTM alone (H=64, F=8, training, 2 threads):
# ~0.5 ms per call, ~8 us per step plus ~3.3 us per row-step (150 and 2.4);
# 200 and 10 did best in benchmarks/bench_recurrent.py (sweep of 100..800 and
# 3..40, differences near the noise).
CALL_COST = 200.0
STEP_COST = 10.0
# Longest fused LSTM call: nn.LSTM training on (B=32, T=2000) ran 1.5-2.5x
# faster as calls of 60..250 steps carrying the states than as one call, and
# 1.1-1.4x at T=1000 (cause not measured; likely cache reuse). GRU and
# SimpleRNN ran 0.8-0.9x when cut, so they are not. Full-length batches are
# cut only past 2 x MAX_CALL_STEPS (at T=200..300 cutting gained nothing).
MAX_CALL_STEPS = 128

States = list[torch.Tensor]


class _Recurrent(Layer):
    """What SimpleRNN, LSTM and GRU share; see their docstrings."""

    _positional = ("units",)
    _gates = 1
    _n_states = 1
    _state_names: tuple[str, ...] = ("h",)
    _keras_two_biases = False  # Keras' GRU (reset_after=True) keeps two, like torch
    _variable_path: str | None = None  # private switch for tests: one of PATHS

    def __init__(
        self,
        units: int,
        *,
        return_sequences: bool = False,
        return_state: bool = False,
        stateful: bool = False,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        go_backwards: bool = False,
        bidirectional: bool = False,
        input_shape: Sequence[int | None] | None = None,
    ) -> None:
        super().__init__(input_shape=input_shape)
        name = type(self).__name__
        self.units = check_units(units, "units", name)
        if recurrent_dropout:
            raise ValueError(
                problem(
                    f"{name}: recurrent_dropout is not supported",
                    "recurrent_dropout=0.0",
                    f"recurrent_dropout={recurrent_dropout!r}",
                    "dropping the recurrent connection needs a new mask at every "
                    "step inside the cell, which the fused kernels (oneDNN, cuDNN) "
                    "cannot do; use dropout= (input dropout, one mask per "
                    "sequence shared over time, like Keras) on this layer or the "
                    "next one instead",
                )
            )
        if not isinstance(dropout, int | float) or not 0.0 <= dropout < 1.0:
            raise ValueError(
                problem(
                    f"{name}: dropout is the share of input features dropped",
                    "0.0 <= dropout < 1.0",
                    f"dropout={dropout!r}",
                    "pass a fraction such as dropout=0.2",
                )
            )
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.stateful = bool(stateful)
        self.dropout = float(dropout)
        self.go_backwards = bool(go_backwards)
        self.bidirectional = bool(bidirectional)
        self._carried: States | None = None
        if self.stateful and self.bidirectional:
            _warn_stateful_backward(f"{self!r}")

    # -- building and shapes -----------------------------------------------------

    def _make_rnn(self, features: int) -> torch.nn.RNNBase:
        raise NotImplementedError

    def _build(self, shape: Shape) -> None:
        self.rnn = self._make_rnn(_features(shape))
        if self.bidirectional:
            config = self._direction_config()
            config["go_backwards"] = not self.go_backwards
            self.backward_layer = type(self)(**config)
            self.backward_layer.build(shape)

    def _direction_config(self) -> dict[str, Any]:
        config = self.get_config()
        config.pop("input_shape", None)
        config["bidirectional"] = False
        return config

    @property
    def output_units(self) -> int:
        """Size of the last axis of the output: H, or 2H when bidirectional."""
        return self.units * (2 if self.bidirectional else 1)

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> Shape:
        shape = tuple(input_shape)
        self._check_rank(shape)
        if self.return_sequences:
            return (shape[0], self.output_units)
        return (self.output_units,)

    def output_axes(self, input_axes: str) -> str:
        return input_axes[0] + ("TH" if self.return_sequences else "H")

    def output_lengths(self, lengths: torch.Tensor | None) -> torch.Tensor | None:
        return lengths if self.return_sequences else None

    # -- calling ---------------------------------------------------------------------

    def forward(
        self,
        x: torch.Tensor,
        lengths: torch.Tensor | None = None,
        initial_state: Sequence[torch.Tensor] | torch.Tensor | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """``x`` (B, T, F), ``lengths`` (B,) true lengths, ``initial_state`` a list of
        (B, H) tensors (LSTM: ``[h, c]``; bidirectional: forward then backward).

        Returns (B, H) or (B, T, H) (2H when bidirectional); with
        ``return_state`` a tuple ``(output, *states)``, each state (B, H) at each
        sequence's own last step.
        """
        states = self._check_initial_state(x, initial_state)
        if self.bidirectional:
            return run_pair(self, self.backward_layer, "concat", x, lengths, states)
        output, final = self.run(
            x,
            lengths,
            states,
            want_seq=self.return_sequences,
            want_states=self.return_state,
        )
        return (output, *final) if self.return_state else output

    def run(
        self,
        x: torch.Tensor,
        lengths: torch.Tensor | None,
        initial_state: States | None,
        *,
        want_seq: bool,
        want_states: bool,
        align: bool = False,
        carry: bool = True,
    ) -> tuple[torch.Tensor, States]:
        """One direction, trusted input: ``(output, states)``.

        ``output`` is (B, T, H) when ``want_seq`` (in processing order, like
        Keras' go_backwards, unless ``align`` puts it back in input order), else
        (B, H). ``states`` are complete when ``want_states`` (or stateful).
        ``carry=False`` leaves a stateful layer's carried state alone (streaming).
        Rows of length 0 (a chunk after its series ended) keep their initial
        state and output zeros; the public boundary (``forward``) still takes
        1..T, containers that checked their input call this with 0..T.
        """
        B, T, _ = x.shape
        lengths = varying_lengths(lengths, T)
        low = top = T
        if lengths is not None:
            low, top = (int(v) for v in torch.aminmax(lengths))
            if low == 0:
                return self._run_without_empty(
                    x, lengths, initial_state, want_seq, want_states, align, carry
                )
        if self.dropout and self.training:
            keep = 1.0 - self.dropout
            mask = x.new_empty(B, 1, x.shape[2]).bernoulli_(keep) / keep  # (B, 1, F)
            x = x * mask
        hx = self._initial(x, initial_state if initial_state else None, carry)
        want_states = want_states or (self.stateful and carry)
        if lengths is not None:
            x = x[:, :top]  # nothing past the longest sequence is needed
            if low == top:
                lengths = None
        if lengths is None:
            seq, last, states = self._run_full(x, hx)
        else:
            seq, last, states = self._run_ragged(x, lengths, hx, want_seq, want_states)
        if self.stateful and carry:
            self._carried = [s.detach() for s in states]
        if not want_seq:
            return last, states
        if align and self.go_backwards:
            seq = seq.flip(1) if lengths is None else reverse_within(seq, lengths)
        if top < T:
            seq = F.pad(seq, (0, 0, 0, T - top))  # (B, T, H), zeros past the end
        return seq, states

    def _run_without_empty(
        self,
        x: torch.Tensor,
        lengths: torch.Tensor,
        initial_state: States | None,
        want_seq: bool,
        want_states: bool,
        align: bool,
        carry: bool,
    ) -> tuple[torch.Tensor, States]:
        """Some rows have length 0 (in a chunk: their series ended in an earlier
        chunk): they keep their initial state and output zeros; the other rows
        run as usual from theirs."""
        B = x.shape[0]
        hx = self._initial(x, initial_state if initial_state else None, carry)
        if hx is None:
            zeros = x.new_zeros(B, self.units)
            start = [zeros] * self._n_states
        else:
            start = _unpack(hx)  # (B, H) each
        rows = torch.nonzero(lengths).squeeze(1)  # rows with steps
        if len(rows) == 0:
            width = (x.shape[1], self.units) if want_seq else (self.units,)
            return x.new_zeros(B, *width), start
        output, final = self.run(
            x.index_select(0, rows),
            lengths.index_select(0, rows),
            [s.index_select(0, rows) for s in start],
            want_seq=want_seq,
            want_states=True,
            align=align,
            carry=False,
        )
        states = [s.index_copy(0, rows, f) for s, f in zip(start, final, strict=True)]
        if self.stateful and carry:
            self._carried = [s.detach() for s in states]
        shape = (B, *output.shape[1:])  # (B, T, H) or (B, H)
        return output.new_zeros(shape).index_copy(0, rows, output), states

    def _run_full(
        self, x: torch.Tensor, hx: Any
    ) -> tuple[torch.Tensor, torch.Tensor, States]:
        """Every row has all T steps: one fused call (a cell step when T == 1)."""
        if x.shape[1] == 1:
            return self._step(x[:, 0], hx)
        if self.go_backwards:
            x = x.flip(1)
        T = x.shape[1]
        if self._n_states == 2 and T > 2 * MAX_CALL_STEPS:
            # oneDNN's LSTM trains faster in calls of <= MAX_CALL_STEPS steps
            # with the states carried (exact); split's backward is one cat
            pieces = []
            for piece in x.tensor_split(-(-T // MAX_CALL_STEPS), dim=1):
                part, hx = self.rnn(piece, hx)
                pieces.append(part)
            out, final = torch.cat(pieces, dim=1), hx  # (B, T, H)
        else:
            out, final = self.rnn(x, hx)  # (B, T, H)
        return out, out[:, -1], _unpack(final)

    def _step(
        self, x: torch.Tensor, hx: Any
    ) -> tuple[torch.Tensor, torch.Tensor, States]:
        """One step with the same weights through torch's functional cell: a
        single call costs 2-4x less than nn.LSTM with T=1 (PERFORMANCE.md)."""
        rnn = self.rnn
        weights = cast(
            tuple[torch.Tensor, ...],
            (rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0, rnn.bias_hh_l0),
        )
        zeros = x.new_zeros(x.shape[0], self.units)
        if self._n_states == 2:
            h0, c0 = (zeros, zeros) if hx is None else (hx[0][0], hx[1][0])
            h, c = torch.lstm_cell(x, (h0, c0), *weights)
            return h.unsqueeze(1), h, [h, c]
        h0 = zeros if hx is None else hx[0]
        h = self._cell(x, h0, *weights)
        return h.unsqueeze(1), h, [h]

    def _cell(self, x: torch.Tensor, h: torch.Tensor, *weights: Any) -> torch.Tensor:
        raise NotImplementedError

    def _run_ragged(
        self,
        x: torch.Tensor,
        lengths: torch.Tensor,
        hx: Any,
        want_seq: bool,
        want_states: bool,
    ) -> tuple[torch.Tensor, torch.Tensor, States]:
        """Rows of different lengths (x already cut to the longest)."""
        B, T, _ = x.shape
        if self.go_backwards:
            x = reverse_within(x, lengths)  # each row starts at its own end
        path, stops = self._choose_path(x, lengths, want_states)
        if path == "coarse":
            seq, last = _run_coarse(self.rnn, x, lengths, hx, want_seq, stops)
            return seq, last, [last]  # only used when LSTM's c is not needed
        if path == "packed":
            seq, states = _run_packed(self.rnn, x, lengths, hx)
            return seq, states[0], states
        if path == "segments":
            seq, states = _run_segments(self.rnn, x, lengths, hx, want_seq)
            return seq, states[0], states
        out, _ = self.rnn(x, hx)  # (B, T, H); garbage past each row's end
        last = out[torch.arange(B, device=x.device), lengths - 1]  # (B, H)
        seq = out * step_mask(lengths, T).unsqueeze(-1) if want_seq else out
        return seq, last, [last]  # LSTM's c is only needed on the segments path

    def _choose_path(
        self, x: torch.Tensor, lengths: torch.Tensor, want_states: bool
    ) -> tuple[str, list[int]]:
        """The path and, for "coarse", where its groups stop (CPU: the cheapest
        grouping of the distinct lengths by ``_plan_groups``)."""
        needs_c = want_states and self._n_states == 2  # c is not among the outputs
        forced = self._variable_path
        if forced is not None:
            if forced in ("dense", "coarse") and needs_c:
                return "segments", []
            if forced == "coarse":  # two distinct lengths per group, for tests
                bounds = sorted(set(lengths.tolist()))
                return "coarse", bounds[1::2] + (
                    [] if len(bounds) % 2 == 0 else [bounds[-1]]
                )
            return forced, []
        if x.is_cuda:
            return "packed", []
        if needs_c:
            return "segments", []
        ends = sorted(lengths.tolist(), reverse=True)
        stops = _plan_groups(ends)
        if self._n_states == 2:  # only oneDNN's LSTM gains from shorter calls
            stops = _cut_long_calls(stops)
        if len(stops) == 1:
            return "dense", []
        return "coarse", stops

    # -- states ------------------------------------------------------------------------

    def _check_initial_state(
        self, x: torch.Tensor, initial_state: Any
    ) -> States | None:
        if initial_state is None:
            return None
        if isinstance(initial_state, torch.Tensor):
            initial_state = [initial_state]
        names = list(self._state_names)
        if self.bidirectional:
            names = [f"forward_{n}" for n in names] + [f"backward_{n}" for n in names]
        B = x.shape[0]
        expected = format_shape((B, self.units), "BH")
        if not isinstance(initial_state, list | tuple) or len(initial_state) != len(
            names
        ):
            received = (
                f"{len(initial_state)} tensors"
                if isinstance(initial_state, list | tuple)
                else type(initial_state).__name__
            )
            raise ValueError(
                problem(
                    f"{self!r}: initial_state holds one tensor per state",
                    f"{len(names)} tensors [{', '.join(names)}], each {expected}",
                    received,
                    f"pass [{', '.join(names)}]",
                )
            )
        for name, state in zip(names, initial_state, strict=True):
            if not isinstance(state, torch.Tensor) or tuple(state.shape) != (
                B,
                self.units,
            ):
                shape = getattr(state, "shape", None)
                got = format_shape(tuple(shape), "BH") if shape is not None else "?"
                raise ValueError(
                    problem(
                        f"{self!r}: initial state {name} has the wrong shape",
                        expected,
                        got if shape is not None else type(state).__name__,
                        "give each state as (B, H): one row per sequence of x",
                    )
                )
        return list(initial_state)

    def _initial(self, x: torch.Tensor, states: States | None, carry: bool) -> Any:
        """Initial states in nn.RNN's layout ((1, B, H), a pair for LSTM) or None."""
        B = x.shape[0]
        if states is None and self.stateful and carry and self._carried is not None:
            stored = self._carried[0].shape[0]
            if stored != B:
                raise ValueError(
                    problem(
                        f"{self!r} is stateful: each call continues the same rows",
                        f"B={stored} (the batch size of the carried state)",
                        f"B={B}",
                        "call reset_states() before a batch of another size, or "
                        "keep the batch size the same from call to call",
                    )
                )
            states = self._carried
        if states is None:
            return None
        nn_states = [s.to(x).unsqueeze(0).contiguous() for s in states]
        return tuple(nn_states) if self._n_states == 2 else nn_states[0]

    @property
    def states(self) -> States | None:
        """The carried states of a stateful layer ((B, H) each), or None."""
        return self._carried

    def reset_states(self) -> None:
        """Forget the carried state: the next call starts from zeros."""
        self._carried = None
        if self.bidirectional:
            self.backward_layer.reset_states()

    # -- description ---------------------------------------------------------------

    def _param_breakdown(self, shape: Shape) -> ParamBreakdown:
        f, h, g = _features(shape), self.units, self._gates
        count = g * (h * (f + h) + 2 * h)
        keras_biases = 2 if self._keras_two_biases else 1
        keras_count = g * (h * (f + h) + keras_biases * h)
        formula = _gated(g, f"{h} x ({f} + {h}) + 2 x {h}")
        keras_bias = f"2 x {h}" if self._keras_two_biases else f"{h}"
        keras_formula = _gated(g, f"{h} x ({f} + {h}) + {keras_bias}")
        if self.bidirectional:
            return _doubled(ParamBreakdown(count, formula, keras_count, keras_formula))
        return ParamBreakdown(count, formula, keras_count, keras_formula)

    def get_config(self) -> dict[str, Any]:
        return {
            "units": self.units,
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "stateful": self.stateful,
            "dropout": self.dropout,
            "go_backwards": self.go_backwards,
            "bidirectional": self.bidirectional,
            **super().get_config(),
        }


class SimpleRNN(_Recurrent):
    """Fully connected recurrent layer: ``h_t = activation(W x_t + U h_{t-1} + b)``.

    ``(B, T, F) -> (B, H)``, or ``(B, T, H)`` with ``return_sequences=True``.
    PyTorch keeps two bias vectors where Keras keeps one, hence 130 parameters
    for SimpleRNN(10) on F=1 here and 120 in Keras.

    >>> layer = SimpleRNN(10, activation="relu")
    >>> layer(torch.zeros(4000, 3, 1)).shape     # (B=4000, T=3, F=1) -> (B, H=10)
    torch.Size([4000, 10])
    >>> breakdown = layer.param_breakdown((3, 1))
    >>> breakdown.count, breakdown.formula
    (130, '10 x (1 + 10) + 2 x 10')
    >>> breakdown.keras_count, breakdown.keras_formula
    (120, '10 x (1 + 10) + 10')
    """

    def __init__(
        self,
        units: int,
        activation: str = "tanh",
        *,
        return_sequences: bool = False,
        return_state: bool = False,
        stateful: bool = False,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        go_backwards: bool = False,
        bidirectional: bool = False,
        input_shape: Sequence[int | None] | None = None,
    ) -> None:
        if activation not in ("tanh", "relu"):
            raise ValueError(
                problem(
                    "SimpleRNN: the fused kernels have two activations",
                    "activation='tanh' or 'relu'",
                    f"activation={activation!r}",
                    "use 'tanh' (Keras' default) or 'relu'",
                )
            )
        super().__init__(
            units,
            return_sequences=return_sequences,
            return_state=return_state,
            stateful=stateful,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            go_backwards=go_backwards,
            bidirectional=bidirectional,
            input_shape=input_shape,
        )
        self.activation = activation

    def _make_rnn(self, features: int) -> torch.nn.RNNBase:
        return torch.nn.RNN(
            features, self.units, nonlinearity=self.activation, batch_first=True
        )

    def _cell(self, x: torch.Tensor, h: torch.Tensor, *weights: Any) -> torch.Tensor:
        if self.activation == "relu":
            return torch.rnn_relu_cell(x, h, *weights)
        return torch.rnn_tanh_cell(x, h, *weights)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        return {"units": config.pop("units"), "activation": self.activation, **config}


class LSTM(_Recurrent):
    """Long short-term memory: ``(B, T, F) -> (B, H)`` or ``(B, T, H)``.

    Four gates, each with input weights (H x F), recurrent weights (H x H) and,
    in PyTorch, two bias vectors (Keras: one): LSTM(300) on F=1 has
    4 x (300 x (1 + 300) + 2 x 300) = 363,600 parameters here, 362,400 in Keras.
    ``return_state=True`` returns ``(output, h, c)``.

    >>> out, h, c = LSTM(8, return_state=True)(torch.zeros(2, 5, 3))
    >>> out.shape, h.shape, c.shape
    (torch.Size([2, 8]), torch.Size([2, 8]), torch.Size([2, 8]))
    """

    _gates = 4
    _n_states = 2
    _state_names = ("h", "c")

    def _make_rnn(self, features: int) -> torch.nn.RNNBase:
        return torch.nn.LSTM(features, self.units, batch_first=True)


class GRU(_Recurrent):
    """Gated recurrent unit: ``(B, T, F) -> (B, H)`` or ``(B, T, H)``.

    PyTorch's GRU applies the reset gate after the recurrent matrix product,
    which is Keras' default ``reset_after=True``; both keep two bias vectors,
    so the counts agree: 3 x (H x (F + H) + 2 x H).

    >>> GRU(4).param_breakdown((10, 2)).formula        # F=2, H=4
    '3 x (4 x (2 + 4) + 2 x 4)'
    """

    _gates = 3
    _keras_two_biases = True

    def _make_rnn(self, features: int) -> torch.nn.RNNBase:
        return torch.nn.GRU(features, self.units, batch_first=True)

    def _cell(self, x: torch.Tensor, h: torch.Tensor, *weights: Any) -> torch.Tensor:
        return torch.gru_cell(x, h, *weights)


class Bidirectional(Layer):
    """Run a recurrent layer forward and a copy of it backward, and merge.

    The backward copy starts at each sequence's own end. ``merge_mode``:
    ``"concat"`` (2H), ``"sum"``, ``"mul"``, ``"ave"`` (H). With
    ``return_state`` the states come in Keras' order: forward then backward,
    e.g. ``(output, forward_h, forward_c, backward_h, backward_c)`` for an LSTM.
    ``LSTM(8, bidirectional=True)`` is the same as ``Bidirectional(LSTM(8))``.

    >>> Bidirectional(GRU(8), merge_mode="sum")(torch.zeros(2, 5, 3)).shape
    torch.Size([2, 8])
    """

    _ranks = (2,)

    def __init__(
        self,
        layer: _Recurrent,
        merge_mode: str = "concat",
        *,
        input_shape: Sequence[int | None] | None = None,
    ) -> None:
        super().__init__(input_shape=input_shape)
        if not isinstance(layer, _Recurrent):
            raise TypeError(
                problem(
                    "Bidirectional wraps a recurrent layer",
                    "SimpleRNN, LSTM or GRU",
                    type(layer).__name__,
                    "wrap a recurrent layer, e.g. Bidirectional(LSTM(32))",
                )
            )
        if layer.bidirectional:
            raise ValueError(
                problem(
                    "Bidirectional wraps a one-direction layer",
                    "bidirectional=False on the wrapped layer",
                    f"{layer!r}",
                    "use either Bidirectional(...) or bidirectional=True, not both",
                )
            )
        if merge_mode not in MERGE_MODES:
            raise ValueError(
                problem(
                    "Bidirectional: unknown merge_mode",
                    " or ".join(repr(m) for m in MERGE_MODES),
                    repr(merge_mode),
                    "use 'concat' (2H outputs) or 'sum'/'mul'/'ave' (H outputs)",
                )
            )
        self.merge_mode = merge_mode
        if layer.stateful:
            _warn_stateful_backward(f"Bidirectional({layer!r})")
        self.forward_layer = layer
        config = layer._direction_config()
        config["go_backwards"] = not layer.go_backwards
        self.backward_layer = type(layer)(**config)
        if layer.built:
            assert layer.input_shape is not None  # set when built
            self.build(layer.input_shape)

    def _build(self, shape: Shape) -> None:
        self.forward_layer.build(shape)
        self.backward_layer.build(shape)

    @property
    def units(self) -> int:
        return self.forward_layer.units

    @property
    def output_units(self) -> int:
        return self.units * (2 if self.merge_mode == "concat" else 1)

    @property
    def return_sequences(self) -> bool:
        return self.forward_layer.return_sequences

    @property
    def return_state(self) -> bool:
        return self.forward_layer.return_state

    @property
    def stateful(self) -> bool:
        return self.forward_layer.stateful

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> Shape:
        shape = tuple(input_shape)
        self._check_rank(shape)
        if self.return_sequences:
            return (shape[0], self.output_units)
        return (self.output_units,)

    def output_axes(self, input_axes: str) -> str:
        return self.forward_layer.output_axes(input_axes)

    def output_lengths(self, lengths: torch.Tensor | None) -> torch.Tensor | None:
        return self.forward_layer.output_lengths(lengths)

    def forward(
        self,
        x: torch.Tensor,
        lengths: torch.Tensor | None = None,
        initial_state: Sequence[torch.Tensor] | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """``x`` (B, T, F) -> (B, [T,] 2H) for concat; see the class docstring."""
        states = None
        if initial_state is not None:
            n = 2 * self.forward_layer._n_states
            if isinstance(initial_state, torch.Tensor) or len(initial_state) != n:
                names = [
                    f"{d}_{s}"
                    for d in ("forward", "backward")
                    for s in self.forward_layer._state_names
                ]
                raise ValueError(
                    problem(
                        f"{self!r}: initial_state holds both directions' states",
                        f"{n} tensors [{', '.join(names)}]",
                        "a tensor"
                        if isinstance(initial_state, torch.Tensor)
                        else f"{len(initial_state)} tensors",
                        f"pass [{', '.join(names)}], each (B, H)",
                    )
                )
            forward_states = self.forward_layer._check_initial_state(
                x, list(initial_state)[: self.forward_layer._n_states]
            )
            backward_states = self.backward_layer._check_initial_state(
                x, list(initial_state)[self.forward_layer._n_states :]
            )
            states = [*(forward_states or []), *(backward_states or [])]
        return run_pair(
            self.forward_layer, self.backward_layer, self.merge_mode, x, lengths, states
        )

    def reset_states(self) -> None:
        """Forget the carried states of both directions."""
        self.forward_layer.reset_states()
        self.backward_layer.reset_states()

    def _param_breakdown(self, shape: Shape) -> ParamBreakdown:
        return _doubled(self.forward_layer.param_breakdown(shape))

    def get_config(self) -> dict[str, Any]:
        return {
            "layer": serialize_layer(self.forward_layer),
            "merge_mode": self.merge_mode,
            **super().get_config(),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Bidirectional:
        config = dict(config)
        layer = deserialize_layer(config.pop("layer"))
        assert isinstance(layer, _Recurrent)  # saved by get_config
        return cls(layer, **config)

    def __repr__(self) -> str:
        merge = (
            "" if self.merge_mode == "concat" else f", merge_mode={self.merge_mode!r}"
        )
        return f"Bidirectional({self.forward_layer!r}{merge})"


def run_pair(
    forward_layer: _Recurrent,
    backward_layer: _Recurrent,
    merge_mode: str,
    x: torch.Tensor,
    lengths: torch.Tensor | None,
    initial_state: States | None,
) -> torch.Tensor | tuple[torch.Tensor, ...]:
    """Both directions, outputs aligned in input order and merged; the code
    behind both ``Bidirectional`` and ``bidirectional=True``."""
    n = forward_layer._n_states
    want_seq = forward_layer.return_sequences
    want_states = forward_layer.return_state
    outputs, states = [], []
    for k, layer in enumerate((forward_layer, backward_layer)):
        init = initial_state[k * n : (k + 1) * n] if initial_state else None
        output, final = layer.run(
            x, lengths, init, want_seq=want_seq, want_states=want_states, align=True
        )
        outputs.append(output)
        states.extend(final)
    merged = _merge(outputs[0], outputs[1], merge_mode)
    return (merged, *states) if want_states else merged


def _merge(a: torch.Tensor, b: torch.Tensor, mode: str) -> torch.Tensor:
    if mode == "concat":
        return torch.cat([a, b], dim=-1)
    if mode == "sum":
        return a + b
    if mode == "mul":
        return a * b
    return (a + b) / 2


def reverse_within(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each row of ``x`` (B, T, ...) within its own length; steps past the
    end stay where they are. Its own inverse. One index_select (measured faster
    than gather, advanced indexing or a loop of per-row flips)."""
    B, T = x.shape[:2]
    positions = torch.arange(T, device=x.device)[None, :]  # (1, T)
    ends = lengths[:, None]  # (B, 1)
    index = torch.where(positions < ends, ends - 1 - positions, positions)  # (B, T)
    index = index + torch.arange(B, device=x.device)[:, None] * T
    flat = x.reshape(B * T, *x.shape[2:]).index_select(0, index.reshape(-1))
    return flat.reshape(x.shape)


def _unpack(final: Any) -> States:
    if isinstance(final, tuple):
        return [final[0][0], final[1][0]]
    return [final[0]]


def _run_packed(
    rnn: torch.nn.RNNBase, x: torch.Tensor, lengths: torch.Tensor, hx: Any
) -> tuple[torch.Tensor, States]:
    """Packed sequences: outputs zero past each end, states at each own end."""
    packed = pack_padded_sequence(
        x, lengths.cpu(), batch_first=True, enforce_sorted=False
    )
    out, final = rnn(packed, hx)
    seq, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    return seq, _unpack(final)


def _run_segments(
    rnn: torch.nn.RNNBase,
    x: torch.Tensor,
    lengths: torch.Tensor,
    hx: Any,
    want_seq: bool,
) -> tuple[torch.Tensor, States]:
    """Rows sorted by length run in segments between distinct lengths, the
    states carried from one segment to the next; a row leaves at its own end.

    Exact states (LSTM's c too) with one fused call per distinct length and no
    padded step computed.
    """
    B = x.shape[0]
    sorted_lengths, order = torch.sort(lengths, descending=True, stable=True)
    inverse = torch.empty_like(order)
    inverse[order] = torch.arange(B, device=order.device)
    x = x.index_select(0, order)
    if hx is not None:
        hx = _rows(hx, 0, B, order)
    ends = sorted_lengths.tolist()
    bounds = sorted(set(ends))
    remaining = [sum(1 for e in ends if e >= b) for b in bounds] + [0]
    start, outputs, finals = 0, [], []
    for i, stop in enumerate(bounds):
        n, n_next = remaining[i], remaining[i + 1]
        state = None if hx is None else _rows(hx, 0, n)
        out, hx = rnn(x[:n, start:stop], state)  # (n, stop - start, H)
        finals.append(_unpack(_rows(hx, n_next, n)))  # rows ending at `stop`
        if want_seq:
            outputs.append(F.pad(out, (0, 0, 0, 0, 0, B - n)))
        start = stop
    states = [
        torch.cat([f[k] for f in reversed(finals)]).index_select(0, inverse)
        for k in range(len(finals[0]))
    ]
    if not want_seq:
        return states[0], states
    return torch.cat(outputs, dim=1).index_select(0, inverse), states  # (B, T, H)


def _plan_groups(ends: list[int]) -> list[int]:
    """Where the fused calls stop, for rows of lengths ``ends`` (descending):
    the grouping of the distinct lengths that costs least by
    ``CALL_COST + steps x (STEP_COST + rows)`` per call (in row-steps), found
    by dynamic programming over the k distinct lengths (O(k^2), k <= B).
    One group is the dense call, k groups are the exact segments."""
    bounds = [0, *sorted(set(ends))]
    alive = [sum(1 for e in ends if e > b) for b in bounds]  # rows past each
    best = [0.0] + [float("inf")] * (len(bounds) - 1)
    came = [0] * len(bounds)
    for j in range(1, len(bounds)):
        for i in range(j):
            cost = (
                best[i] + CALL_COST + (bounds[j] - bounds[i]) * (STEP_COST + alive[i])
            )
            if cost < best[j]:
                best[j], came[j] = cost, i
    stops, j = [], len(bounds) - 1
    while j:
        stops.append(bounds[j])
        j = came[j]
    return stops[::-1]


def _cut_long_calls(stops: list[int]) -> list[int]:
    """``stops`` with more stops added so that no call spans more than
    ``MAX_CALL_STEPS`` steps (the states carry over: exact)."""
    cut: list[int] = []
    start = 0
    for stop in stops:
        pieces = -(-(stop - start) // MAX_CALL_STEPS)  # ceil
        cut.extend(start + (stop - start) * k // pieces for k in range(1, pieces + 1))
        start = stop
    return cut


def _run_coarse(
    rnn: torch.nn.RNNBase,
    x: torch.Tensor,
    lengths: torch.Tensor,
    hx: Any,
    want_seq: bool,
    stops: list[int],
) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows sorted by length run in groups ending at ``stops`` (some of the
    distinct lengths, the last one the longest), the states carried from one
    group to the next; a row that ends inside a group runs on to the group's
    end over its padding, then leaves. ``(seq, last)``: outputs zeroed past
    each end, and h at each own end, both exact; LSTM's final c is not (use
    the segments when it is needed).
    """
    B, T = x.shape[:2]
    sorted_lengths, order = torch.sort(lengths, descending=True, stable=True)
    inverse = torch.empty_like(order)
    inverse[order] = torch.arange(B, device=order.device)
    x = x.index_select(0, order)
    if hx is not None:
        hx = _rows(hx, 0, B, order)
    ends = sorted_lengths.tolist()
    start, n, outputs, lasts = 0, B, [], []
    for stop in stops:
        n_next = sum(1 for e in ends if e > stop)
        state = None if hx is None else _rows(hx, 0, n)
        out, hx = rnn(x[:n, start:stop], state)  # (n, stop - start, H)
        if n_next < n:  # rows ending inside this group: h at each own end
            rows = torch.arange(n_next, n, device=x.device)
            lasts.append(out[rows, sorted_lengths[n_next:n] - 1 - start])
        if want_seq:
            outputs.append(F.pad(out, (0, 0, 0, 0, 0, B - n)))
        start, n = stop, n_next
    last = torch.cat(lasts[::-1]).index_select(0, inverse)  # (B, H)
    if not want_seq:
        return last, last
    seq = torch.cat(outputs, dim=1).index_select(0, inverse)  # (B, T, H)
    return seq * step_mask(lengths, T).unsqueeze(-1), last


def _rows(hx: Any, start: int, stop: int, order: torch.Tensor | None = None) -> Any:
    """Rows ``start:stop`` (or ``order``) of nn.RNN states (1, B, H) / pairs."""
    if isinstance(hx, tuple):
        return tuple(_rows(h, start, stop, order) for h in hx)
    if order is not None:
        return hx.index_select(1, order)
    return hx[:, start:stop]


def _warn_stateful_backward(who: str) -> None:
    warnings.warn(
        f"{who}: stateful=True carries the backward direction's state from the "
        "start of one chunk into the end of the next chunk, which is not one "
        "backward pass over the whole sequence; use stateful=True with one "
        "direction, or run whole sequences",
        stacklevel=3,
    )


def _gated(gates: int, inner: str) -> str:
    return inner if gates == 1 else f"{gates} x ({inner})"


def _doubled(b: ParamBreakdown) -> ParamBreakdown:
    return ParamBreakdown(
        2 * b.count, f"2 x ({b.formula})", 2 * b.keras_count, f"2 x ({b.keras_formula})"
    )

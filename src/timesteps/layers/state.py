"""Streaming: the recurrent state of each series kept by its id between calls.

New steps can arrive for any series, in any order, in batches of any size. A
``StateStore`` holds one row of states per series id; :func:`stream` runs a
``Sequential`` on the new steps starting from each series' stored state and
stores the state at each series' own last new step. Feeding a series piece by
piece gives what one run over its whole sequence gives.

>>> import torch
>>> from timesteps.layers import LSTM, Dense, Sequential, StateStore, stream
>>> model = Sequential([LSTM(8), Dense(1)], input_shape=(None, 2)).eval()
>>> store = StateStore.for_model(model)
>>> x = torch.randn(1, 6, 2)
>>> with torch.no_grad():
...     _ = stream(model, ["a"], x[:, :4], store=store)       # steps 0..3 of "a"
...     _ = stream(model, ["b"], torch.randn(1, 9, 2), store=store)
...     last = stream(model, ["a"], x[:, 4:], store=store)    # steps 4..5 of "a"
...     full = model(x)
>>> torch.allclose(last, full, atol=1e-6)
True
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Any

import torch

from .._errors import problem
from .base import Layer, check_lengths, trusted, varying_lengths
from .conv import Conv1D
from .core import Dense, TimeDistributed, check_units
from .recurrent import Bidirectional, _Recurrent

States = list[torch.Tensor]


class StateStore:
    """Recurrent states of many series, one row per series id.

    ``sizes`` lists the width of each state slot in model order (an LSTM(8)
    then a GRU(4) carry ``[8, 8, 4]``: h and c, then h). Ids never seen (or
    reset) start from zeros.

    >>> store = StateStore([3])
    >>> store.gather(["x", "y"])[0].shape          # (B=2, H=3), zeros
    torch.Size([2, 3])
    >>> store.update(["y"], [torch.ones(1, 3)])
    >>> store.gather(["x", "y"])[0].sum(dim=1).tolist()
    [0.0, 3.0]
    """

    def __init__(
        self,
        sizes: Sequence[int],
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        self.sizes = [check_units(s, "state size", "StateStore") for s in sizes]
        self.device = (
            torch.device(device) if device is not None else torch.device("cpu")
        )
        self.dtype = dtype
        self.reset()

    @classmethod
    def for_model(cls, model: Any, **kwargs: Any) -> StateStore:
        """A store sized for the states a ``Sequential`` carries while streaming."""
        return cls(stream_state_sizes(model), **kwargs)

    def reset(self, ids: Iterable[Hashable] | None = None) -> None:
        """Forget the states of ``ids`` (all series when None)."""
        if ids is None:
            self._rows: dict[Hashable, int] = {}
            self._free: list[int] = []
            self._tables = [
                torch.zeros(1, size, device=self.device, dtype=self.dtype)
                for size in self.sizes
            ]  # row 0 stays zero: the state of an id never seen
            return
        for key in _keys(ids):
            row = self._rows.pop(key, None)
            if row is not None:
                for table in self._tables:
                    table[row] = 0
                self._free.append(row)

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, key: Hashable) -> bool:
        return _key(key) in self._rows

    @property
    def ids(self) -> list[Hashable]:
        """The ids with a stored state."""
        return list(self._rows)

    def gather(self, ids: Iterable[Hashable]) -> States:
        """The stored states of ``ids``: one (B, size) tensor per slot."""
        rows = [self._rows.get(key, 0) for key in _keys(ids)]
        index = torch.tensor(rows, dtype=torch.int64, device=self.device)
        return [table.index_select(0, index) for table in self._tables]

    def update(self, ids: Iterable[Hashable], states: Sequence[torch.Tensor]) -> None:
        """Store ``states`` (one (B, size) tensor per slot, detached) for ``ids``."""
        keys = _keys(ids)
        self._check_states(keys, states)
        rows = [self._row(key) for key in keys]
        index = torch.tensor(rows, dtype=torch.int64, device=self.device)
        for table, state in zip(self._tables, states, strict=True):
            table[index] = state.detach().to(device=self.device, dtype=self.dtype)

    def _row(self, key: Hashable) -> int:
        row = self._rows.get(key)
        if row is not None:
            return row
        if self._free:
            row = self._free.pop()
        else:
            row = len(self._rows) + 1
            if row >= self._tables[0].shape[0]:
                grow = max(self._tables[0].shape[0], 16)
                self._tables = [
                    torch.cat([t, t.new_zeros(grow, t.shape[1])]) for t in self._tables
                ]
        self._rows[key] = row
        return row

    def _check_states(
        self, keys: list[Hashable], states: Sequence[torch.Tensor]
    ) -> None:
        expected = ", ".join(f"(B={len(keys)}, {s})" for s in self.sizes)
        shapes = [tuple(getattr(s, "shape", ())) for s in states]
        if len(shapes) != len(self.sizes) or any(
            shape != (len(keys), size)
            for shape, size in zip(shapes, self.sizes, strict=False)
        ):
            raise ValueError(
                problem(
                    "StateStore.update takes one state tensor per slot",
                    expected,
                    ", ".join(str(s) for s in shapes) or "no states",
                    "pass the states in the order of the store's sizes, one row per id",
                )
            )

    def state_dict(self) -> dict[str, Any]:
        """Ids and their states, for saving (ids must be ints or strings to JSON)."""
        keys = list(self._rows)
        index = torch.tensor([self._rows[k] for k in keys], dtype=torch.int64)
        return {
            "sizes": list(self.sizes),
            "ids": keys,
            "states": [
                t.index_select(0, index.to(t.device)).cpu() for t in self._tables
            ],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Replace the store's content with :meth:`state_dict`'s."""
        if list(state["sizes"]) != self.sizes:
            raise ValueError(
                problem(
                    "the saved states have other sizes than this store",
                    str(self.sizes),
                    str(list(state["sizes"])),
                    "load states saved from a store of the same model",
                )
            )
        self.reset()
        if state["ids"]:
            self.update(state["ids"], state["states"])


def stream_state_sizes(model: Any) -> list[int]:
    """Widths of the states a ``Sequential`` carries from call to call.

    The recurrent layers that read the model's own timesteps carry state (h, and
    c for an LSTM); layers after the time axis is gone (after a recurrent layer
    with return_sequences=False) start afresh at every call, as in a full run.
    """
    sizes = []
    for _, carrier in _plan(model):
        if carrier is not None:
            sizes.extend([carrier.units] * carrier._n_states)
    return sizes


def stream(
    model: Any,
    ids: Iterable[Hashable],
    steps: Any,
    lengths: Any = None,
    store: StateStore | None = None,
) -> torch.Tensor:
    """Run ``model`` on the next steps of the series ``ids``, carrying their state.

    ``steps`` (B, T, F): the next T steps of each listed series (post-padded,
    with ``lengths`` (B,) when they differ). Returns the model's output for
    these steps, e.g. (B, 1) for a many-to-one model (at each series' last new
    step) or (B, T, K) for a per-step model. ``store`` defaults to the model's
    own (``model.stream_store``). Runs in the model's current mode: call
    ``model.eval()`` first for inference without dropout.
    """
    store = model.stream_store if store is None else store
    x = model.check_input(steps)
    keys = _keys(ids)
    if len(keys) != x.shape[0]:
        raise ValueError(
            problem(
                "stream: one id per row of steps",
                f"{x.shape[0]} ids (B={x.shape[0]})",
                f"{len(keys)} ids",
                "pass the id of each row of steps",
            )
        )
    if len(set(keys)) != len(keys):
        raise ValueError(
            problem(
                "stream: each series may appear once per call",
                "distinct ids",
                "a repeated id",
                "send consecutive steps of one series as one row (with lengths) "
                "or in consecutive calls",
            )
        )
    lengths = check_lengths(lengths, x, "stream")
    lengths = varying_lengths(lengths, x.shape[1])
    states = store.gather(keys)
    output, final = _forward_carrying(model, x, lengths, states)
    store.update(keys, final)
    return output


def _forward_carrying(
    model: Any, x: torch.Tensor, lengths: torch.Tensor | None, states: States
) -> tuple[torch.Tensor, States]:
    final: States = []
    k = 0
    with trusted():
        for layer, carrier in _plan(model):
            if carrier is not None:
                n = carrier._n_states
                x, new = carrier.run(
                    x,
                    lengths,
                    states[k : k + n],
                    want_seq=carrier.return_sequences,
                    want_states=True,
                    carry=False,
                )
                final.extend(new)
                k += n
            else:
                x = layer(x, lengths=lengths)
            lengths = layer.output_lengths(lengths)
    return x, final


def _plan(model: Any) -> list[tuple[Layer, _Recurrent | None]]:
    """Each layer, and itself again where it carries state; refuses layers that
    cannot stream."""
    if len(model.input_shape) != 2:
        raise ValueError(
            problem(
                "stream needs a model over sequences",
                "input_shape=(T, F)",
                f"input_shape={model.input_shape}",
                "stream a model whose input has a timesteps axis",
            )
        )
    plan: list[tuple[Layer, _Recurrent | None]] = []
    on_time = True  # the layer's input is step-aligned with the model's input
    for layer in model.layers:
        carrier = None
        if on_time:
            _check_streamable(layer)
            if isinstance(layer, _Recurrent):
                carrier = layer
                on_time = layer.return_sequences
        plan.append((layer, carrier))
    return plan


def _check_streamable(layer: Layer) -> None:
    reason = None
    if isinstance(layer, Bidirectional) or getattr(layer, "bidirectional", False):
        reason = "a bidirectional layer reads each sequence from its end"
    elif getattr(layer, "go_backwards", False):
        reason = "a go_backwards layer reads each sequence from its end"
    elif isinstance(layer, Conv1D) and (layer.span > 1 or layer.strides > 1):
        reason = "a Conv1D's window reaches back into steps of earlier calls"
    elif not isinstance(layer, _Recurrent | Dense | TimeDistributed | Conv1D):
        reason = f"{type(layer).__name__} does not work step by step"
    if reason:
        raise ValueError(
            problem(
                f"{layer!r} cannot be streamed step by step",
                "layers that read the steps in order (SimpleRNN, LSTM, GRU, Dense, "
                "TimeDistributed)",
                f"{layer!r}: {reason}",
                "run the model on whole sequences instead of streaming",
            )
        )


def _keys(ids: Iterable[Hashable]) -> list[Hashable]:
    if isinstance(ids, str | bytes):
        ids = [ids]
    if isinstance(ids, torch.Tensor):
        ids = ids.tolist()
    return [_key(i) for i in ids]


def _key(value: Any) -> Hashable:
    item = getattr(value, "item", None)  # numpy / torch scalars -> Python
    if item is not None and getattr(value, "ndim", 1) == 0:
        return item()
    return value

"""Rows of length 0 (a series that ended in an earlier chunk): their state
passes through unchanged and their outputs are zero; the other rows get what
they get alone. Length 0 is for containers that checked their input (chunked
task models, under ``trusted()``); a layer's public call still takes 1..T."""

from __future__ import annotations

import pytest
import torch

from timesteps.layers import GRU, LSTM, SimpleRNN
from timesteps.layers.base import trusted
from timesteps.layers.recurrent import PATHS

CELLS = [SimpleRNN, LSTM, GRU]


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("path", PATHS[:2])
def test_empty_rows_keep_their_state(
    cell: type, return_sequences: bool, path: str
) -> None:
    torch.manual_seed(0)
    layer = cell(5, return_sequences=return_sequences, return_state=True)
    layer._variable_path = path
    x = torch.randn(4, 6, 3)
    n_states = 2 if cell is LSTM else 1
    initial = [torch.randn(4, 5) for _ in range(n_states)]
    lengths = torch.tensor([0, 6, 3, 0])
    with trusted():
        out, *states = layer(x, lengths=lengths, initial_state=initial)
    rows = [1, 2]
    alone, *alone_states = layer(
        x[rows], lengths=lengths[rows], initial_state=[s[rows] for s in initial]
    )
    assert out.shape == ((4, 6, 5) if return_sequences else (4, 5))
    torch.testing.assert_close(out[rows], alone, atol=1e-6, rtol=0)
    assert torch.equal(out[[0, 3]], torch.zeros_like(out[[0, 3]]))
    for state, start, own in zip(states, initial, alone_states, strict=True):
        assert torch.equal(state[[0, 3]], start[[0, 3]])  # passed through
        torch.testing.assert_close(state[rows], own, atol=1e-6, rtol=0)


def test_empty_rows_without_initial_state_and_all_empty() -> None:
    layer = LSTM(3, return_state=True)
    x = torch.randn(3, 4, 2)
    layer(x)  # built
    with trusted():
        out, h, c = layer(x, lengths=torch.tensor([0, 4, 2]))
    assert torch.equal(h[0], torch.zeros(3)) and torch.equal(c[0], torch.zeros(3))
    assert torch.equal(out[0], torch.zeros(3))
    start = [torch.ones(3, 3), torch.full((3, 3), 2.0)]
    with trusted():
        out, h, c = layer(
            x, lengths=torch.zeros(3, dtype=torch.long), initial_state=start
        )
    assert torch.equal(out, torch.zeros(3, 3))
    assert torch.equal(h, start[0]) and torch.equal(c, start[1])


def test_stateful_layer_carries_empty_rows_unchanged() -> None:
    torch.manual_seed(1)
    layer = GRU(4, stateful=True)
    x = torch.randn(2, 5, 1)
    layer(x)
    before = layer.states[0].clone()
    with trusted():
        layer(torch.randn(2, 3, 1), lengths=torch.tensor([3, 0]))
    assert torch.equal(layer.states[0][1], before[1])
    assert not torch.equal(layer.states[0][0], before[0])


def test_gradients_flow_through_kept_states() -> None:
    layer = SimpleRNN(2, return_state=True)
    x = torch.randn(2, 3, 1)
    start = torch.randn(2, 2, requires_grad=True)
    layer(x)  # built
    with trusted():
        _, h = layer(x, lengths=torch.tensor([0, 3]), initial_state=[start])
    h.sum().backward()
    assert start.grad is not None
    assert torch.equal(start.grad[0], torch.ones(2))  # h[0] is start[0] itself


def test_the_public_call_still_takes_1_to_T() -> None:
    with pytest.raises(
        ValueError,
        match=r"LSTM\(2\): every length must lie in 1\.\.T: expected lengths "
        r"between 1 and T=3, received a length of 0",
    ):
        LSTM(2)(torch.zeros(2, 3, 1), lengths=torch.tensor([0, 3]))

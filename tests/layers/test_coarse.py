"""The "coarse" ragged path: rows sorted by length run in a few fused calls,
each covering several distinct lengths; a row that ends inside a call runs on
over its padding and its outputs there are dropped. Outputs, h and gradients
must equal each row run alone; LSTM's final c falls back to exact segments."""

from __future__ import annotations

import pytest
import torch

from timesteps.layers import GRU, LSTM, Sequential, SimpleRNN, recurrent
from timesteps.layers.recurrent import (
    CALL_COST,
    MAX_CALL_STEPS,
    STEP_COST,
    _cut_long_calls,
    _plan_groups,
)

F, H = 3, 5
# distinct 1, 3, 5, 7, 9: forced coarse groups stop at 3, 7, 9, so rows of
# lengths 1 and 5 end inside a group
LENGTHS = torch.tensor([7, 3, 9, 1, 5, 3, 9])
CELLS = [SimpleRNN, LSTM, GRU]


def ragged(lengths=LENGTHS):
    """Padding of 100 past each end: any leak into a result shows."""
    torch.manual_seed(0)
    x = torch.randn(len(lengths), int(lengths.max()), F)
    past = torch.arange(x.shape[1])[None, :, None] >= lengths[:, None, None]
    return torch.where(past, torch.full_like(x, 100.0), x)


def coarse(layer):
    for sub in (layer, getattr(layer, "backward_layer", None)):
        if sub is not None:
            sub._variable_path = "coarse"
    return layer


def close(a, b, atol=1e-6):
    assert a.shape == b.shape
    torch.testing.assert_close(a, b, atol=atol, rtol=0)


def test_forced_coarse_path_really_groups():
    layer = coarse(LSTM(H))
    layer.build((None, F))
    x = ragged()[:, :9]
    assert layer._choose_path(x, LENGTHS, want_states=False) == ("coarse", [3, 7, 9])
    # LSTM's c at each own end is only exact on the segments
    assert layer._choose_path(x, LENGTHS, want_states=True) == ("segments", [])


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("want_seq", [False, True])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_coarse_rows_equal_rows_alone(cell, want_seq, bidirectional):
    x = ragged()
    for backwards in (False, True):
        layer = coarse(
            cell(
                H,
                return_sequences=want_seq,
                go_backwards=backwards,
                bidirectional=bidirectional,
            )
        )
        layer.build((None, F))
        got = layer(x, lengths=LENGTHS)
        for i, n in enumerate(LENGTHS.tolist()):
            alone = layer(x[i : i + 1, :n])
            if want_seq:
                close(got[i : i + 1, :n], alone)
                assert got[i, n:].abs().sum().item() == 0
            else:
                close(got[i : i + 1], alone)


@pytest.mark.parametrize("cell", [SimpleRNN, GRU])
def test_coarse_h_state_is_exact(cell):
    """h is the only state of SimpleRNN and GRU: coarse returns it exactly."""
    x = ragged()
    layer = coarse(cell(H, return_state=True))
    layer.build((None, F))
    h0 = torch.randn(len(LENGTHS), H)
    got, h = layer(x, lengths=LENGTHS, initial_state=h0)
    close(got, h)
    for i, n in enumerate(LENGTHS.tolist()):
        _, alone = layer(x[i : i + 1, :n], initial_state=h0[i : i + 1])
        close(h[i : i + 1], alone)


def test_coarse_lstm_with_states_stays_exact():
    x = ragged()
    layer = coarse(LSTM(H, return_state=True))
    layer.build((None, F))
    _, h, c = layer(x, lengths=LENGTHS)
    for i, n in enumerate(LENGTHS.tolist()):
        _, h_i, c_i = layer(x[i : i + 1, :n])
        close(h[i : i + 1], h_i)
        close(c[i : i + 1], c_i)


@pytest.mark.parametrize("want_seq", [False, True])
def test_coarse_gradients_equal_the_sum_over_rows(want_seq):
    x = ragged().requires_grad_(True)
    layer = coarse(LSTM(H, return_sequences=want_seq, bidirectional=True))
    layer.build((None, F))
    params = list(layer.parameters())

    def loss(inputs, lengths):
        return layer(inputs, lengths=lengths).pow(2).sum()

    batched = torch.autograd.grad(loss(x, LENGTHS), [*params, x])
    alone = [torch.zeros_like(p) for p in params]
    x_alone = torch.zeros_like(x)
    for i, n in enumerate(LENGTHS.tolist()):
        *grads, g_x = torch.autograd.grad(loss(x[i : i + 1, :n], None), [*params, x])
        alone = [a + g for a, g in zip(alone, grads, strict=True)]
        x_alone += g_x
    for a, b in zip(batched, [*alone, x_alone], strict=True):
        close(a, b, atol=1e-5)


def test_coarse_stack_equals_rows_alone():
    model = Sequential(
        [
            LSTM(5, return_sequences=True),
            GRU(4, bidirectional=True, return_sequences=True),
            LSTM(3),
        ],
        input_shape=(None, F),
    )
    for layer in model.layers:
        coarse(layer)
    x = ragged()
    y = model(x, lengths=LENGTHS)
    for i, n in enumerate(LENGTHS.tolist()):
        close(y[i : i + 1], model(x[i : i + 1, :n]))


def test_plan_is_dense_segments_or_groups_by_cost():
    assert (CALL_COST, STEP_COST) == (200.0, 10.0)
    # far apart, one call per distinct length: 3 x 200 + 1000 x (13 + 12 + 11)
    # = 36,600; one dense call: 200 + 3000 x (10 + 3) = 39,200
    assert _plan_groups([3000, 2000, 1000]) == [1000, 2000, 3000]
    # a few steps apart, one call over the padding: 200 + 12 x (10 + 4) = 368;
    # segments: 4 x 200 + 9 x 14 + 13 + 12 + 11
    assert _plan_groups([12, 11, 10, 9]) == [12]


def cost(ends, stops):
    """The model's cost of the calls ending at ``stops``, written out."""
    total, start = 0.0, 0
    for stop in stops:
        rows = sum(1 for e in ends if e > start)
        total += CALL_COST + (stop - start) * (STEP_COST + rows)
        start = stop
    return total


def test_plan_is_the_cheapest_grouping():
    """Dynamic programming == the best of all 2^(k-1) groupings."""
    generator = torch.Generator().manual_seed(0)
    for _ in range(5):
        ends = sorted(torch.randint(1, 400, (12,), generator=generator).tolist())[::-1]
        bounds = sorted(set(ends))
        best = min(
            cost(
                ends,
                [b for k, b in enumerate(bounds[:-1]) if mask >> k & 1] + [bounds[-1]],
            )
            for mask in range(2 ** (len(bounds) - 1))
        )
        plan = _plan_groups(ends)
        assert plan[-1] == bounds[-1] and set(plan) <= set(bounds)
        assert cost(ends, plan) == best


def test_long_calls_are_cut():
    assert MAX_CALL_STEPS == 128
    # 300 - 100 = 200 steps -> two calls of 100; 700 - 301 = 399 -> four
    assert _cut_long_calls([100, 300, 301, 700]) == [
        100,
        200,
        300,
        301,
        400,
        500,
        600,
        700,
    ]


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("want_seq", [False, True])
def test_cut_calls_equal_rows_alone(cell, want_seq, monkeypatch):
    """Calls of at most 3 steps, by default choice (LSTM only: GRU and
    SimpleRNN measured slower when cut): rows end inside calls, a call ends
    where no row does; gradients too."""
    monkeypatch.setattr(recurrent, "MAX_CALL_STEPS", 3)
    x = ragged()
    layer = cell(H, return_sequences=want_seq, bidirectional=True)
    layer.build((None, F))
    path, stops = layer._choose_path(x, LENGTHS, want_states=False)
    if cell is LSTM:
        assert (path, stops) == ("coarse", [3, 6, 9])  # 6: no row ends there
    else:
        assert (path, stops) == ("dense", [])
    params = list(layer.parameters())
    got = layer(x, lengths=LENGTHS)
    batched = torch.autograd.grad(got.pow(2).sum(), params)
    alone = [torch.zeros_like(p) for p in params]
    for i, n in enumerate(LENGTHS.tolist()):
        row = layer(x[i : i + 1, :n])
        close(got[i : i + 1, :n] if want_seq else got[i : i + 1], row)
        grads = torch.autograd.grad(row.pow(2).sum(), params)
        alone = [a + g for a, g in zip(alone, grads, strict=True)]
    for a, b in zip(batched, alone, strict=True):
        close(a, b, atol=1e-5)


@pytest.mark.parametrize("go_backwards", [False, True])
def test_a_long_full_length_lstm_runs_in_pieces_equal_to_one_call(
    go_backwards, monkeypatch
):
    """T > 2 x MAX_CALL_STEPS with every row full: calls of at most
    MAX_CALL_STEPS steps with the states carried equal one nn.LSTM call:
    outputs, final (h, c) and gradients."""
    monkeypatch.setattr(recurrent, "MAX_CALL_STEPS", 3)
    torch.manual_seed(0)
    x = torch.randn(3, 10, F)
    layer = LSTM(H, return_sequences=True, return_state=True, go_backwards=go_backwards)
    layer.build((None, F))
    reference = torch.nn.LSTM(F, H, batch_first=True)
    reference.load_state_dict(layer.rnn.state_dict())
    out, h, c = layer(x)
    want, (h_want, c_want) = reference(x.flip(1) if go_backwards else x)
    close(out, want)
    close(h, h_want[0])
    close(c, c_want[0])
    got = torch.autograd.grad(out.pow(2).sum(), list(layer.parameters()))
    ref = torch.autograd.grad(want.pow(2).sum(), list(reference.parameters()))
    for a, b in zip(got, ref, strict=True):
        close(a, b, atol=1e-5)

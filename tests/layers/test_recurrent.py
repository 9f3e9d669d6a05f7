"""SimpleRNN, LSTM, GRU, Bidirectional: parity with torch.nn run directly on the
same weights, exact variable lengths on every path, stateful chunks, errors."""

from __future__ import annotations

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from timesteps.layers import GRU, LSTM, Bidirectional, SimpleRNN

F, H = 3, 5
KINDS = [
    (SimpleRNN, lambda: torch.nn.RNN(F, H, batch_first=True)),
    (LSTM, lambda: torch.nn.LSTM(F, H, batch_first=True)),
    (GRU, lambda: torch.nn.GRU(F, H, batch_first=True)),
]
BI_REFS = {
    SimpleRNN: lambda: torch.nn.RNN(F, H, batch_first=True, bidirectional=True),
    LSTM: lambda: torch.nn.LSTM(F, H, batch_first=True, bidirectional=True),
    GRU: lambda: torch.nn.GRU(F, H, batch_first=True, bidirectional=True),
}
LENGTHS = torch.tensor([7, 3, 7, 1, 5, 3])
ATOL = 1e-6


def states_of(final):
    """nn.RNN's final states -> list of (B, H), Keras' order."""
    if isinstance(final, tuple):
        h, c = final
        return [s for d in range(h.shape[0]) for s in (h[d], c[d])]
    return list(final)


def copy_bidirectional(directions, ref):
    """Copy a bidirectional nn module's weights into two one-direction layers."""
    state = ref.state_dict()
    for layer, suffix in zip(directions, ("", "_reverse"), strict=True):
        layer.rnn.load_state_dict(
            {name: state[name + suffix] for name in layer.rnn.state_dict()}
        )


def directions(layer):
    if isinstance(layer, Bidirectional):
        return layer.forward_layer, layer.backward_layer
    return layer, layer.backward_layer


def close(a, b, atol=ATOL):
    assert a.shape == b.shape
    torch.testing.assert_close(a, b, atol=atol, rtol=0)


# -- parity on full-length batches -----------------------------------------------


@pytest.mark.parametrize(("cls", "make_ref"), KINDS)
def test_parity_with_torch_one_direction(cls, make_ref):
    ref = make_ref()
    x = torch.randn(4, 6, F)
    h0 = [torch.randn(4, H) for _ in range(1 + (cls is LSTM))]
    hx = tuple(s[None] for s in h0) if cls is LSTM else h0[0][None]
    out, final = ref(x, hx)
    layer = cls(H, return_sequences=True, return_state=True)
    layer.build((None, F))
    layer.rnn.load_state_dict(ref.state_dict())
    got, *states = layer(x, initial_state=h0)
    close(got, out)
    for a, b in zip(states, states_of(final), strict=True):
        close(a, b)
    last = cls(H)
    last.build((None, F))
    last.rnn.load_state_dict(ref.state_dict())
    close(last(x, initial_state=h0), out[:, -1])


def test_simple_rnn_relu_parity():
    ref = torch.nn.RNN(F, H, nonlinearity="relu", batch_first=True)
    layer = SimpleRNN(H, activation="relu", return_sequences=True)
    layer.build((None, F))
    layer.rnn.load_state_dict(ref.state_dict())
    x = torch.randn(3, 4, F)
    close(layer(x), ref(x)[0])


@pytest.mark.parametrize("cls", [SimpleRNN, LSTM, GRU])
@pytest.mark.parametrize("wrapper", ["flag", "Bidirectional"])
def test_parity_with_torch_bidirectional(cls, wrapper):
    ref = BI_REFS[cls]()
    x = torch.randn(4, 6, F)
    out, final = ref(x)
    kwargs = {"return_sequences": True, "return_state": True}
    if wrapper == "flag":
        layer = cls(H, bidirectional=True, **kwargs)
    else:
        layer = Bidirectional(cls(H, **kwargs))
    layer.build((None, F))
    copy_bidirectional(directions(layer), ref)
    got, *states = layer(x)
    close(got, out)  # (B, T, 2H): backward outputs aligned in input order
    for a, b in zip(states, states_of(final), strict=True):
        close(a, b)  # forward_h, [forward_c,] backward_h, [backward_c]
    for direction in directions(layer):
        direction.return_sequences = False
    got_last = layer(x)[0]
    close(got_last, torch.cat([out[:, -1, :H], out[:, 0, H:]], dim=-1))


@pytest.mark.parametrize(
    ("mode", "merge"),
    [
        ("sum", lambda a, b: a + b),
        ("mul", lambda a, b: a * b),
        ("ave", lambda a, b: (a + b) / 2),
    ],
)
def test_merge_modes(mode, merge):
    ref = BI_REFS[GRU]()
    layer = Bidirectional(GRU(H, return_sequences=True), merge_mode=mode)
    layer.build((None, F))
    copy_bidirectional(directions(layer), ref)
    x = torch.randn(2, 4, F)
    out = ref(x)[0]
    close(layer(x), merge(out[..., :H], out[..., H:]))
    assert layer.compute_output_shape((4, F)) == (4, H)


@pytest.mark.parametrize(("cls", "make_ref"), KINDS)
def test_go_backwards_is_keras_order(cls, make_ref):
    ref = make_ref()
    layer = cls(H, go_backwards=True, return_sequences=True)
    layer.build((None, F))
    layer.rnn.load_state_dict(ref.state_dict())
    x = torch.randn(2, 5, F)
    close(layer(x), ref(x.flip(1))[0])  # in processing order, like Keras


def test_one_step_uses_the_same_weights():
    for cls, make_ref in KINDS:
        ref = make_ref()
        layer = cls(H, return_state=True)
        layer.build((None, F))
        layer.rnn.load_state_dict(ref.state_dict())
        x = torch.randn(4, 1, F)
        h0 = [torch.randn(4, H) for _ in range(1 + (cls is LSTM))]
        hx = tuple(s[None] for s in h0) if cls is LSTM else h0[0][None]
        out, final = ref(x, hx)
        got, *states = layer(x, initial_state=h0)
        close(got, out[:, 0])
        for a, b in zip(states, states_of(final), strict=True):
            close(a, b)


# -- variable lengths: each row exactly as when run alone -----------------------


def ragged(batch=LENGTHS):
    x = torch.randn(len(batch), int(batch.max()), F)
    x = x * (torch.arange(x.shape[1])[None, :, None] < batch[:, None, None])
    return x + 100.0 * (torch.arange(x.shape[1])[None, :, None] >= batch[:, None, None])


def assert_rows_alone(layer, x, lengths, want_seq):
    """Batched result == each row run alone at its own length."""
    result = layer(x, lengths=lengths)
    result = result if isinstance(result, tuple) else (result,)
    for i, n in enumerate(lengths.tolist()):
        alone = layer(x[i : i + 1, :n])
        alone = alone if isinstance(alone, tuple) else (alone,)
        if want_seq:
            close(result[0][i : i + 1, :n], alone[0])
            assert result[0][i, n:].abs().max().item() == 0 if n < x.shape[1] else True
        else:
            close(result[0][i : i + 1], alone[0])
        for got, want in zip(result[1:], alone[1:], strict=True):
            close(got[i : i + 1], want)


PATH_CASES = [None, "dense", "segments", "packed"]


@pytest.mark.parametrize("cls", [SimpleRNN, LSTM, GRU])
@pytest.mark.parametrize("path", PATH_CASES)
@pytest.mark.parametrize("want_seq", [False, True])
def test_variable_lengths_one_direction(cls, path, want_seq):
    x = ragged()
    for backwards in (False, True):
        layer = cls(H, return_sequences=want_seq, go_backwards=backwards)
        layer.build((None, F))
        layer._variable_path = path
        assert_rows_alone(layer, x, LENGTHS, want_seq)


@pytest.mark.parametrize("cls", [SimpleRNN, LSTM, GRU])
@pytest.mark.parametrize("path", PATH_CASES)
def test_variable_lengths_states(cls, path):
    x = ragged()
    layer = cls(H, return_sequences=True, return_state=True)
    layer.build((None, F))
    layer._variable_path = path
    assert_rows_alone(layer, x, LENGTHS, want_seq=True)
    assert_rows_alone(layer, x, LENGTHS[[0, 0, 0, 0, 0, 0]] - 2, want_seq=True)


@pytest.mark.parametrize("cls", [SimpleRNN, LSTM, GRU])
@pytest.mark.parametrize("path", PATH_CASES)
def test_variable_lengths_bidirectional(cls, path):
    x = ragged()
    for want_seq in (False, True):
        layer = cls(H, bidirectional=True, return_sequences=want_seq, return_state=True)
        layer.build((None, F))
        layer._variable_path = path
        layer.backward_layer._variable_path = path
        assert_rows_alone(layer, x, LENGTHS, want_seq)


@pytest.mark.parametrize("cls", [SimpleRNN, LSTM, GRU])
def test_variable_lengths_match_torch_packed_bidirectional(cls):
    ref = BI_REFS[cls]()
    x = ragged()
    packed = pack_padded_sequence(x, LENGTHS, batch_first=True, enforce_sorted=False)
    out, final = ref(packed)
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    layer = cls(H, bidirectional=True, return_sequences=True, return_state=True)
    layer.build((None, F))
    copy_bidirectional(directions(layer), ref)
    got, *states = layer(x, lengths=LENGTHS)
    close(got, out)
    for a, b in zip(states, states_of(final), strict=True):
        close(a, b)


@pytest.mark.parametrize("path", PATH_CASES)
def test_gradients_of_a_ragged_batch_equal_the_sum_over_rows(path):
    x = ragged()
    layer = LSTM(H, return_sequences=True, return_state=True, bidirectional=True)
    layer.build((None, F))
    layer._variable_path = layer.backward_layer._variable_path = path

    def loss(inputs, lengths):
        out, *states = layer(inputs, lengths=lengths)
        return out.pow(2).sum() + sum(s.sum() for s in states)

    batched = torch.autograd.grad(loss(x, LENGTHS), list(layer.parameters()))
    alone = [torch.zeros_like(p) for p in layer.parameters()]
    for i, n in enumerate(LENGTHS.tolist()):
        grads = torch.autograd.grad(
            loss(x[i : i + 1, :n], None), list(layer.parameters())
        )
        alone = [a + g for a, g in zip(alone, grads, strict=True)]
    for a, b in zip(batched, alone, strict=True):
        close(a, b, atol=1e-5)


def test_initial_state_with_variable_lengths():
    x = ragged()
    h0 = [torch.randn(len(LENGTHS), H), torch.randn(len(LENGTHS), H)]
    for path in PATH_CASES:
        layer = LSTM(H, return_state=True)
        layer.build((None, F))
        layer._variable_path = path
        got, _, c = layer(x, lengths=LENGTHS, initial_state=h0)
        for i, n in enumerate(LENGTHS.tolist()):
            init = [h0[0][i : i + 1], h0[1][i : i + 1]]
            alone, _, c_i = layer(x[i : i + 1, :n], initial_state=init)
            close(got[i : i + 1], alone)
            close(c[i : i + 1], c_i)


def test_equal_lengths_shorter_than_t_are_cut():
    layer = LSTM(H, return_sequences=True, return_state=True)
    x = ragged(torch.tensor([4, 4, 4]))
    x = torch.cat([x, torch.full((3, 2, F), 7.0)], dim=1)  # T=6, all lengths 4
    out, _, c = layer(x, lengths=torch.tensor([4, 4, 4]))
    alone, _, c4 = layer(x[:, :4])
    close(out[:, :4], alone)
    assert out[:, 4:].abs().max().item() == 0
    close(c, c4)


# -- stateful: chunks with the state carried equal one full run -------------------


@pytest.mark.parametrize("cls", [SimpleRNN, LSTM, GRU])
def test_stateful_chunks_equal_full_run(cls):
    x = torch.randn(3, 12, F)
    full = cls(H, return_sequences=True, return_state=True)
    full.build((None, F))
    chunked = cls(H, return_sequences=True, stateful=True)
    chunked.build((None, F))
    chunked.load_state_dict(full.state_dict())
    want, *want_states = full(x)
    pieces = [chunked(x[:, a:b]) for a, b in [(0, 5), (5, 6), (6, 12)]]
    close(torch.cat(pieces, dim=1), want, atol=1e-5)
    for a, b in zip(chunked.states, want_states, strict=True):
        close(a, b, atol=1e-5)
    assert all(not s.requires_grad for s in chunked.states)  # truncated BPTT
    chunked.reset_states()
    close(chunked(x[:, :5]), want[:, :5], atol=1e-5)


@pytest.mark.parametrize("cls", [LSTM, GRU])
def test_stateful_ragged_last_chunk(cls):
    lengths = torch.tensor([10, 7, 9])
    x = ragged(lengths)
    full = cls(H, return_state=True)
    full.build((None, F))
    chunked = cls(H, stateful=True, return_sequences=True)
    chunked.build((None, F))
    chunked.load_state_dict(full.state_dict())
    chunked(x[:, :6])
    last = chunked(x[:, 6:], lengths=lengths - 6)  # rows end at their own step
    for i, n in enumerate(lengths.tolist()):
        alone, *states = full(x[i : i + 1, :n])
        close(last[i, n - 7], alone[0], atol=1e-5)
        for got, want in zip(chunked.states, states, strict=True):
            close(got[i : i + 1], want, atol=1e-5)


def test_stateful_bidirectional_resets_both_directions():
    with pytest.warns(
        UserWarning,
        match=r"GRU\(5, stateful=True, bidirectional=True\)"
        r": stateful=True carries the backward direction's state",
    ):
        layer = GRU(H, stateful=True, bidirectional=True)
    layer(torch.randn(2, 4, F))
    assert layer.states is not None and layer.backward_layer.states is not None
    layer.reset_states()
    assert layer.states is None and layer.backward_layer.states is None


def test_stateful_batch_size_mismatch():
    layer = LSTM(H, stateful=True)
    layer(torch.randn(4, 3, F))
    message = (
        r"LSTM\(5, stateful=True\) is stateful: each call continues the same rows: "
        r"expected B=4 \(the batch size of the carried state\), received B=2\. "
        r"Fix: call reset_states\(\) before a batch of another size, or keep the "
        r"batch size the same from call to call\."
    )
    with pytest.raises(ValueError, match=message):
        layer(torch.randn(2, 3, F))
    layer.reset_states()
    assert layer(torch.randn(2, 3, F)).shape == (2, H)


# -- dropout ------------------------------------------------------------------------


def test_dropout_is_one_input_mask_per_sequence():
    ref = torch.nn.LSTM(F, H, batch_first=True)
    layer = LSTM(H, dropout=0.5, return_sequences=True)
    layer.build((None, F))
    layer.rnn.load_state_dict(ref.state_dict())
    x = torch.randn(4, 6, F)
    torch.manual_seed(3)
    got = layer(x)
    torch.manual_seed(3)
    mask = torch.empty(4, 1, F).bernoulli_(0.5) / 0.5  # shared over the T axis
    close(got, ref(x * mask)[0])
    layer.eval()
    close(layer(x), ref(x)[0])


# -- shapes, config, errors ---------------------------------------------------------


def test_output_shapes_and_lazy_build():
    x = torch.randn(8, 20, 1)
    assert LSTM(30)(x).shape == (8, 30)
    assert LSTM(30, return_sequences=True)(x).shape == (8, 20, 30)
    assert GRU(4, bidirectional=True)(x).shape == (8, 8)
    out, fh, fc, bh, bc = LSTM(4, bidirectional=True, return_state=True)(x)
    assert out.shape == (8, 8) and all(s.shape == (8, 4) for s in (fh, fc, bh, bc))
    layer = SimpleRNN(10)
    layer(x)
    assert layer.built and layer.input_shape == (None, 1)
    assert layer.compute_output_shape((3, 1)) == (10,)


def test_repr_and_config_round_trip():
    layer = LSTM(300, return_sequences=True)
    assert repr(layer) == "LSTM(300, return_sequences=True)"
    assert repr(SimpleRNN(10, activation="relu")) == "SimpleRNN(10, activation='relu')"
    assert repr(Bidirectional(GRU(4), merge_mode="sum")) == (
        "Bidirectional(GRU(4), merge_mode='sum')"
    )
    for original in [
        layer,
        GRU(3, bidirectional=True, dropout=0.25),
        Bidirectional(SimpleRNN(2, activation="relu"), merge_mode="ave"),
    ]:
        copy = type(original).from_config(original.get_config())
        assert repr(copy) == repr(original)
        assert copy.get_config() == original.get_config()


def test_recurrent_dropout_is_refused():
    message = (
        r"LSTM: recurrent_dropout is not supported: expected recurrent_dropout=0\.0, "
        r"received recurrent_dropout=0\.2\. Fix: dropping the recurrent connection "
        r"needs a new mask at every step inside the cell, which the fused kernels "
        r"\(oneDNN, cuDNN\) cannot do; use dropout= \(input dropout, one mask per "
        r"sequence shared over time, like Keras\) on this layer or the next one "
        r"instead\."
    )
    with pytest.raises(ValueError, match=message):
        LSTM(10, recurrent_dropout=0.2)


def test_argument_errors():
    with pytest.raises(ValueError, match=r"activation='sigmoid'"):
        SimpleRNN(10, activation="sigmoid")
    with pytest.raises(ValueError, match=r"received dropout=1\.5"):
        GRU(10, dropout=1.5)
    with pytest.raises(TypeError, match=r"LSTM: units must be an integer"):
        LSTM(2.5)
    with pytest.raises(ValueError, match=r"use either Bidirectional"):
        Bidirectional(LSTM(3, bidirectional=True))


def test_input_errors():
    layer = LSTM(4)
    layer(torch.randn(2, 5, 3))
    message = (
        r"LSTM\(4\) received an input of another shape: expected \(B, T, F=3\), "
        r"received \(B=2, T=5, F=2\)\. Fix: pass the F=3 features the layer was "
        r"built for, or use a new layer for F=2\."
    )
    with pytest.raises(ValueError, match=message):
        layer(torch.randn(2, 5, 2))
    with pytest.raises(
        ValueError, match=r"received \(B=2, F=3\)\. Fix: give it a time"
    ):
        layer(torch.randn(2, 3))
    with pytest.raises(ValueError, match=r"expected lengths between 1 and T=5"):
        layer(torch.randn(2, 5, 3), lengths=torch.tensor([5, 0]))
    with pytest.raises(ValueError, match=r"expected shape \(B=2,\)"):
        layer(torch.randn(2, 5, 3), lengths=torch.tensor([5]))
    with pytest.raises(
        ValueError, match=r"expected 2 tensors \[h, c\], each \(B=2, H=4\)"
    ):
        layer(torch.randn(2, 5, 3), initial_state=[torch.zeros(2, 4)])
    with pytest.raises(ValueError, match=r"initial state c has the wrong shape"):
        layer(
            torch.randn(2, 5, 3), initial_state=[torch.zeros(2, 4), torch.zeros(3, 4)]
        )

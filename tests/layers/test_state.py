"""StateStore and streaming: steps fed for any series, in any order, in batches
of any size, give what one run over each series' whole sequence gives."""

from __future__ import annotations

import pytest
import torch

from timesteps.layers import (
    GRU,
    LSTM,
    Conv1D,
    Dense,
    Sequential,
    SimpleRNN,
    StateStore,
    TimeDistributed,
    stream,
    stream_state_sizes,
)


def many_to_one():
    return Sequential(
        [LSTM(6, return_sequences=True), GRU(5), Dense(2)], input_shape=(None, 3)
    ).eval()


def per_step():
    return Sequential(
        [
            SimpleRNN(4, return_sequences=True),
            LSTM(5, return_sequences=True),
            TimeDistributed(Dense(2)),
        ],
        input_shape=(None, 3),
    ).eval()


def test_store_gathers_zeros_for_new_ids_and_keeps_updates():
    store = StateStore([2, 3])
    h, c = store.gather(["a", 7])
    assert h.shape == (2, 2) and c.shape == (2, 3)
    assert h.abs().sum().item() == 0 and c.abs().sum().item() == 0
    store.update([7], [torch.tensor([[1.0, 2.0]]), torch.tensor([[3.0, 4.0, 5.0]])])
    h, c = store.gather(["a", 7, "b"])
    assert h.tolist() == [[0.0, 0.0], [1.0, 2.0], [0.0, 0.0]]
    assert c[1].tolist() == [3.0, 4.0, 5.0]
    assert len(store) == 1 and 7 in store and "a" not in store


def test_store_grows_resets_and_round_trips():
    store = StateStore([1])
    ids = list(range(40))
    store.update(ids, [torch.arange(40.0)[:, None]])
    assert store.gather([39, 0, 17])[0].squeeze(1).tolist() == [39.0, 0.0, 17.0]
    store.reset([17])
    assert store.gather([17])[0].item() == 0.0 and 17 not in store
    store.update(["new"], [torch.tensor([[5.0]])])  # reuses the freed row
    copy = StateStore([1])
    copy.load_state_dict(store.state_dict())
    assert copy.gather([39, "new", 17])[0].squeeze(1).tolist() == [39.0, 5.0, 0.0]
    store.reset()
    assert len(store) == 0 and store.gather([39])[0].item() == 0.0


def test_store_update_checks_shapes():
    store = StateStore([4, 4])
    message = (
        r"StateStore\.update takes one state tensor per slot: expected \(B=2, 4\), "
        r"\(B=2, 4\), received \(2, 4\)\."
    )
    with pytest.raises(ValueError, match=message):
        store.update(["a", "b"], [torch.zeros(2, 4)])


def test_state_sizes_follow_the_carrying_layers():
    assert stream_state_sizes(many_to_one()) == [6, 6, 5]
    assert stream_state_sizes(per_step()) == [4, 5, 5]


@pytest.mark.parametrize("make", [many_to_one, per_step])
def test_interleaved_out_of_order_stream_equals_full_runs(make):
    model = make()
    lengths = {"a": 9, "b": 5, "c": 12, 4: 7}
    series = {key: torch.randn(1, n, 3) for key, n in lengths.items()}
    with torch.no_grad():
        full = {key: model(x) for key, x in series.items()}
    # pieces (id, start, stop), interleaved, batched in various sizes
    calls = [
        [("c", 0, 5), ("a", 0, 1)],
        [("b", 0, 2)],
        [(4, 0, 3), ("a", 1, 4), ("b", 2, 3), ("c", 5, 6)],
        [("a", 4, 9), ("c", 6, 12), (4, 3, 7)],
        [("b", 3, 5)],
    ]
    store = StateStore.for_model(model)
    outputs = {key: [] for key in series}
    for call in calls:
        steps_max = max(stop - start for _, start, stop in call)
        x = torch.zeros(len(call), steps_max, 3)
        for row, (key, start, stop) in enumerate(call):
            x[row, : stop - start] = series[key][0, start:stop]
        call_lengths = torch.tensor([stop - start for _, start, stop in call])
        with torch.no_grad():
            y = stream(
                model, [k for k, _, _ in call], x, lengths=call_lengths, store=store
            )
        for row, (key, start, stop) in enumerate(call):
            outputs[key].append(y[row, : stop - start] if y.ndim == 3 else y[row])
    for key, want in full.items():
        got = torch.cat(outputs[key]) if want.ndim == 3 else outputs[key][-1]
        torch.testing.assert_close(got, want[0], atol=1e-5, rtol=0)


def test_one_step_at_a_time_equals_full_run():
    model = per_step()
    x = torch.randn(2, 8, 3)
    with torch.no_grad():
        want = model(x)
        got = torch.cat(
            [model.stream(["p", "q"], x[:, t : t + 1]) for t in range(8)], dim=1
        )
    torch.testing.assert_close(got, want, atol=1e-5, rtol=0)
    assert set(model.stream_store.ids) == {"p", "q"}


def test_stream_errors():
    model = many_to_one()
    with pytest.raises(ValueError, match=r"stream: each series may appear once"):
        stream(model, ["a", "a"], torch.zeros(2, 3, 3), store=StateStore([6, 6, 5]))
    with pytest.raises(ValueError, match=r"expected 2 ids \(B=2\), received 1 ids"):
        model.stream(["a"], torch.zeros(2, 3, 3))
    bidirectional = Sequential([GRU(3, bidirectional=True)], input_shape=(None, 1))
    message = (
        r"GRU\(3, bidirectional=True\) cannot be streamed step by step: .*a "
        r"bidirectional layer reads each sequence from its end\. Fix: run the model "
        r"on whole sequences instead of streaming\."
    )
    with pytest.raises(ValueError, match=message):
        bidirectional.stream([1], torch.zeros(1, 2, 1))
    convolved = Sequential(
        [Conv1D(2, 3, padding="causal"), GRU(2)], input_shape=(None, 1)
    )
    with pytest.raises(ValueError, match=r"window reaches back into steps of earlier"):
        StateStore.for_model(convolved)

"""explain(): exact shapes, closed-form parameter counts, sentences, round trips."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import timesteps as ts
from timesteps.data.batches import Batch
from timesteps.data.sequence_set import SequenceSet
from timesteps.explain import Explanation, explain, parse_layers


def _lstm(f: int, h: int, biases: int = 2) -> int:
    return 4 * (h * (f + h) + biases * h)


def _gru(f: int, h: int, biases: int = 2) -> int:
    return 3 * (h * (f + h) + biases * h)


def _rnn(f: int, h: int, biases: int = 2) -> int:
    return h * (f + h) + biases * h


# (layers, input_shape, [(shapes, PyTorch count, Keras count) per layer])
MODELS = {
    "bone size": (
        lambda: [
            ts.SimpleRNN(10, activation="relu"),
            ts.Dense(1, activation="sigmoid"),
        ],
        (3, 1),
        [
            ("(B=2, T=3, F=1) -> (B=2, H=10)", 130, 120),
            ("(B=2, H=10) -> (B=2, H=1)", 11, 11),
        ],
    ),
    "forecaster": (
        lambda: [ts.LSTM(300), ts.Dense(20)],
        (20, 1),
        [
            ("(B=2, T=20, F=1) -> (B=2, H=300)", 363_600, 362_400),
            ("(B=2, H=300) -> (B=2, H=20)", 6_020, 6_020),
        ],
    ),
    "gru": (
        lambda: [ts.GRU(16)],
        (5, 3),
        # Keras' GRU (reset_after=True) keeps two bias vectors too
        [("(B=2, T=5, F=3) -> (B=2, H=16)", _gru(3, 16), _gru(3, 16))],
    ),
    "bidirectional": (
        lambda: [ts.Bidirectional(ts.LSTM(8))],
        (6, 2),
        [("(B=2, T=6, F=2) -> (B=2, H=16)", 2 * _lstm(2, 8), 2 * _lstm(2, 8, 1))],
    ),
    "stacked": (
        lambda: [ts.LSTM(8, return_sequences=True), ts.LSTM(4)],
        (6, 2),
        [
            ("(B=2, T=6, F=2) -> (B=2, T=6, H=8)", _lstm(2, 8), _lstm(2, 8, 1)),
            ("(B=2, T=6, H=8) -> (B=2, H=4)", _lstm(8, 4), _lstm(8, 4, 1)),
        ],
    ),
    "conv front": (
        lambda: [ts.Conv1D(4, 3, strides=2), ts.SimpleRNN(5)],
        (11, 2),
        [
            ("(B=2, T=11, F=2) -> (B=2, T=5, F=4)", 3 * 2 * 4 + 4, 3 * 2 * 4 + 4),
            ("(B=2, T=5, F=4) -> (B=2, H=5)", _rnn(4, 5), _rnn(4, 5, 1)),
        ],
    ),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_shapes_and_counts(name: str) -> None:
    make, shape, expected = MODELS[name]
    net = ts.Sequential(make(), input_shape=shape)
    e = explain(net)
    assert [(r.shapes, r.params, r.keras_params) for r in e.rows] == expected
    assert e.total_params == sum(p.numel() for p in net.parameters())
    assert e.total_params == sum(torch_count for _, torch_count, _ in expected)
    assert e.total_keras_params == sum(keras for _, _, keras in expected)


@pytest.fixture(scope="module")
def forecaster() -> Explanation:
    """LSTM(300) + Dense(20) on (20, 1), explained once for several tests."""
    net = ts.Sequential([ts.LSTM(300), ts.Dense(20)], input_shape=(20, 1))
    return explain(net)


def test_formulas_with_numbers_filled_in(forecaster: Explanation) -> None:
    lstm, dense = forecaster.rows
    assert lstm.formula == "4 x (300 x (1 + 300) + 2 x 300)"
    assert lstm.keras_formula == "4 x (300 x (1 + 300) + 300)"
    assert dense.formula == "300 x 20 + 20"


def test_model_description_on_top(forecaster: Explanation) -> None:
    e = forecaster
    assert e.model == "Sequential([LSTM(300), Dense(20)], input_shape=(20, 1))"
    assert str(e).splitlines()[0] == e.model


def test_plain_table(forecaster: Explanation) -> None:
    text = str(forecaster)
    assert "traced on (B=2, T=20, F=1); a dummy batch of random values" in text
    assert "(B=2, T=20, F=1) -> (B=2, H=300)  363,600" in text
    total = next(line for line in text.splitlines() if line.startswith("total"))
    assert total.split() == ["total", "369,620", "PyTorch", "368,420", "Keras"]


def test_keras_columns_only_when_counts_differ() -> None:
    net = ts.Sequential([ts.Dense(3)], input_shape=(4,))
    text = str(explain(net))
    assert "Keras" not in text
    assert "(B=2, F=4) -> (B=2, H=3)" in text


def test_rich_table(forecaster: Explanation) -> None:
    from rich.console import Console

    console = Console(width=220, record=True)
    console.print(forecaster)
    text = console.export_text()
    assert "363,600" in text and "362,400" in text and "LSTM(300)" in text


# -- sentences -------------------------------------------------------------------------


def test_sentences_for_the_last_step_only(forecaster: Explanation) -> None:
    said = forecaster.sentences
    assert said[0] == (
        "The time axis disappears here: LSTM(300) returns one vector of 300 per "
        "sample, the state after the last of the 20 steps: "
        "(B=2, T=20, F=1) -> (B=2, H=300)."
    )
    assert said[1].startswith("300 units is not one per timestep: H=300 is the size")
    assert "T=20 or on F=1" in said[1]
    assert said[2] == (
        "PyTorch counts 363,600 parameters for LSTM(300), Keras 362,400 (1,200 more)"
        ": PyTorch keeps two bias vectors (input and recurrent) where Keras keeps one."
    )
    assert len(said) == 3  # nothing about sequences, strides, state or repeats


def test_sentences_for_every_step() -> None:
    net = ts.Sequential(
        [ts.LSTM(8, return_sequences=True), ts.Dense(1)], input_shape=(6, 2)
    )
    said = explain(net).sentences
    assert (
        "LSTM(8, return_sequences=True) keeps its output at every step "
        "(return_sequences=True): one vector of 8 for each of the 6 steps, "
        "(B=2, T=6, H=8), so Dense(1) after it reads a sequence." in said
    )
    assert (
        "Dense(1) gets a sequence and applies the same weights to each of the 6 "
        "steps on its own: (B=2, T=6, H=8) -> (B=2, T=6, H=1)." in said
    )
    assert not any(s.startswith("The time axis disappears") for s in said)


def test_sentences_for_strides_state_repeat_and_wrappers() -> None:
    net = ts.Sequential(
        [
            ts.Conv1D(4, 3, strides=2),
            ts.Bidirectional(ts.LSTM(8)),
            ts.RepeatVector(5),
            ts.GRU(4, return_sequences=True, stateful=True),
            ts.TimeDistributed(ts.Dense(1)),
        ],
        input_shape=(11, 2),
    )
    said = " ".join(explain(net).sentences)
    assert (
        "Conv1D(4, 3, strides=2) shortens the time axis from T=11 to T=5 = "
        "floor((11 - 3) / 2) + 1 (padding='valid')" in said
    )
    assert "concatenates them: 16 = 2 x 8 values out" in said
    assert (
        "RepeatVector(5) copies the vector of 16 to 5 steps, "
        "(B=2, H=16) -> (B=2, T=5, H=16)" in said
    )
    assert "GRU(4, return_sequences=True, stateful=True) is stateful" in said
    assert "each of the B=2 rows must continue the same series" in said
    assert "TimeDistributed(Dense(1)) applies Dense(1) to each of the 5 steps" in said


def test_ragged_batch_mentions_each_series_own_last_step() -> None:
    data = SequenceSet(np.ones((7, 1)), [0, 2, 7])
    net = ts.Sequential([ts.SimpleRNN(3)], input_shape=(None, 1))
    e = explain(net, data)
    assert e.rows[0].shapes == "(B=2, T=5, F=1) -> (B=2, H=3)"
    assert "(for a shorter series, its own last real step)" in e.sentences[0]


# -- what is traced --------------------------------------------------------------------


def test_data_sets_the_batch() -> None:
    net = ts.Sequential([ts.SimpleRNN(10), ts.Dense(1)], input_shape=(3, 1))
    x = np.zeros((50, 3, 1), dtype=np.float32)
    assert explain(net, x).rows[0].shapes == "(B=50, T=3, F=1) -> (B=50, H=10)"
    assert explain(net, torch.zeros(50, 3, 1), batch_size=5).batch == "(B=5, T=3, F=1)"
    batch = Batch(torch.zeros(4, 3, 1), torch.tensor([3, 3, 2, 1]), torch.arange(4))
    assert explain(net, batch).rows[1].shapes == "(B=4, H=10) -> (B=4, H=1)"
    data = SequenceSet(np.ones((3 * 40, 1)), np.arange(0, 121, 3))
    assert explain(net, data).batch == "(B=32, T=3, F=1)"
    assert explain(net, batch_size=7).batch == "(B=7, T=3, F=1)"


def test_free_T_uses_a_stated_example_length() -> None:
    net = ts.Sequential([ts.GRU(4)], input_shape=(None, 2))
    e = explain(net)
    assert e.batch == "(B=2, T=10, F=2)"
    assert any("T=None" in note and "T=10 is an example" in note for note in e.notes)


def test_the_model_is_left_as_it_was() -> None:
    net = ts.Sequential([ts.LSTM(4, stateful=True), ts.Dense(1)], input_shape=(3, 2))
    net.train()
    before = [p.detach().clone() for p in net.parameters()]
    explain(net)
    assert net.training
    assert net.layers[0].states is None  # no carried state from the trace
    for old, new in zip(before, net.parameters(), strict=True):
        assert torch.equal(old, new)


class _Encoder(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = ts.LSTM(8, return_state=True)


class _Decoder(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = ts.LSTM(8, return_sequences=True)
        self.head = ts.TimeDistributed(ts.Dense(1))


class _EncoderDecoder(torch.nn.Module):
    """A hand-built seq2seq: the decoder starts from the encoder's final state."""

    def __init__(self, horizon: int = 4) -> None:
        super().__init__()
        self.horizon = horizon
        self.encoder = _Encoder()
        self.decoder = _Decoder()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, h, c = self.encoder.lstm(x)  # (B, H) each
        start = x.new_zeros(x.shape[0], self.horizon, 1)  # (B, h, 1)
        y = self.decoder.lstm(start, initial_state=[h, c])  # (B, h, H)
        return self.decoder.head(y)  # (B, h, 1)


def test_encoder_decoder_parts_and_state() -> None:
    model = _EncoderDecoder()
    e = explain(model, np.zeros((3, 6, 2), np.float32))
    assert [(r.part, r.path) for r in e.rows] == [
        ("encoder", "encoder.lstm"),
        ("decoder", "decoder.lstm"),
        ("decoder", "decoder.head"),
    ]
    encoder, decoder, head = e.rows
    assert encoder.shapes == "(B=3, T=6, F=2) -> (B=3, H=8)"
    assert encoder.states == [[3, 8], [3, 8]]
    assert decoder.shapes == "(B=3, T=4, F=1) -> (B=3, T=4, H=8)"
    assert (decoder.source, decoder.state_from, head.source) == (None, 0, 1)
    # the layers build on the traced copy; the closed form gives the count
    assert e.total_params == _lstm(2, 8) + _lstm(1, 8) + 8 + 1
    assert (
        "LSTM(8, return_sequences=True) in decoder starts from the final state of "
        "LSTM(8, return_state=True) in encoder" in " ".join(e.sentences)
    )


def test_a_module_without_input_shape_needs_data() -> None:
    with pytest.raises(ValueError, match="needs an input shape for _EncoderDecoder"):
        explain(_EncoderDecoder())


class _TaskModel:
    """What explain reads of a task model: network, input_shape, forward_batch."""

    def __init__(self) -> None:
        self.input_shape = (5, 2)
        self.network = torch.nn.ModuleDict({"rnn": ts.GRU(6), "head": ts.Dense(1)})

    def forward_batch(self, batch: Batch) -> torch.Tensor:
        h = self.network["rnn"](batch.x, batch.lengths)  # (B, H)
        both = torch.cat([h, batch.static], dim=1)  # (B, H + S)
        return self.network["head"](both)


def test_task_model_traced_through_forward_batch() -> None:
    batch = Batch(
        torch.zeros(3, 5, 2),
        torch.tensor([5, 4, 2]),
        torch.arange(3),
        static=torch.zeros(3, 4),
    )
    e = explain(_TaskModel(), batch)
    rnn, head = e.rows
    assert rnn.shapes == "(B=3, T=5, F=2) -> (B=3, H=6)"
    assert head.shapes == "(B=3, F=10) -> (B=3, H=1)"  # made outside the layers
    assert (head.source, head.params) == (None, 11)
    assert e.model.startswith("_TaskModel: ModuleDict(rnn=GRU(6), head=Dense(1))")


def test_plain_torch_modules_are_counted() -> None:
    class Mixed(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rnn = ts.SimpleRNN(4)
            self.linear = torch.nn.Linear(4, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.linear(self.rnn(x))

    e = explain(Mixed(), torch.zeros(2, 3, 1))
    assert [r.kind for r in e.rows] == ["SimpleRNN", "Linear"]
    assert (e.rows[1].params, e.rows[1].formula) == (10, "2 x 4 (weight) + 2 (bias)")
    assert e.total_params == _rnn(1, 4) + 10


# -- data for tools --------------------------------------------------------------------


def test_json_round_trip() -> None:
    net = ts.Sequential([ts.Bidirectional(ts.GRU(3)), ts.Dense(2)], input_shape=(4, 1))
    e = explain(net)
    again = Explanation.from_json(e.to_json())
    assert again == e
    data = json.loads(e.to_json())
    assert data["rows"][0]["shapes"] == "(B=2, T=4, F=1) -> (B=2, H=6)"
    assert data["total_params"] == e.total_params
    assert str(again) == str(e)


# -- parse_layers ----------------------------------------------------------------------


def test_parse_layers_builds_the_same_network() -> None:
    net = parse_layers(["LSTM(300)", "Dense(20)"], input_shape=(20, 1))
    assert (
        explain(net).model == "Sequential([LSTM(300), Dense(20)], input_shape=(20, 1))"
    )
    nested = parse_layers(
        "[Bidirectional(LSTM(8, return_sequences=True)), TimeDistributed(Dense(1))]",
        input_shape="None,3",
    )
    assert [repr(layer) for layer in nested.layers] == [
        "Bidirectional(LSTM(8, return_sequences=True))",
        "TimeDistributed(Dense(1))",
    ]
    assert nested.input_shape == (None, 3)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("__import__('os')", "unknown layer in a spec"),
        ("__import__('os').system('echo hi')", "must be one layer constructor call"),
        ("LSTM(300).cuda()", "must be one layer constructor call"),
        ("LSTM(units=2 + 3)", "layer arguments must be literals.*'2 \\+ 3'"),
        ("LSTM(n)", "layer arguments must be literals"),
        ("Dense(20, **options)", "layer spec arguments"),
        ("LSTM(300", "not valid Python call syntax"),
        ("LTSM(300)", "did you mean 'LSTM'"),
    ],
)
def test_parse_layers_refuses_anything_but_literal_layer_calls(
    spec: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        parse_layers([spec], input_shape=(20, 1))


def test_parse_layers_wrong_arguments() -> None:
    with pytest.raises(TypeError, match="arguments of Dense in 'Dense\\(1, 2, 3\\)'"):
        parse_layers(["Dense(1, 2, 3)"], input_shape=(4,))


# -- bad input -------------------------------------------------------------------------


def test_bad_input() -> None:
    net = ts.Sequential([ts.SimpleRNN(2)], input_shape=(3, 1))
    with pytest.raises(TypeError, match="explain\\(\\) traces a model"):
        explain("LSTM(3)")
    with pytest.raises(ValueError, match="received 4 axes \\(1, 2, 3, 1\\)"):
        explain(net, np.zeros((1, 2, 3, 1)))
    with pytest.raises(TypeError, match="data to trace on"):
        explain(net, [[1.0]])
    with pytest.raises(ValueError, match=r"batch_size .* received 0"):
        explain(net, batch_size=0)


def test_package_is_callable_as_explain() -> None:
    net = ts.Sequential([ts.SimpleRNN(2)], input_shape=(3, 1))
    assert ts.explain(net) == explain(net)


def test_classifier_traced_on_its_own_batches() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3, 1)).astype(np.float32)
    y = (X.sum(axis=(1, 2)) > 0).astype(np.int64)
    model = ts.Classifier(cell="rnn", units=10)
    with pytest.raises(ValueError, match="Classifier has no network yet"):
        explain(model)
    model.fit(X, y, epochs=1, validation=None, verbose=0)
    e = explain(model, X)
    assert [(r.part, r.shapes, r.params, r.keras_params) for r in e.rows] == [
        ("encoder", "(B=32, T=3, F=1) -> (B=32, H=10)", 130, 120),
        ("head", "(B=32, H=10) -> (B=32, H=1)", 11, 11),
    ]
    assert e.model.startswith("Classifier(cell='rnn', units=10")


@pytest.mark.parametrize("strategy", ["direct", "recursive", "seq2seq"])
def test_explain_traces_a_forecaster_with_known_future_inputs(strategy: str) -> None:
    frame = ts.datasets.forecast_series(n_series=3, length=80)
    data = ts.SequenceSet.from_long(frame, id="series", time="time")
    model = ts.Forecaster(
        lookback=12,
        horizon=4,
        strategy=strategy,
        target=["value"],
        known_future=["hour_sin", "hour_cos"],
        units=4,
    )
    model.fit(data, epochs=1, verbose=0, validation=None)
    for source in (None, data):
        explanation = explain(model, data=source)
        first = explanation.rows[0]
        assert first.input_shape[-2:] == [12, 3]  # (T=L, F=value + 2 known)

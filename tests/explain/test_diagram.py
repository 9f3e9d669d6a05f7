"""diagram(): SVG that parses and names every layer and shape, PNG, elision."""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import torch

import timesteps as ts
from timesteps.explain import diagram, explain
from timesteps.explain.diagram import INK, MUTED, layout, shown_steps

SVG = "{http://www.w3.org/2000/svg}"


def _texts(path: Path) -> list[str]:
    root = ET.parse(path).getroot()
    return [el.text or "" for el in root.iter(f"{SVG}text")]


def _cells(path: Path) -> int:
    return len(list(ET.parse(path).getroot().iter(f"{SVG}rect"))) - 1  # background


def _front_to_back() -> ts.Sequential:
    return ts.Sequential(
        [
            ts.Conv1D(4, 3, strides=2),
            ts.Bidirectional(ts.LSTM(8)),
            ts.RepeatVector(4),
            ts.GRU(4, return_sequences=True),
            ts.TimeDistributed(ts.Dense(1)),
        ],
        input_shape=(11, 2),
    )


def test_shown_steps() -> None:
    assert shown_steps(3) == [1, 2, 3]
    assert shown_steps(30) == list(range(1, 31))
    assert shown_steps(31) == [1, 2, 3, 4, None, 28, 29, 30, 31]
    assert shown_steps(20, 5) == [1, 2, 3, None, 19, 20]
    assert shown_steps(100, 100) == [1, 2, 3, 4, None, 97, 98, 99, 100]


def test_svg_names_every_layer_and_shape(tmp_path: Path) -> None:
    net = _front_to_back()
    path = diagram(net, tmp_path / "net.svg")
    texts = _texts(path)
    joined = "\n".join(texts)
    for row in explain(net).rows:
        assert row.spec in texts
        assert row.output_text in texts
    assert "x: (B=2, T=11, F=2)" in texts
    # 11 inputs, 5 conv steps (floor((11 - 3) / 2) + 1), 5 LSTM cells
    assert [f"x_{t}" for t in range(1, 12)] == [t for t in texts if t.startswith("x_")]
    assert "conv 5" in texts and "conv 6" not in texts
    assert "same vector copied to 4 steps" in joined


def test_png_signature_and_size(tmp_path: Path) -> None:
    net = ts.Sequential(
        [ts.SimpleRNN(10, activation="relu"), ts.Dense(1, activation="sigmoid")],
        input_shape=(3, 1),
    )
    data = diagram(net, tmp_path / "bone.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert 400 <= width <= 3000 and 200 <= height <= 1500


def test_long_sequences_are_elided(tmp_path: Path) -> None:
    net = ts.Sequential(
        [ts.GRU(4, return_sequences=True), ts.GRU(4), ts.Dense(1)],
        input_shape=(None, 1),
    )
    path = diagram(net, tmp_path / "long.svg", timesteps=100)
    texts = _texts(path)
    assert texts.count("…") == 3  # one column per band with steps
    assert {"x_1", "x_4", "x_97", "x_100"} <= set(texts) and "x_50" not in texts
    assert _cells(path) == 8 * 3 + 1  # 8 steps drawn per band, and the Dense head
    assert "(B=2, T=100, H=4)" in texts


def test_default_steps(tmp_path: Path) -> None:
    free = ts.Sequential([ts.GRU(3)], input_shape=(None, 1))
    texts = _texts(diagram(free, tmp_path / "free.svg"))
    assert "x_5" in texts and "x_6" not in texts  # T=None: 5 steps
    fixed = ts.Sequential([ts.GRU(3)], input_shape=(20, 1))
    assert "x_20" in _texts(diagram(fixed, tmp_path / "fixed.svg"))
    fewer = _texts(diagram(fixed, tmp_path / "fewer.svg", timesteps=5))
    assert [t for t in fewer if t.startswith("x_")] == [
        "x_1",
        "x_2",
        "x_3",
        "x_19",
        "x_20",
    ]


def test_kept_and_dropped_outputs_differ() -> None:
    last = explain(ts.Sequential([ts.SimpleRNN(2)], input_shape=(3, 1)))
    every = explain(
        ts.Sequential([ts.SimpleRNN(2, return_sequences=True)], input_shape=(3, 1))
    )
    for e, dropped, kept in ((last, 2, 1), (every, 0, 3)):
        lines = layout(e).lines
        assert sum(line.dashed and line.color == MUTED for line in lines) == dropped
        assert sum(line.label == "y" and line.color == INK for line in lines) == kept


def test_lstm_draws_h_and_c_between_steps() -> None:
    e = explain(ts.Sequential([ts.LSTM(2)], input_shape=(4, 1)))
    labels = [line.label for line in layout(e).lines]
    assert (labels.count("h"), labels.count("c")) == (3, 3)


class _Seq2Seq(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encoder = torch.nn.ModuleDict({"lstm": ts.LSTM(4, return_state=True)})
        self.decoder = torch.nn.ModuleDict(
            {"lstm": ts.LSTM(4, return_sequences=True), "head": ts.Dense(1)}
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, h, c = self.encoder["lstm"](x)
        start = x.new_zeros(x.shape[0], 3, 1)  # (B, h=3, 1)
        return self.decoder["head"](self.decoder["lstm"](start, initial_state=[h, c]))


def test_encoder_decoder_split(tmp_path: Path) -> None:
    data = np.zeros((2, 5, 2), np.float32)
    path = diagram(_Seq2Seq(), tmp_path / "seq2seq.svg", data=data)
    texts = _texts(path)
    assert {"encoder", "decoder", "initial h, c"} <= set(texts)
    assert "input (B=2, T=3, F=1)" in texts  # the decoder's own input


def test_an_explanation_can_be_drawn(tmp_path: Path) -> None:
    e = explain(ts.Sequential([ts.GRU(3)], input_shape=(4, 1)))
    assert "GRU(3)" in _texts(diagram(e, tmp_path / "e.svg"))


def test_bad_paths_and_steps(tmp_path: Path) -> None:
    net = ts.Sequential([ts.GRU(3)], input_shape=(20, 1))
    with pytest.raises(ValueError, match=r"\.svg or \.png.*Fix: write to 'net.svg'"):
        diagram(net, tmp_path / "net.pdf")
    with pytest.raises(ValueError, match=r"at most the model's T=20.*timesteps=25"):
        diagram(net, tmp_path / "net.svg", timesteps=25)
    with pytest.raises(ValueError, match="an integer >= 1 or None, received 0"):
        diagram(net, tmp_path / "net.svg", timesteps=0)


def test_recursive_decoder_is_unrolled_over_its_calls(tmp_path: Path) -> None:
    from timesteps.models.builders import EncoderDecoder

    net = EncoderDecoder(
        [],
        [ts.LSTM(4, return_state=True)],
        [ts.LSTM(4, return_sequences=True, return_state=True)],
        ts.TimeDistributed(ts.Dense(1)),
        input_shape=(6, 1),
        horizon=3,
        target_index=[0],
    )
    e = explain(net, np.zeros((2, 6, 1), np.float32))
    _, decoder, head = e.rows
    assert (decoder.calls, decoder.state_from, decoder.fed_back_from) == (3, 0, 2)
    assert head.calls == 3
    assert "each call reads the output of TimeDistributed(Dense(1))" in " ".join(
        e.sentences
    )
    texts = _texts(diagram(e, tmp_path / "decoder.svg"))
    assert texts.count("TD") == 3 and "fed back" in texts

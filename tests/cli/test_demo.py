"""``timesteps demo``: once as a real subprocess (``python -m timesteps``), and
its refusal to overwrite a folder."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from timesteps.cli import app

runner = CliRunner()

FILES = [
    "classifier_diagram.svg",
    "classifier_history.png",
    "forecast.png",
    "forecaster_diagram.svg",
    "forecaster_history.png",
    "report.md",
]


def test_quick_demo_as_a_subprocess(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    run = subprocess.run(
        [sys.executable, "-m", "timesteps", "demo", "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert sorted(p.name for p in out.iterdir()) == FILES
    for name in FILES:
        assert (out / name).stat().st_size > 1000, name
    assert (out / "forecast.png").read_bytes()[:4] == b"\x89PNG"
    assert "<svg" in (out / "classifier_diagram.svg").read_text()

    text = run.stdout
    assert "shape: B=800 series, T=3..3 timesteps, F=1 features" in text
    assert "(B=32, T=3, F=1) -> (B=32, H=10)" in text  # SimpleRNN(10), traced
    assert "10 x (1 + 10) + 2 x 10" in text
    accuracy = re.findall(r"^  (.+?)\s+(0\.\d{3})$", text, flags=re.M)
    assert [name for name, _ in accuracy][:2] == [
        "SimpleRNN(10) classifier",
        "majority class (0)",
    ]
    assert accuracy[2][0].startswith("rule: growth > ")
    errors = re.findall(
        r"^(Forecaster \(LSTM\)|naive \(last value\)|seasonal naive \(24 h\))"
        r"\s+([\d.]+) ([\d.]+)\s+([\d.]+) ([\d.]+)$",
        text,
        flags=re.M,
    )
    assert [row[0] for row in errors] == [
        "Forecaster (LSTM)",
        "naive (last value)",
        "seasonal naive (24 h)",
    ]
    report = (out / "report.md").read_text()
    for name, value in accuracy:
        assert f"| {name} | {value} |" in report
    for name, mae, rmse, smape, mase in errors:
        assert f"| {name} | {mae} | {rmse} | {smape} | {mase} |" in report
    assert re.search(r"demo finished in \d+\.\d s$", text.strip())
    assert "Traceback" not in run.stderr


def test_demo_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    result = runner.invoke(app, ["demo", "--quick", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"error: --out folder {str(tmp_path)!r} is not empty: expected a new or "
        "empty folder, received 1 entries in it. Fix: choose another --out, or "
        "pass --force"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_explain_layer_specs_counts_parameters() -> None:
    result = runner.invoke(
        app, ["explain", "--input", "20,1", "LSTM(300)", "Dense(20)"]
    )
    assert result.exit_code == 0, result.output
    assert "(B=2, T=20, F=1) -> (B=2, H=300)" in result.stdout
    assert "4 x (300 x (1 + 300) + 2 x 300)" in result.stdout
    assert "369,620" in result.stdout and "368,420" in result.stdout  # PyTorch, Keras
    result = runner.invoke(
        app, ["explain", "--input", "20,1", "LSTM(300)", "Dense(20)", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["total_params"], data["total_keras_params"]) == (369620, 368420)


def test_explain_writes_a_diagram(tmp_path: Path) -> None:
    path = tmp_path / "net.svg"
    result = runner.invoke(
        app, ["explain", "--input", "3,1", "SimpleRNN(10)", "--diagram", str(path)]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith(f"diagram written to {path}\n")
    assert "<svg" in path.read_text()

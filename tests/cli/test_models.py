"""train -> predict / forecast / evaluate round trips on tiny CSV files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import timesteps as ts
from timesteps.cli import app

runner = CliRunner()


@pytest.fixture
def visits(tmp_path: Path) -> Path:
    """The bone-size study as a long table: 60 patients x 3 visits."""
    wide = ts.datasets.bone_size(n_patients=60)
    long = wide.melt(
        id_vars=["patient_id", "outcome"],
        value_vars=["bone_m1", "bone_m2", "bone_m3"],
        var_name="visit",
        value_name="bone",
    )
    long["visit"] = long["visit"].str[-1].astype(int)
    path = tmp_path / "visits.csv"
    long.sort_values(["patient_id", "visit"]).to_csv(path, index=False)
    wide.to_csv(tmp_path / "wide.csv", index=False)
    return path


def test_classifier_round_trip(visits: Path, tmp_path: Path) -> None:
    model_dir = tmp_path / "model"
    result = runner.invoke(
        app,
        [
            "--threads",
            "1",
            "train",
            str(visits),
            "--id",
            "patient_id",
            "--time",
            "visit",
            "--target",
            "outcome",
            "--task",
            "classify",
            "--units",
            "4",
            "--epochs",
            "2",
            "--out",
            str(model_dir),
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("trained 2 epochs (loss ")
    assert sorted(p.name for p in model_dir.iterdir()) == [
        "data.json",
        "history.json",
        "history.png",
        "model.json",
        "weights.safetensors",
    ]
    assert json.loads((model_dir / "data.json").read_text())["target"] == "outcome"

    out = tmp_path / "predictions.csv"
    result = runner.invoke(
        app, ["predict", str(model_dir), str(visits), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == f"60 rows written to {out}\n"
    predicted = pd.read_csv(out)
    assert list(predicted.columns) == ["patient_id", "prediction"]
    assert predicted["patient_id"].tolist() == list(range(1, 61))
    assert set(predicted["prediction"]) <= {0, 1}

    # the same patients as a wide table give the same predictions
    out_wide = tmp_path / "wide.parquet"
    result = runner.invoke(
        app,
        [
            "predict",
            str(model_dir),
            str(tmp_path / "wide.csv"),
            "--steps",
            "bone_m1,bone_m2,bone_m3",
            "--out",
            str(out_wide),
        ],
    )
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(
        pd.read_parquet(out_wide)["prediction"], predicted["prediction"]
    )

    result = runner.invoke(app, ["evaluate", str(model_dir), str(visits)])
    assert result.exit_code == 0, result.output
    lines = dict(line.split(maxsplit=1) for line in result.stdout.splitlines())
    model = ts.load(model_dir)
    data = ts.SequenceSet.from_long(
        pd.read_csv(visits), id="patient_id", time="visit", target="outcome"
    )
    assert float(lines["accuracy"]) == pytest.approx(
        model.evaluate(data)["accuracy"], abs=1e-4
    )
    assert lines["n_series"] == "60"

    result = runner.invoke(app, ["explain", str(model_dir)])
    assert result.exit_code == 0, result.output
    assert "LSTM(4)" in result.stdout and "4 x (4 x (1 + 4) + 2 x 4)" in result.stdout


def test_forecaster_round_trip(tmp_path: Path) -> None:
    series = tmp_path / "hourly.csv"
    frame = ts.datasets.forecast_series(n_series=3, length=60)
    frame.drop(columns=["hour_sin", "hour_cos"]).to_csv(series, index=False)
    model_dir = tmp_path / "fc"
    result = runner.invoke(
        app,
        [
            "--threads",
            "1",
            "train",
            str(series),
            "--id",
            "series",
            "--time",
            "time",
            "--task",
            "forecast",
            "--lookback",
            "6",
            "--horizon",
            "3",
            "--units",
            "4",
            "--epochs",
            "1",
            "--out",
            str(model_dir),
        ],
    )
    assert result.exit_code == 0, result.output

    out = tmp_path / "forecast.csv"
    result = runner.invoke(
        app,
        ["forecast", str(model_dir), str(series), "--horizon", "2", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, parse_dates=["time"])
    assert list(table.columns) == ["series", "step", "time", "value"]
    assert table["step"].tolist() == [1, 2] * 3
    last = frame.groupby("series")["time"].max()  # each series' own last hour
    expected = [t + pd.Timedelta(hours=k) for t in last for k in (1, 2)]
    assert table["time"].tolist() == expected

    result = runner.invoke(
        app, ["evaluate", str(model_dir), str(series), "--folds", "2"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        "forecasts of h=3 steps from 2 origin(s) per series, 3 series"
    )
    rows = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines()}
    assert {"model", "naive", "seasonal_naive"} <= set(rows)
    assert all(
        len(values) == 4
        for values in (rows["model"], rows["naive"], rows["seasonal_naive"])
    )


def test_train_errors_are_one_line(visits: Path, tmp_path: Path) -> None:
    base = ["train", str(visits), "--id", "patient_id", "--time", "visit"]
    result = runner.invoke(
        app,
        [
            *base,
            "--target",
            "outcom",
            "--task",
            "classify",
            "--out",
            str(tmp_path / "m"),
        ],
    )
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "error: column 'outcom' is not in the table: expected one of the table's "
        "columns, received 'outcom'. Fix: did you mean 'outcome'?"
    )
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output

    result = runner.invoke(app, [*base, "--task", "clasify", "--out", "m"])
    assert result.stderr.startswith(
        "error: unknown --task: expected classify | regress | tag | forecast | "
        "reconstruct, received 'clasify'. Fix: did you mean 'classify'?"
    )
    result = runner.invoke(app, [*base, "--task", "forecast", "--out", "m"])
    assert "error: --task forecast needs the window sizes" in result.stderr
    result = runner.invoke(app, [*base, "--task", "classify", "--out", "m"])
    assert "error: --task classify learns a target" in result.stderr
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("x")
    result = runner.invoke(
        app,
        [
            *base,
            "--target",
            "outcome",
            "--task",
            "classify",
            "--out",
            str(tmp_path / "full"),
        ],
    )
    assert "is not empty" in result.stderr and "--force" in result.stderr
    assert (tmp_path / "full" / "keep.txt").read_text() == "x"

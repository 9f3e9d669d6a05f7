"""The CLI driven as a user drives it: describe, error lines, --debug, --help."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from timesteps.cli import app

runner = CliRunner()


@pytest.fixture
def visits(tmp_path: Path) -> Path:
    """A long table: 3 patients, visits 0..2 (patient 2 missed visit 2)."""
    frame = pd.DataFrame(
        {
            "patient": [1, 1, 1, 2, 2, 3, 3, 3],
            "visit": [0, 1, 2, 0, 1, 0, 1, 2],
            "bone": [1.0, 2.0, np.nan, 4.0, 5.0, 6.0, 7.0, 8.0],
            "sick": [0, 0, 0, 1, 1, 0, 0, 0],
        }
    )
    path = tmp_path / "visits.csv"
    frame.to_csv(path, index=False)
    return path


def test_describe_a_long_table(visits: Path) -> None:
    result = runner.invoke(
        app,
        [
            "describe",
            str(visits),
            "--id",
            "patient",
            "--time",
            "visit",
            "--target",
            "sick",
            "--batch-size",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "shape: B=3 series, T=2..3 timesteps, F=1 features" in result.stdout
    assert "real steps: N=8" in result.stdout
    assert "bone: 12.5% missing (1 values)" in result.stdout
    assert "sick (per series): 0: 2 (66.7%), 1: 1 (33.3%)" in result.stdout


def test_describe_a_wide_parquet_as_json(tmp_path: Path) -> None:
    path = tmp_path / "wide.parquet"
    pd.DataFrame(
        {"pid": [7, 8], "v1": [1.0, 4.0], "v2": [2.0, np.nan], "v3": [3.0, np.nan]}
    ).to_parquet(path)
    result = runner.invoke(
        app, ["describe", str(path), "--id", "pid", "--steps", "v1,v2,v3", "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["n_series"], summary["n_steps"]) == (2, 4)
    assert (summary["lengths"]["min"], summary["lengths"]["max"]) == (1, 3)


def test_a_missing_column_is_one_line_naming_it_and_near_matches(visits: Path) -> None:
    result = runner.invoke(
        app, ["describe", str(visits), "--id", "patient", "--time", "vist"]
    )
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith(
        "error: column 'vist' is not in the table: expected one of the table's "
        "columns, received 'vist'. Fix: did you mean 'visit'?"
    )
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.output


def test_a_long_table_without_id_says_what_to_pass(visits: Path) -> None:
    result = runner.invoke(app, ["describe", str(visits)])
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "error: visits.csv is read as a long table, which needs its series column: "
        "expected --id COLUMN"
    )
    assert result.stderr.count("\n") == 1


def test_file_errors(tmp_path: Path) -> None:
    result = runner.invoke(app, ["describe", str(tmp_path / "nope.csv"), "--id", "a"])
    assert result.exit_code == 1
    assert "error: DATA file not found" in result.stderr
    (tmp_path / "data.txt").write_text("a,b\n1,2\n")
    result = runner.invoke(app, ["describe", str(tmp_path / "data.txt"), "--id", "a"])
    assert "error: DATA file type: expected a .csv or .parquet file" in result.stderr


def test_library_warnings_are_one_line_and_do_not_fail(tmp_path: Path) -> None:
    path = tmp_path / "gaps.csv"
    path.write_text("id,t,x\n1,0,1.0\n1,1,2.0\n,2,3.0\n2,0,4.0\n")
    result = runner.invoke(app, ["describe", str(path), "--id", "id", "--time", "t"])
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        "warning: dropped 1 of 4 rows whose id or time is missing (1 without an id "
        "'id', 0 without a time 't')\n"
    )
    assert "shape: B=2 series, T=1..2 timesteps, F=1 features" in result.stdout


def test_debug_shows_the_traceback(visits: Path) -> None:
    result = runner.invoke(
        app, ["--debug", "describe", str(visits), "--id", "patient", "--time", "vist"]
    )
    assert result.exit_code == 1
    assert isinstance(result.exception, ValueError)
    assert "column 'vist' is not in the table" in str(result.exception)


def test_explain_without_a_model_or_input_shape_fails_clearly() -> None:
    result = runner.invoke(app, ["explain"])
    assert result.exit_code == 1
    assert "error: explain needs a model" in result.stderr
    result = runner.invoke(app, ["explain", "LSTM(8)"])
    assert "error: layer specs need the per-sample input shape" in result.stderr
    result = runner.invoke(app, ["explain", "--input", "3,x", "LSTM(8)"])
    assert result.stderr.startswith(
        "error: input_shape (per-sample shape without B): expected integers or None"
    )


def test_help_and_version() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in (
        "demo",
        "train",
        "predict",
        "forecast",
        "evaluate",
        "describe",
        "explain",
    ):
        assert command in result.stdout
    result = runner.invoke(app, ["version"])
    assert result.stdout.strip() == __import__("timesteps").__version__


def test_importing_the_cli_does_not_import_torch_or_pandas() -> None:
    code = (
        "import sys, timesteps.cli; "
        "print(sorted(m for m in ('torch', 'pandas', 'matplotlib') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"

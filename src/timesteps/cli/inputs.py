"""Reading DATA files and writing result tables for the commands.

DATA is a CSV or Parquet file, by suffix. A long table has one row per series
and step (``--id`` names the series column, ``--time`` the time column); a wide
table has one row per series and one column per step (``--steps c1,c2,c3``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .._errors import problem

if TYPE_CHECKING:
    import pandas as pd

    from ..data.sequence_set import SequenceSet

TABLE_SUFFIXES = (".csv", ".parquet", ".pq")

# -- options shared by the commands that read DATA ------------------------------

Data = Annotated[
    Path,
    typer.Argument(help="A CSV or Parquet file, long or wide.", show_default=False),
]
IdOption = Annotated[
    str | None, typer.Option("--id", help="Column naming the series (long or wide).")
]
TimeOption = Annotated[
    str | None,
    typer.Option("--time", help="Time column of a long table (default: row order)."),
]
StepsOption = Annotated[
    str | None,
    typer.Option(
        "--steps",
        help="Wide table: the step columns in time order, e.g. v1,v2,v3.",
    ),
]
FeaturesOption = Annotated[
    str | None,
    typer.Option(
        "--features",
        help="Long table: feature columns, e.g. a,b (default: every other numeric "
        "column).",
    ),
]
TargetOption = Annotated[
    str | None, typer.Option("--target", help="Target column(s), e.g. y or y1,y2.")
]


def names(text: str | None) -> list[str] | None:
    """``"a, b,c"`` -> ``["a", "b", "c"]``; None stays None."""
    if text is None:
        return None
    parts = [part.strip() for part in text.split(",")]
    return [part for part in parts if part]


def read_data(
    path: Path,
    *,
    id: str | None = None,
    time: str | None = None,
    steps: str | None = None,
    features: str | None = None,
    target: str | None = None,
    wide_name: str = "value",
) -> SequenceSet:
    """Read DATA as a SequenceSet: wide with ``steps`` (one feature, named
    ``wide_name``), otherwise long by ``id``."""
    from ..data import tables

    _check_file(path)
    step_columns = names(steps)
    kwargs: dict[str, Any] = {"target": _one_or_many(names(target))}
    if step_columns:
        if features:
            raise ValueError(
                problem(
                    "--features applies to long tables",
                    "--steps alone for a wide table (one feature: the values)",
                    f"--steps {steps} --features {features}",
                    "drop --features, or read a long table with --id and --time",
                )
            )
        kwargs.update(id=id, steps={wide_name: step_columns})
    else:
        if id is None:
            raise ValueError(
                problem(
                    f"{path.name} is read as a long table, which needs its series "
                    "column",
                    "--id COLUMN (and --time COLUMN), or --steps c1,c2,... for a "
                    "wide table",
                    "neither --id nor --steps",
                    f"look at the columns with: head -1 {path}",
                )
            )
        kwargs.update(id=id, time=time, features=names(features))
    reader = tables.read_csv if path.suffix.lower() == ".csv" else tables.read_parquet
    steps_arg = kwargs.pop("steps", None)
    return reader(path, steps=steps_arg, **kwargs)


def write_table(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` as CSV or Parquet, by the suffix of ``path``."""
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise ValueError(
            problem(
                "output file type",
                "a path ending in .csv or .parquet",
                repr(str(path)),
                f"write to {path.with_suffix('.csv').name!r}",
            )
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


def _check_file(path: Path) -> None:
    if not path.exists():
        raise FileNotFoundError(
            problem(
                "DATA file not found",
                "an existing CSV or Parquet file",
                repr(str(path)),
                "check the path (relative paths start in the current folder)",
            )
        )
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise ValueError(
            problem(
                "DATA file type",
                "a .csv or .parquet file",
                repr(path.name),
                "convert it to CSV, or rename it if it is one",
            )
        )


def _one_or_many(values: list[str] | None) -> str | list[str] | None:
    if not values:
        return None
    return values[0] if len(values) == 1 else values

"""Printing from the commands: rich on a terminal, plain text when piped."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from .._errors import problem


def show(report: Any) -> None:
    """Print a report object (explain, describe): rich tables on a terminal,
    its plain ``str()`` otherwise."""
    if sys.stdout.isatty() and hasattr(report, "__rich_console__"):
        from rich.console import Console

        Console().print(report)
    else:
        typer.echo(str(report))


def out_dir(path: Path | None, force: bool, default_prefix: str) -> Path:
    """The folder to write into: ``path``, or a new ``PREFIX-YYYYmmdd-HHMMSS`` in
    the current folder. An existing non-empty folder is refused without
    ``force``."""
    from datetime import datetime

    if path is None:
        path = Path(f"{default_prefix}-{datetime.now():%Y%m%d-%H%M%S}")
    if path.exists() and not path.is_dir():
        raise FileExistsError(
            problem("--out must be a folder", "a folder", f"the file {str(path)!r}")
        )
    if path.is_dir() and any(path.iterdir()) and not force:
        raise FileExistsError(
            problem(
                f"--out folder {str(path)!r} is not empty",
                "a new or empty folder",
                f"{sum(1 for _ in path.iterdir())} entries in it",
                "choose another --out, or pass --force to overwrite its files",
            )
        )
    path.mkdir(parents=True, exist_ok=True)
    return path

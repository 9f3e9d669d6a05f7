"""The typer application and the entry point shared by ``timesteps`` and
``python -m timesteps``."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="timesteps",
    help="Recurrent sequence models on time series, with every shape explained.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command()
def version() -> None:
    """Print the installed version."""
    from .. import __version__

    typer.echo(__version__)


def main() -> None:
    """Run the command-line tool."""
    app()

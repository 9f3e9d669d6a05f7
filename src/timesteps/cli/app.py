"""The typer application and the entry point shared by ``timesteps`` and
``python -m timesteps``.

Commands live in their own modules (``demo``, ``commands``); each imports torch,
pandas and the library inside its body, so ``timesteps --help`` answers at once.
"""

from __future__ import annotations

import typer

from . import commands, demo, modelling
from .errors import FriendlyGroup

app = typer.Typer(
    name="timesteps",
    help="Recurrent sequence models on time series, with every shape explained.\n\n"
    "DATA is a CSV or Parquet file (by suffix), either long (one row per series "
    "and step: --id ID --time TIME) or wide (one row per series, one column per "
    "step: --steps c1,c2,c3). Start with: timesteps demo",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=FriendlyGroup,
)


@app.callback()
def _options(
    ctx: typer.Context,
    debug: bool = typer.Option(
        False, "--debug", help="Show the full traceback of an error and debug logs."
    ),
    threads: int | None = typer.Option(
        None,
        "--threads",
        min=1,
        help="Torch CPU threads (default: torch's; the demo uses 1).",
    ),
) -> None:
    """Options that apply to every command (--debug is read by FriendlyGroup)."""
    ctx.obj = {"debug": debug, "threads": threads}
    if threads is not None:
        import torch

        torch.set_num_threads(threads)


@app.command()
def version() -> None:
    """Print the installed version."""
    from .. import __version__

    typer.echo(__version__)


demo.register(app)
modelling.register(app)
commands.register(app)


def main() -> None:
    """Run the command-line tool."""
    app()

"""How the command line reports problems: one line on stderr, no traceback.

Every command runs inside :class:`FriendlyGroup`, which turns an exception into
``error: <message>`` on stderr and exit code 1, and a warning into
``warning: <message>``. The global ``--debug`` option (or ``TIMESTEPS_DEBUG=1``)
lets the exception through with its traceback and logs at DEBUG level.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from typing import Any

import typer
from typer.core import TyperGroup
from typer.exceptions import Abort, Exit, TyperException

EXIT_ERROR = 1


class FriendlyGroup(TyperGroup):
    """A typer group whose commands fail with one clear line."""

    def invoke(self, ctx: Any) -> Any:
        debug = (
            bool(ctx.params.get("debug")) or os.environ.get("TIMESTEPS_DEBUG") == "1"
        )
        _configure_logging(debug)
        with warnings.catch_warnings():
            # the library's warnings as one line each; other packages' only in debug
            warnings.simplefilter("default" if debug else "ignore")
            warnings.simplefilter("default", UserWarning)
            warnings.showwarning = _show_warning
            try:
                return super().invoke(ctx)
            except (Exit, Abort, TyperException):  # usage errors, --help, exits
                raise
            except BrokenPipeError:  # output piped into head, less ... that closed
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
                raise typer.Exit(0) from None
            except KeyboardInterrupt:
                typer.echo("interrupted", err=True)
                raise typer.Exit(130) from None
            except Exception as error:
                if debug:
                    raise
                typer.echo(f"error: {one_line(error)}", err=True)
                raise typer.Exit(EXIT_ERROR) from None


def one_line(error: BaseException) -> str:
    """The error's message on one line; its type where the message alone would not
    say what went wrong."""
    message = (
        str(error.args[0])
        if isinstance(error, KeyError) and error.args
        else (str(error))
    )
    message = " ".join(message.split())
    plain = (ValueError, TypeError, KeyError, FileNotFoundError, FileExistsError)
    if not message:
        return type(error).__name__
    if isinstance(error, plain):
        return message
    return f"{type(error).__name__}: {message}"


def fail(message: str) -> None:
    """Stop a command with one line on stderr and exit code 1."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_ERROR)


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    text = " ".join(str(message).split())
    print(f"warning: {text}", file=sys.stderr)


def _configure_logging(debug: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )

"""Show a report as rich text on a terminal and as plain text everywhere else.

A report class implements ``_plain() -> str`` and ``_rich_parts() -> list`` (rich
renderables); this mixin gives it ``str()``, ``repr()`` (rich when standard output
is a terminal, so a REPL shows the coloured table) and rich's console protocol.
"""

from __future__ import annotations

import sys
from typing import Any


class Rendered:
    """Mixin: ``str()`` is plain text, rich consoles get tables and colour."""

    def _plain(self) -> str:
        raise NotImplementedError

    def _rich_parts(self) -> list[Any]:
        raise NotImplementedError

    def __str__(self) -> str:
        return self._plain()

    def __repr__(self) -> str:
        if not sys.stdout.isatty():
            return self._plain()
        from rich.console import Console

        console = Console(force_terminal=True)
        with console.capture() as capture:
            console.print(self)
        return capture.get().rstrip("\n")

    def __rich_console__(self, console: Any, options: Any) -> Any:
        yield from self._rich_parts()

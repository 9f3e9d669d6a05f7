"""A griffe extension for the API pages: doctest examples become code blocks.

The package's docstrings show runnable examples as bare doctest lines
(``>>> model(x).shape`` followed by the printed output), the form ``pytest
--doctest-modules`` and ``help()`` read best. In Markdown those lines would turn
into nested quotes and their printed lists (``[[0, 1], [2]]``) into broken
links, so this extension wraps every run of doctest lines, with its output, in a
fenced ``pycon`` block before mkdocstrings renders the docstring. Lines already
inside a fenced block are left alone.
"""

from __future__ import annotations

from typing import Any

import griffe

FENCES = ("```", "~~~")


def fence_doctests(text: str) -> str:
    """Wrap each doctest run (``>>>`` line, ``...`` lines, output up to the next
    blank line) of ``text`` in a fenced ``pycon`` block at its indentation."""
    out: list[str] = []
    in_fence = in_doctest = False
    indent = ""
    for line in text.splitlines():
        stripped = line.lstrip()
        if in_doctest and not stripped:
            out.append(f"{indent}```")
            in_doctest = False
        if not in_doctest and stripped.startswith(FENCES):
            in_fence = not in_fence
        elif not in_fence and not in_doctest and stripped.startswith(">>>"):
            indent = line[: len(line) - len(stripped)]
            out.append(f"{indent}```pycon")
            in_doctest = True
        out.append(line)
    if in_doctest:
        out.append(f"{indent}```")
    return "\n".join(out)


class DoctestFences(griffe.Extension):
    """Fence the doctest examples of every docstring griffe loads."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None and ">>>" in obj.docstring.value:
            obj.docstring.value = fence_doctests(obj.docstring.value)

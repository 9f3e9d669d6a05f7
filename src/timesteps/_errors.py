"""One way to word an error: what was expected, what was received, and the fix."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def problem(what: str, expected: str, received: str, fix: str | None = None) -> str:
    """Build an error message in the project's one format.

    >>> print(problem("X needs (B, T, F)", "3 axes", "(4000, 3)", "use X[..., None]"))
    X needs (B, T, F): expected 3 axes, received (4000, 3). Fix: use X[..., None].
    """
    message = f"{what}: expected {expected}, received {received}."
    if fix:
        fix = fix.rstrip(".")
        message += f" Fix: {fix}" + ("" if fix.endswith(("?", "!")) else ".")
    return message


def near_matches(name: str, choices: Iterable[str], n: int = 3) -> str:
    """A phrase naming the closest of ``choices`` to ``name`` for an error's fix."""
    options = [str(c) for c in choices]
    close = difflib.get_close_matches(str(name), options, n=n, cutoff=0.5)
    if close:
        return "did you mean " + " or ".join(repr(c) for c in close) + "?"
    shown = ", ".join(repr(c) for c in options[:10])
    more = "" if len(options) <= 10 else f" and {len(options) - 10} more"
    return f"the available names are {shown}{more}"

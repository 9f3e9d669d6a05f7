"""Lazy re-exports: ``import timesteps`` stays instant and loads torch only when a
name that needs it is first used (the CLI's ``--help`` relies on this)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(
    package: str, exports: dict[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return ``__getattr__`` and ``__dir__`` for a package whose public names
    live in submodules: ``exports`` maps each name to its module (relative to
    ``package``, e.g. ``".data.sequence_set"``)."""

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(exports[name], package)
        is_module = exports[name].lstrip(".").split(".")[-1] == name
        value = module if is_module else getattr(module, name)
        globals_ = importlib.import_module(package).__dict__
        globals_[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(exports)

    return __getattr__, __dir__

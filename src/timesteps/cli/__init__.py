"""The ``timesteps`` command: a thin layer over the library.

Heavy packages (torch, pandas, matplotlib) are imported inside the commands so
that ``timesteps --help`` answers at once.
"""

from __future__ import annotations

from .app import app, main

__all__ = ["app", "main"]

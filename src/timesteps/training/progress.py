"""Progress of a run: a rich bar on a terminal, one log line per epoch.

``verbose=0``: nothing. ``verbose>=1``: one INFO line per epoch on the logger
``timesteps.training`` (shown when the application configures logging), and,
when stderr is a terminal, a rich progress bar on stderr with the epoch, the
batches done, the last losses and the samples per second. The bar is advanced a
hundred times per epoch at most, so it costs nothing per step.
"""

from __future__ import annotations

import logging
import math
import sys
from typing import Any

log = logging.getLogger("timesteps.training")


class Progress:
    """Report a run's epochs; ``every`` says how often (in steps) to call
    :meth:`advance` (0: never)."""

    def __init__(self, verbose: int, epochs: int, steps: int | None) -> None:
        self.epochs = epochs
        self.steps = steps
        self.logs = verbose >= 1
        self.every = 0
        self._bar: Any = None
        self._task: Any = None
        self._last = ""
        if verbose >= 1 and sys.stderr.isatty():
            self._bar = _rich_bar()
            self._bar.start()
            self.every = max(1, (steps or 100) // 100)

    def start_epoch(self, epoch: int) -> None:
        """A new bar line for ``epoch`` (counted from 0)."""
        if self._bar is None:
            return
        self._task = self._bar.add_task(
            f"epoch {epoch + 1}/{self.epochs}", total=self.steps, values=self._last
        )

    def advance(self, done: int) -> None:
        """``done`` steps of the current epoch are finished."""
        self._bar.update(self._task, completed=done)

    def end_epoch(
        self, epoch: int, values: dict[str, float], seconds: float, history: Any
    ) -> None:
        """Show the epoch's results on the bar and in the log."""
        parts = [f"{name} {_number(value)}" for name, value in values.items()]
        rate = history.samples_per_s[-1]
        self._last = " - ".join(parts)
        if self._bar is not None:
            self._bar.update(
                self._task,
                completed=self.steps or 1,
                total=self.steps or 1,
                values=f"{self._last} - {rate:,.0f} samples/s",
            )
        if self.logs:
            log.info(
                "epoch %d/%d - %s - %.2f s - %.0f steps/s - %.0f samples/s",
                epoch + 1,
                self.epochs,
                self._last,
                seconds,
                history.steps_per_s[-1],
                rate,
            )

    def message(self, text: str, *args: Any) -> None:
        """A log line about the run (resumed, stopped early ...)."""
        if self.logs:
            log.info(text, *args)

    def close(self) -> None:
        """Stop drawing."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def _rich_bar() -> Any:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )
    from rich.table import Column

    return Progress(
        TextColumn("{task.description}", table_column=Column(no_wrap=True)),
        BarColumn(bar_width=20),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn(
            "{task.fields[values]}",
            table_column=Column(no_wrap=True, overflow="ellipsis", ratio=1),
        ),
        console=Console(stderr=True),
    )


def _number(value: float) -> str:
    return "nan" if math.isnan(value) else f"{value:.4g}"

"""History: what happened in each epoch of a training run."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._errors import near_matches, problem

if TYPE_CHECKING:
    import pandas as pd

_FORMAT = "timesteps.history"


class History:
    """Per-epoch losses, metrics and speed of a training run.

    ``history["loss"]`` (also ``history.loss``) is the training loss of each epoch,
    ``history["val_loss"]`` the validation loss, and each metric ``m`` has
    ``history[m]`` and ``history["val_" + m]``. Every value is an exact weighted
    mean over the epoch's real elements (a mean of sums, not a mean of batch
    means). Epochs are numbered from 1, as in the log lines: ``best_epoch`` is
    such a number and ``to_frame()`` is indexed by it.

    >>> h = History()
    >>> speed = {"seconds": 1.0, "steps_per_s": 80.0, "samples_per_s": 4000.0}
    >>> h.append({"loss": 0.5, "val_loss": 0.7}, **speed)
    >>> h.append({"loss": 0.4, "val_loss": 0.6}, **speed)
    >>> h.loss, h.epochs, h.steps_per_s
    ([0.5, 0.4], 2, [80.0, 80.0])
    >>> History.from_json(h.to_json()).history == h.history
    True
    """

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}
        self.epoch_time: list[float] = []
        self.steps_per_s: list[float] = []
        self.samples_per_s: list[float] = []
        self.best_epoch: int | None = None
        self.stopped_early = False

    # -- recording --------------------------------------------------------------

    def append(
        self,
        values: dict[str, float],
        *,
        seconds: float,
        steps_per_s: float,
        samples_per_s: float,
    ) -> None:
        """Record one epoch: its values (``loss``, ``val_loss``, metrics), its
        duration and its training speed."""
        for name, value in values.items():
            self.history.setdefault(name, [math.nan] * self.epochs).append(value)
        for name, column in self.history.items():
            if name not in values:
                column.append(math.nan)
        self.epoch_time.append(seconds)
        self.steps_per_s.append(steps_per_s)
        self.samples_per_s.append(samples_per_s)

    # -- reading ----------------------------------------------------------------

    @property
    def epochs(self) -> int:
        """The number of epochs recorded."""
        return len(self.epoch_time)

    @property
    def loss(self) -> list[float]:
        """The training loss of each epoch."""
        return self.history.get("loss", [])

    @property
    def val_loss(self) -> list[float]:
        """The validation loss of each epoch (empty without validation)."""
        return self.history.get("val_loss", [])

    def __getitem__(self, name: str) -> list[float]:
        if name not in self.history:
            raise KeyError(
                problem(
                    "no such quantity in the history",
                    "one of " + ", ".join(repr(k) for k in self.history),
                    repr(name),
                    near_matches(name, self.history),
                )
            )
        return self.history[name]

    def __contains__(self, name: object) -> bool:
        return name in self.history

    def __repr__(self) -> str:
        last = ", ".join(f"{k}={v[-1]:.4g}" for k, v in self.history.items() if v)
        best = "" if self.best_epoch is None else f", best_epoch={self.best_epoch}"
        return f"History(epochs={self.epochs}{best}{', ' if last else ''}{last})"

    def to_frame(self) -> pd.DataFrame:
        """One row per epoch (index ``epoch`` from 1): the losses, the metrics,
        ``epoch_time`` (s), ``steps_per_s`` and ``samples_per_s``."""
        import pandas as pd

        frame = pd.DataFrame(
            {
                **self.history,
                "epoch_time": self.epoch_time,
                "steps_per_s": self.steps_per_s,
                "samples_per_s": self.samples_per_s,
            },
            index=pd.RangeIndex(1, self.epochs + 1, name="epoch"),
        )
        return frame

    def plot(self, path: str | Path) -> Path:
        """Draw the loss (and each metric) per epoch, training and validation, to a
        PNG at ``path``. Uses matplotlib's Agg canvas: no window, no global state."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        names = [n for n in self.history if not n.startswith("val_")]
        names += [n[4:] for n in self.history if n.startswith("val_")]
        names = list(dict.fromkeys(names))
        figure = Figure(figsize=(5.0, 2.8 * max(1, len(names))), layout="constrained")
        FigureCanvasAgg(figure)
        epochs = list(range(1, self.epochs + 1))
        for i, name in enumerate(names or ["loss"]):
            axes = figure.add_subplot(max(1, len(names)), 1, i + 1)
            for key, label in ((name, "training"), ("val_" + name, "validation")):
                if key in self.history:
                    axes.plot(epochs, self.history[key], marker=".", label=label)
            if self.best_epoch is not None:
                axes.axvline(self.best_epoch, color="grey", linestyle=":", lw=1)
            axes.set_xlabel("epoch")
            axes.set_ylabel(name)
            axes.legend()
        path = Path(path)
        figure.savefig(path, format="png", dpi=100)
        return path

    # -- JSON -------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain lists and numbers (what :meth:`to_json` writes)."""
        return {
            "format": _FORMAT,
            "history": {k: list(v) for k, v in self.history.items()},
            "epoch_time": list(self.epoch_time),
            "steps_per_s": list(self.steps_per_s),
            "samples_per_s": list(self.samples_per_s),
            "best_epoch": self.best_epoch,
            "stopped_early": self.stopped_early,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        """The History that :meth:`to_dict` described."""
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            received = data.get("format") if isinstance(data, dict) else type(data)
            raise ValueError(
                problem(
                    "not a timesteps History",
                    f"a dict with format={_FORMAT!r}",
                    repr(received),
                    "pass what History.to_dict() or to_json() wrote",
                )
            )
        history = cls()
        history.history = {k: [float(x) for x in v] for k, v in data["history"].items()}
        history.epoch_time = [float(x) for x in data["epoch_time"]]
        history.steps_per_s = [float(x) for x in data["steps_per_s"]]
        history.samples_per_s = [float(x) for x in data["samples_per_s"]]
        history.best_epoch = data["best_epoch"]
        history.stopped_early = bool(data["stopped_early"])
        return history

    def to_json(self) -> str:
        """The history as JSON text (NaN written as ``NaN``)."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> History:
        """The History that :meth:`to_json` wrote."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(
                problem("History JSON", "valid JSON", f"invalid JSON ({error})")
            ) from None
        return cls.from_dict(data)

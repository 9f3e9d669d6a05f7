"""TrainConfig: every setting of one training run, checked once."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._errors import near_matches, problem

OPTIMIZERS = ("adam", "sgd", "adamw", "rmsprop")


@dataclass(frozen=True)
class TrainConfig:
    """How :func:`timesteps.training.fit` trains.

    - ``epochs``: passes over the training batches.
    - ``optimizer``: ``"adam"``, ``"sgd"``, ``"adamw"`` or ``"rmsprop"``, built with
      ``lr`` and ``weight_decay`` (ignored when ``fit`` is given an optimizer).
    - ``clip_norm``: clip the gradients' global norm to this value; None: no clip.
    - ``early_stopping``: patience in epochs; stop when the monitored loss
      (validation loss, or training loss without validation) has not improved by
      more than ``min_delta`` for that many epochs. None: never stop early.
    - ``restore_best``: with early stopping, end with the weights of the best epoch.
    - ``seed``: seeds torch, numpy and ``random`` at the start, so two runs on the
      same data give identical weights on CPU. None: leave the generators alone.
    - ``verbose``: 0 silent; 1 a progress bar on stderr when it is a terminal and
      one log line per epoch (logger ``timesteps.training``, INFO).
    - ``checkpoint_dir``: write a checkpoint there at the end of every epoch.
    - ``resume``: continue from the checkpoint in ``checkpoint_dir`` (if there is
      one; otherwise start fresh).
    - ``device``: ``"cpu"``, ``"cuda"``, ``"cuda:1"`` ... (under ``torchrun`` on
      CUDA each process takes ``cuda:LOCAL_RANK``).

    >>> TrainConfig(epochs=5, optimizer="sgd", lr=0.01).lr
    0.01
    """

    epochs: int = 20
    optimizer: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    clip_norm: float | None = 1.0
    early_stopping: int | None = None
    min_delta: float = 0.0
    restore_best: bool = True
    seed: int | None = 0
    verbose: int = 1
    checkpoint_dir: str | Path | None = None
    resume: bool = False
    device: str = "cpu"

    def __post_init__(self) -> None:
        _check_int("epochs", self.epochs, 0)
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                problem(
                    "unknown optimizer",
                    f"one of {', '.join(repr(o) for o in OPTIMIZERS)}",
                    repr(self.optimizer),
                    near_matches(self.optimizer, OPTIMIZERS),
                )
            )
        _check_positive("lr", self.lr)
        if self.weight_decay < 0:
            raise ValueError(
                problem("weight_decay", "a value >= 0", repr(self.weight_decay))
            )
        if self.clip_norm is not None:
            _check_positive("clip_norm", self.clip_norm, "or None for no clipping")
        if self.early_stopping is not None:
            _check_int("early_stopping", self.early_stopping, 1)
        if self.min_delta < 0:
            raise ValueError(problem("min_delta", "a value >= 0", repr(self.min_delta)))
        if self.seed is not None:
            _check_int("seed", self.seed, 0)
        if self.resume and self.checkpoint_dir is None:
            raise ValueError(
                problem(
                    "resume=True needs the folder of the checkpoint",
                    "checkpoint_dir set",
                    "checkpoint_dir=None",
                    "pass checkpoint_dir= the folder of the interrupted run",
                )
            )

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with some settings changed (checked again)."""
        return dataclasses.replace(self, **changes)


def _check_int(name: str, value: Any, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(problem(name, f"an int >= {minimum}", repr(value)))
    if value < minimum:
        raise ValueError(problem(name, f"an int >= {minimum}", repr(value)))


def _check_positive(name: str, value: Any, extra: str = "") -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise TypeError(problem(name, f"a number > 0 {extra}".strip(), repr(value)))
    if not value > 0:
        raise ValueError(problem(name, f"a number > 0 {extra}".strip(), repr(value)))

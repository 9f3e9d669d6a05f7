"""Keras' losses and metrics by name, as PyTorch functions.

A loss ``fn(y_pred, y_true) -> Tensor`` returns the batch mean, computed as
Keras does: per-sample losses (the mean over the last axis, or the sum over
classes for the cross-entropies), then their mean over the samples. A metric
``fn(y_pred, y_true) -> (sum, count)`` returns a sum and the count it is over,
so that an epoch's value is an exact mean over all its samples.

Probabilities are clipped to ``[1e-7, 1 - 1e-7]`` before the logarithm, as Keras
does, so a saturated sigmoid or softmax output gives a large finite loss, never
``inf`` or NaN (with zero gradient beyond the clip). ``Sequential.fit`` goes one
step further for binary cross-entropy on a ``Dense(..., activation="sigmoid")``
output: it computes the loss from the logits, as Keras on TensorFlow does (see
:mod:`timesteps.training.compiled`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from .._errors import near_matches, problem

EPSILON = 1e-7

LossFunction = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
MetricFunction = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, int]]


# -- losses (batch means) -----------------------------------------------------------


def binary_crossentropy(y_pred: torch.Tensor, y_true: torch.Tensor) -> torch.Tensor:
    """``-mean(y log p + (1 - y) log(1 - p))`` of probabilities ``y_pred``.

    >>> p = torch.tensor([[0.9], [0.2]]); y = torch.tensor([[1.0], [0.0]])
    >>> round(binary_crossentropy(p, y).item(), 4)   # -(log .9 + log .8) / 2
    0.1643
    """
    return F.binary_cross_entropy(y_pred.clamp(EPSILON, 1.0 - EPSILON), y_true)


def mean_squared_error(y_pred: torch.Tensor, y_true: torch.Tensor) -> torch.Tensor:
    """``mean((y - p)^2)`` over every element."""
    return F.mse_loss(y_pred, y_true)


def mean_absolute_error(y_pred: torch.Tensor, y_true: torch.Tensor) -> torch.Tensor:
    """``mean(|y - p|)`` over every element."""
    return F.l1_loss(y_pred, y_true)


def categorical_crossentropy(
    y_pred: torch.Tensor, y_true: torch.Tensor
) -> torch.Tensor:
    """``-mean over samples of sum over classes (y log p)``; ``y_true`` one-hot
    (or class probabilities) along the last axis, ``y_pred`` probabilities."""
    return -(y_true * _log_probabilities(y_pred)).sum(-1).mean()


def sparse_categorical_crossentropy(
    y_pred: torch.Tensor, y_true: torch.Tensor
) -> torch.Tensor:
    """``-mean log p[class]``; ``y_true`` int class codes, one axis fewer than
    ``y_pred`` (whose last axis is the classes)."""
    log_p = _log_probabilities(y_pred)
    return F.nll_loss(log_p.reshape(-1, log_p.shape[-1]), y_true.reshape(-1))


def _log_probabilities(y_pred: torch.Tensor) -> torch.Tensor:
    """Keras: normalise to sum 1 over the last axis, clip, take the log."""
    y_pred = y_pred / y_pred.sum(-1, keepdim=True)
    return y_pred.clamp(EPSILON, 1.0 - EPSILON).log()


LOSSES: dict[str, LossFunction] = {
    "binary_crossentropy": binary_crossentropy,
    "bce": binary_crossentropy,
    "mse": mean_squared_error,
    "mean_squared_error": mean_squared_error,
    "mae": mean_absolute_error,
    "mean_absolute_error": mean_absolute_error,
    "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
}


def get_loss(loss: str | Callable[..., Any]) -> tuple[str, LossFunction]:
    """The loss named ``loss`` (a key of :data:`LOSSES`), or a Keras-style custom
    loss ``fn(y_true, y_pred)`` returning the batch mean or per-sample values."""
    if callable(loss):
        custom = loss

        def custom_loss(y_pred: torch.Tensor, y_true: torch.Tensor) -> torch.Tensor:
            return custom(y_true, y_pred).mean()

        return getattr(loss, "__name__", "loss"), custom_loss
    if not isinstance(loss, str) or loss not in LOSSES:
        raise ValueError(
            problem(
                "unknown loss",
                "one of " + ", ".join(repr(k) for k in LOSSES) + " or a function "
                "fn(y_true, y_pred)",
                repr(loss),
                near_matches(str(loss), LOSSES),
            )
        )
    return _canonical(loss), LOSSES[loss]


_ALIASES = {
    "bce": "binary_crossentropy",
    "mse": "mean_squared_error",
    "mae": "mean_absolute_error",
}


def _canonical(name: str) -> str:
    return _ALIASES.get(name, name)


# -- metrics (sum, count) -----------------------------------------------------------


def binary_accuracy(y_pred: torch.Tensor, y_true: torch.Tensor) -> tuple[Any, int]:
    """Share of elements where ``p > 0.5`` equals ``y > 0.5``."""
    hits = (y_pred > 0.5) == (y_true > 0.5)
    return hits.sum(), hits.numel()


def categorical_accuracy(y_pred: torch.Tensor, y_true: torch.Tensor) -> tuple[Any, int]:
    """Share of samples whose most probable class is the one-hot target's."""
    hits = y_pred.argmax(-1) == y_true.argmax(-1)
    return hits.sum(), hits.numel()


def sparse_categorical_accuracy(
    y_pred: torch.Tensor, y_true: torch.Tensor
) -> tuple[Any, int]:
    """Share of samples whose most probable class is the int target."""
    hits = y_pred.argmax(-1) == y_true.reshape(y_pred.shape[:-1])
    return hits.sum(), hits.numel()


def _element_mean(loss: LossFunction) -> MetricFunction:
    def metric(y_pred: torch.Tensor, y_true: torch.Tensor) -> tuple[Any, int]:
        n = int(y_pred.shape[0])
        return loss(y_pred, y_true) * n, n

    metric.__name__ = loss.__name__
    return metric


METRICS: dict[str, MetricFunction] = {
    "binary_accuracy": binary_accuracy,
    "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
    **{name: _element_mean(fn) for name, fn in LOSSES.items()},
}


def get_metric(
    metric: str | Callable[..., Any], loss_name: str, n_outputs: int
) -> tuple[str, MetricFunction]:
    """The metric named ``metric``. ``"accuracy"`` (or ``"acc"``) follows the loss
    as in Keras: binary accuracy for binary cross-entropy, sparse categorical
    for sparse categorical cross-entropy, categorical for categorical
    cross-entropy, and otherwise binary when the output has one value per sample
    (``n_outputs == 1``) and categorical when it has several. A function
    ``fn(y_true, y_pred)`` returns per-sample values (averaged exactly) or the
    batch mean."""
    if callable(metric):
        custom = metric

        def custom_metric(
            y_pred: torch.Tensor, y_true: torch.Tensor
        ) -> tuple[Any, int]:
            values = custom(y_true, y_pred)
            if values.ndim == 0:
                n = int(y_pred.shape[0])
                return values * n, n
            return values.sum(), values.numel()

        return getattr(metric, "__name__", "metric"), custom_metric
    if metric in ("accuracy", "acc"):
        kind = {
            "binary_crossentropy": "binary_accuracy",
            "sparse_categorical_crossentropy": "sparse_categorical_accuracy",
            "categorical_crossentropy": "categorical_accuracy",
        }.get(loss_name)
        if kind is None:
            kind = "binary_accuracy" if n_outputs == 1 else "categorical_accuracy"
        return metric, METRICS[kind]
    if not isinstance(metric, str) or metric not in METRICS:
        known = ["accuracy", *METRICS]
        raise ValueError(
            problem(
                "unknown metric",
                "one of " + ", ".join(repr(k) for k in known) + " or a function "
                "fn(y_true, y_pred)",
                repr(metric),
                near_matches(str(metric), known),
            )
        )
    return metric, METRICS[metric]

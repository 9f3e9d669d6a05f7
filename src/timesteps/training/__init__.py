"""The training stage: ``fit`` a module on batches, with validation, early
stopping, checkpoints, resuming, progress, and DistributedDataParallel under
``torchrun``; ``History`` of a run; Keras-style ``compile``/``fit`` for
``Sequential`` (``Compilable``); Keras' losses and metrics by name."""

from __future__ import annotations

from .checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from .compiled import ArrayBatch, ArrayBatches, Compilable
from .config import TrainConfig
from .history import History
from .losses import LOSSES, METRICS, get_loss, get_metric
from .trainer import LossFn, MetricFn, evaluate, fit, make_optimizer, seed_everything

__all__ = [
    "LOSSES",
    "METRICS",
    "ArrayBatch",
    "ArrayBatches",
    "Checkpoint",
    "Compilable",
    "History",
    "LossFn",
    "MetricFn",
    "TrainConfig",
    "evaluate",
    "fit",
    "get_loss",
    "get_metric",
    "load_checkpoint",
    "make_optimizer",
    "save_checkpoint",
    "seed_everything",
]

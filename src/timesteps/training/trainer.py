"""fit: train a module on batches, validate, stop early, checkpoint, resume.

A small model's training time is its per-step overhead, so a step here does only
what a hand-written loop does: forward and loss (``loss_fn``), ``zero_grad`` with
``set_to_none``, backward, optional clipping, optimiser step, and one in-place
add of the loss into a running tensor sum. Nothing reads a value back to the
host during an epoch: sums and counts are read once, at the epoch's end.
"""

from __future__ import annotations

import dataclasses
import math
import random
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import torch

from .._errors import problem
from . import distributed
from .checkpoint import (
    Checkpoint,
    capture_rng,
    checkpoint_path,
    load_checkpoint,
    restore_rng,
    save_checkpoint,
)
from .config import TrainConfig
from .history import History
from .progress import Progress

LossFn = Callable[[torch.nn.Module, Any], tuple[torch.Tensor, Any]]
"""``loss_fn(module, batch) -> (loss, weight)``: ``loss`` a scalar tensor, the
mean over the batch's real elements; ``weight`` how many elements (an int, or a
0-dim tensor). A weight of (the Python number) 0 means the batch has nothing
to learn from (a chunk that only carries state forward): no backward, no
optimiser step, and its loss is not counted."""

MetricFn = Callable[[torch.nn.Module, Any], tuple[Any, Any]]
"""``metric(module, batch) -> (sum, count)``: the metric summed over the batch's
elements and how many there were; the epoch's value is ``sum / count``."""

_OPTIMIZERS: dict[str, Callable[..., torch.optim.Optimizer]] = {
    "adam": torch.optim.Adam,
    "sgd": torch.optim.SGD,
    "adamw": torch.optim.AdamW,
    "rmsprop": torch.optim.RMSprop,
}


def fit(
    module: torch.nn.Module,
    loss_fn: LossFn,
    train: Iterable[Any],
    validation: Iterable[Any] | None = None,
    config: TrainConfig | None = None,
    metrics: Mapping[str, MetricFn] | None = None,
    optimizer: torch.optim.Optimizer | None = None,
) -> History:
    """Train ``module`` on the batches of ``train`` and return its History.

    Each step calls ``loss_fn(module, batch) -> (loss, weight)``, where ``loss`` is
    the scalar mean over the batch's real elements and ``weight`` their number.
    The epoch's loss is the exact weighted mean ``sum(loss * weight) / sum(weight)``
    over all its batches; each metric ``name -> fn(module, batch) -> (sum, count)``
    is accumulated the same way, on the training batches (under ``no_grad``,
    before the step's update, in training mode) and on the validation batches
    (``no_grad``, evaluation mode). ``train`` is a :class:`timesteps.data.Batches`
    (or any iterable of batches); its ``set_epoch(epoch)`` is called before each
    epoch so that shuffling depends only on (seed, epoch) and a resumed run
    repeats the uninterrupted one exactly.

    Under ``torchrun`` ``module`` is wrapped in DistributedDataParallel before it
    reaches ``loss_fn``: call it (``module(x, lengths)``) rather than reaching
    into its attributes, so the gradients are averaged over the processes. See
    :mod:`timesteps.training.distributed`.

    ``optimizer`` replaces the one ``config`` describes (e.g. to keep Adam's
    moments across several ``fit`` calls). The module ends in the state it
    started in (train or eval), with the last epoch's weights, or the best
    epoch's with ``early_stopping`` and ``restore_best``.

    >>> import torch
    >>> from timesteps.training import TrainConfig, fit
    >>> net = torch.nn.Linear(1, 1)
    >>> batches = [(torch.full((8, 1), float(i)), torch.full((8, 1), 2.0 * i))
    ...            for i in range(4)]
    >>> def loss_fn(module, batch):
    ...     x, y = batch
    ...     return torch.nn.functional.mse_loss(module(x), y), len(x)
    >>> history = fit(net, loss_fn, batches,
    ...               config=TrainConfig(epochs=50, lr=0.05, verbose=0))
    >>> history.loss[-1] < history.loss[0]
    True
    """
    config = TrainConfig() if config is None else config
    _check_arguments(module, loss_fn, train, validation, config, metrics, optimizer)
    place = distributed.setup(config.device)
    run = _Run(module, loss_fn, train, validation, config, dict(metrics or {}), place)
    return run.run(optimizer)


def make_optimizer(
    parameters: Iterable[torch.nn.Parameter], config: TrainConfig
) -> torch.optim.Optimizer:
    """The optimiser ``config`` names, with its ``lr`` and ``weight_decay``."""
    return _OPTIMIZERS[config.optimizer](
        parameters, lr=config.lr, weight_decay=config.weight_decay
    )


def seed_everything(seed: int) -> None:
    """Seed torch (CPU and CUDA), numpy's global generator and ``random``."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


# -- the run ---------------------------------------------------------------------


class _Run:
    """One call of ``fit``: the module, the data, and the early-stopping state."""

    def __init__(
        self,
        module: torch.nn.Module,
        loss_fn: LossFn,
        train: Iterable[Any],
        validation: Iterable[Any] | None,
        config: TrainConfig,
        metrics: dict[str, MetricFn],
        place: distributed.Distributed,
    ) -> None:
        self.module = module
        self.loss_fn = loss_fn
        self.config = config
        self.metrics = metrics
        self.place = place
        self.device = place.device
        _check_chunks_alone(train, place)
        self.train = place.shard(train, "train")
        self.validation = place.shard(validation, "validation")
        self.history = History()
        self.stopping: dict[str, Any] = {"best": None, "wait": 0, "stopped": False}
        self.best_state: dict[str, torch.Tensor] | None = None
        self.start = 0

    def run(self, optimizer: torch.optim.Optimizer | None) -> History:
        config, module = self.config, self.module
        was_training = module.training
        module.to(self.device)
        if config.seed is not None:
            seed_everything(config.seed)
        self.optimizer = optimizer or make_optimizer(
            [p for p in module.parameters() if p.requires_grad], config
        )
        progress = Progress(
            config.verbose if self.place.is_main else 0, config.epochs, _len(self.train)
        )
        try:
            self._resume_or_start(progress)
            self.network = self.place.wrap(module)
            self.place.check_equal_steps(_len(self.train) or 0)
            for epoch in range(self.start, config.epochs):
                if self.stopping["stopped"]:
                    break
                self._epoch(epoch, progress)
            if self.stopping["stopped"]:
                progress.message(
                    "stopped early after epoch %d; best epoch %s",
                    self.history.epochs,
                    self.history.best_epoch,
                )
        finally:
            progress.close()
        if self.best_state is not None and config.restore_best:
            module.load_state_dict(self.best_state)
        module.train(was_training)
        return self.history

    # -- one epoch ------------------------------------------------------------------

    def _epoch(self, epoch: int, progress: Progress) -> None:
        started = time.perf_counter()
        progress.start_epoch(epoch)
        _set_epoch(self.train, epoch)
        train_sums, steps = self._train_epoch(progress)
        train_seconds = time.perf_counter() - started
        val_sums = None
        if self.validation is not None:
            _set_epoch(self.validation, epoch)
            val_sums = self._validate()
        values, rows = self._means(train_sums, val_sums)
        seconds = time.perf_counter() - started
        self.history.append(
            values,
            seconds=seconds,
            steps_per_s=steps / train_seconds,
            samples_per_s=rows / train_seconds,
        )
        self._update_stopping(epoch, values)
        if self.config.checkpoint_dir is not None and self.place.is_main:
            save_checkpoint(self.config.checkpoint_dir, self._checkpoint(epoch + 1))
        progress.end_epoch(epoch, values, seconds, self.history)

    def _train_epoch(self, progress: Progress) -> tuple[list[Any], int]:
        network, module, optimizer = self.network, self.module, self.optimizer
        loss_fn, metrics = self.loss_fn, list(self.metrics.values())
        clip = self.config.clip_norm
        parameters = [p for p in module.parameters() if p.requires_grad]
        move = self.device.type != "cpu"
        every = progress.every
        loss_sum = torch.zeros((), dtype=torch.float64, device=self.device)
        metric_sums = [_zero(self.device) for _ in metrics]
        metric_counts: list[Any] = [0 for _ in metrics]
        count: Any = 0
        rows = 0
        steps = 0
        network.train()
        for batch in self.train:
            if move:
                batch = _to_device(batch, self.device)
            loss, weight = loss_fn(network, batch)
            if steps == 0:
                _check_loss(loss)
            if not _is_zero(weight):  # 0: nothing to learn, no step (Adam!)
                if metrics:
                    with torch.no_grad():
                        for i, metric in enumerate(metrics):
                            total, n = metric(module, batch)
                            metric_sums[i] += total
                            metric_counts[i] += n
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if clip is not None:
                    torch.nn.utils.clip_grad_norm_(parameters, clip)
                optimizer.step()
                if type(weight) is int:
                    loss_sum.add_(loss.detach(), alpha=weight)
                else:
                    loss_sum.add_(loss.detach() * weight)
                count += weight
            rows += _rows_of(batch)
            steps += 1
            if every and steps % every == 0:
                progress.advance(steps)
        if steps == 0:
            raise ValueError(
                problem(
                    "training batches",
                    "at least one batch per epoch",
                    "no batches",
                    "check the training data (and its share under torchrun)",
                )
            )
        if self.device.type == "cuda":  # the epoch's time includes its queued work
            torch.cuda.synchronize(self.device)
        return [loss_sum, count, *metric_sums, *metric_counts, rows], steps

    def _validate(self) -> list[Any]:
        return _evaluation_sums(
            self.module, self.loss_fn, self.validation, self.metrics, self.device
        )

    def _means(
        self, train: list[Any], validation: list[Any] | None
    ) -> tuple[dict[str, float], int]:
        """Sum over processes and divide, with one read back to the host."""
        parts = train + (validation or [])
        stacked = torch.stack(
            [torch.as_tensor(p, dtype=torch.float64, device=self.device) for p in parts]
        )
        totals = self.place.sum(stacked).tolist()
        k = len(self.metrics)
        names = ["loss", *self.metrics]
        values = _ratios(names, totals[: 2 + 2 * k], k)
        rows = int(totals[2 + 2 * k])
        if validation is not None:
            val = _ratios(names, totals[3 + 2 * k :], k)
            values.update({"val_" + name: value for name, value in val.items()})
        return values, rows

    # -- early stopping, checkpoints ------------------------------------------------

    def _update_stopping(self, epoch: int, values: dict[str, float]) -> None:
        config, stopping = self.config, self.stopping
        monitored = values.get("val_loss", values["loss"])
        best = stopping["best"]
        if best is None or monitored < best - config.min_delta:
            stopping["best"], stopping["wait"] = monitored, 0
            self.history.best_epoch = epoch + 1
            if config.early_stopping is not None and config.restore_best:
                self.best_state = _copy_state(self.module)
        else:
            stopping["wait"] += 1
        if not math.isfinite(values["loss"]):
            warnings.warn(
                f"the training loss is {values['loss']} in epoch {epoch + 1}: "
                "training stops. Fix: lower lr, or set clip_norm",
                RuntimeWarning,
                stacklevel=5,
            )
            stopping["stopped"] = True
        patience = config.early_stopping
        if patience is not None and stopping["wait"] >= patience:
            stopping["stopped"] = True
        self.history.stopped_early = bool(stopping["stopped"])

    def _checkpoint(self, epochs_done: int) -> Checkpoint:
        return Checkpoint(
            epoch=epochs_done,
            module=self.module.state_dict(),
            optimizer=self.optimizer.state_dict(),
            history=self.history,
            stopping=dict(self.stopping),
            best_module=self.best_state,
            rng=capture_rng(),
        )

    def _resume_or_start(self, progress: Progress) -> None:
        config = self.config
        if config.checkpoint_dir is None:
            return
        path = checkpoint_path(config.checkpoint_dir)
        if not config.resume:
            if path.exists() and self.place.is_main:
                warnings.warn(
                    f"{path} holds a checkpoint and resume=False: this run starts "
                    "from scratch and overwrites it after its first epoch. Fix: pass "
                    "resume=True to continue the earlier run",
                    UserWarning,
                    stacklevel=4,
                )
            return
        if not path.exists():
            progress.message("no checkpoint in %s: starting from epoch 1", path.parent)
            return
        saved = load_checkpoint(config.checkpoint_dir)
        _load_state(self.module, saved.module, path, "model weights")
        try:
            self.optimizer.load_state_dict(saved.optimizer)
        except (ValueError, KeyError, RuntimeError) as error:
            raise ValueError(
                problem(
                    f"the optimiser state in {path}",
                    f"the state of a {type(self.optimizer).__name__} over this "
                    "module's parameters",
                    f"a state that does not fit ({error})",
                    "resume with the optimizer and model of the interrupted run",
                )
            ) from None
        self.history = saved.history
        self.stopping = saved.stopping
        self.best_state = saved.best_module
        restore_rng(saved.rng)
        self.start = saved.epoch
        progress.message("resumed from %s after epoch %d", path, saved.epoch)


def evaluate(
    module: torch.nn.Module,
    loss_fn: LossFn,
    batches: Iterable[Any],
    metrics: Mapping[str, MetricFn] | None = None,
) -> dict[str, float]:
    """The loss and metrics of ``module`` over all of ``batches``, as exact
    weighted means, in evaluation mode and without gradients.

    >>> import torch
    >>> net = torch.nn.Linear(1, 1)
    >>> with torch.no_grad():
    ...     _ = net.weight.fill_(2.0), net.bias.zero_()
    >>> batches = [(torch.ones(3, 1), torch.zeros(3, 1)),
    ...            (torch.ones(1, 1), torch.ones(1, 1))]
    >>> def loss_fn(module, batch):
    ...     x, y = batch
    ...     return torch.nn.functional.mse_loss(module(x), y), len(x)
    >>> evaluate(net, loss_fn, batches)   # (3 x 4 + 1 x 1) / 4
    {'loss': 3.25}
    """
    metrics = dict(metrics or {})
    device = next(iter(module.parameters()), torch.empty(0)).device
    was_training = module.training
    try:
        sums = _evaluation_sums(module, loss_fn, batches, metrics, device)
    finally:
        module.train(was_training)
    totals = torch.stack(
        [torch.as_tensor(p, dtype=torch.float64, device=device) for p in sums]
    ).tolist()
    return _ratios(["loss", *metrics], totals, len(metrics))


def _evaluation_sums(
    module: torch.nn.Module,
    loss_fn: LossFn,
    batches: Iterable[Any] | None,
    metrics: Mapping[str, MetricFn],
    device: torch.device,
) -> list[Any]:
    """``[loss_sum, count, metric sums..., metric counts...]`` over ``batches``,
    still on the device; leaves the module in training mode."""
    functions = list(metrics.values())
    move = device.type != "cpu"
    loss_sum = _zero(device)
    metric_sums = [_zero(device) for _ in functions]
    metric_counts: list[Any] = [0 for _ in functions]
    count: Any = 0
    module.eval()
    with torch.no_grad():
        for batch in batches or ():
            if move:
                batch = _to_device(batch, device)
            loss, weight = loss_fn(module, batch)
            loss_sum += loss.double() * weight
            count += weight
            for i, metric in enumerate(functions):
                total, n = metric(module, batch)
                metric_sums[i] += total
                metric_counts[i] += n
    module.train()
    return [loss_sum, count, *metric_sums, *metric_counts]


# -- helpers -------------------------------------------------------------------------


def _ratios(names: list[str], totals: list[float], k: int) -> dict[str, float]:
    """``[loss_sum, count, metric sums..., metric counts...]`` to means."""
    sums = [totals[0], *totals[2 : 2 + k]]
    counts = [totals[1], *totals[2 + k : 2 + 2 * k]]
    return {
        name: (s / c if c else math.nan)
        for name, s, c in zip(names, sums, counts, strict=True)
    }


def _rows_of(batch: Any) -> int:
    """Samples in a batch (for samples/s): the length of its ``x`` (or of its
    first element, for tuples); 0 when it has neither, and for the chunks after
    the first of a batch (its rows are counted once)."""
    if getattr(batch, "first", True) is False:
        return 0
    x = getattr(batch, "x", None)
    if x is None and isinstance(batch, (tuple, list)) and batch:
        x = batch[0]
    return int(x.shape[0]) if isinstance(x, torch.Tensor) and x.ndim else 0


def _is_zero(weight: Any) -> bool:
    """Whether a loss weight is the Python number 0. A tensor weight never
    skips a step: reading it back would cost a host sync every step."""
    return not isinstance(weight, torch.Tensor) and weight == 0


def _zero(device: torch.device) -> torch.Tensor:
    return torch.zeros((), dtype=torch.float64, device=device)


def _len(batches: Any) -> int | None:
    try:
        return len(batches)
    except TypeError:
        return None


def _set_epoch(batches: Any, epoch: int) -> None:
    set_epoch = getattr(batches, "set_epoch", None)
    if set_epoch is not None:
        set_epoch(epoch)


def _copy_state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _to_device(batch: Any, device: torch.device) -> Any:
    """``batch`` with its tensors on ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if callable(getattr(batch, "to", None)):  # timesteps' Batch
        return batch.to(device, non_blocking=True)
    if dataclasses.is_dataclass(batch) and not isinstance(batch, type):
        moved = {
            f.name: _to_device(getattr(batch, f.name), device)
            for f in dataclasses.fields(batch)
            if isinstance(getattr(batch, f.name), torch.Tensor)
        }
        return dataclasses.replace(batch, **moved)
    if isinstance(batch, (tuple, list)):
        return type(batch)(_to_device(item, device) for item in batch)
    if isinstance(batch, dict):
        return {key: _to_device(item, device) for key, item in batch.items()}
    return batch


def _load_state(
    module: torch.nn.Module, state: dict[str, torch.Tensor], path: Any, what: str
) -> None:
    try:
        module.load_state_dict(state)
    except RuntimeError as error:
        raise ValueError(
            problem(
                f"the {what} in {path}",
                f"the parameters of this {type(module).__name__}",
                f"parameters that do not fit ({str(error).splitlines()[0]})",
                "resume with the same model as the interrupted run",
            )
        ) from None


def _check_loss(loss: Any) -> None:
    if not isinstance(loss, torch.Tensor) or loss.ndim != 0:
        shape = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss)
        raise ValueError(
            problem(
                "loss_fn(module, batch) must return (loss, weight)",
                "loss: a scalar tensor (the mean over the batch's elements)",
                f"loss of shape {shape}",
                "return loss.mean() and the number of elements it averages",
            )
        )


def _check_chunks_alone(train: Any, place: distributed.Distributed) -> None:
    """Chunked batches cannot be trained under DDP: a chunk without loss makes
    no optimiser step, and the number of chunks of a shuffled batch depends on
    its longest row, so the processes would take different numbers of steps
    and DDP's gradient averaging would wait forever."""
    C = getattr(train, "chunk_length", None)
    if C is None or not place.active:
        return
    raise ValueError(
        problem(
            "chunked training (truncated backpropagation through time) under torchrun",
            "one process, or batches without chunk_length",
            f"chunk_length={C} on {place.world_size} processes, which would take "
            "different numbers of optimiser steps (a chunk where no series ends "
            "makes none; batches have different numbers of chunks) and wait for "
            "each other forever",
            "train chunked in one process (python train.py), or under torchrun "
            "without chunk_length (a strided Conv1D front, conv=dict(filters=..., "
            "kernel_size=k, strides=k), shortens very long series instead)",
        )
    )


def _check_arguments(
    module: Any,
    loss_fn: Any,
    train: Any,
    validation: Any,
    config: Any,
    metrics: Any,
    optimizer: Any,
) -> None:
    if not isinstance(module, torch.nn.Module):
        raise TypeError(problem("module", "a torch.nn.Module", type(module).__name__))
    if not callable(loss_fn):
        raise TypeError(
            problem(
                "loss_fn",
                "a function loss_fn(module, batch) -> (loss, weight)",
                type(loss_fn).__name__,
            )
        )
    for name, batches in (("train", train), ("validation", validation)):
        if name == "validation" and batches is None:
            continue
        if not isinstance(batches, Iterable):
            raise TypeError(
                problem(
                    name, "Batches (an iterable of batches)", type(batches).__name__
                )
            )
    if _len(train) == 0:
        raise ValueError(
            problem("train", "at least one batch", "0 batches", "check the data")
        )
    if not isinstance(config, TrainConfig):
        raise TypeError(problem("config", "a TrainConfig", type(config).__name__))
    for name, metric in (metrics or {}).items():
        if name == "loss" or str(name).startswith("val_") or not callable(metric):
            raise ValueError(
                problem(
                    f"metric {name!r}",
                    "a name other than 'loss' and not starting with 'val_', "
                    "mapped to fn(module, batch) -> (sum, count)",
                    f"{name!r}: {type(metric).__name__}",
                )
            )
    if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(
            problem("optimizer", "a torch.optim.Optimizer or None", repr(optimizer))
        )
    if not any(p.requires_grad for p in module.parameters()):
        raise ValueError(
            problem(
                "module",
                "at least one trainable parameter",
                f"a {type(module).__name__} with none",
                "build the model before training it",
            )
        )

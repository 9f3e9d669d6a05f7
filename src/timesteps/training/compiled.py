"""Keras-style ``compile``/``fit``/``evaluate``/``predict`` for ``Sequential``.

``Sequential`` inherits :class:`Compilable`, so code from a Keras tutorial
translates line by line:

>>> import numpy as np, timesteps as ts
>>> X = np.random.default_rng(0).normal(size=(200, 3, 1)).astype("float32")
>>> y = (X[:, -1, 0] > 0).astype("float32")
>>> model = ts.Sequential([ts.SimpleRNN(10), ts.Dense(1, activation="sigmoid")],
...                       input_shape=(3, 1))
>>> model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
>>> history = model.fit(X, y, epochs=2, batch_size=50, verbose=0)
>>> sorted(history.history)
['accuracy', 'loss']
>>> model.predict(X[:4]).shape          # (B=4, 1)
(4, 1)

Where it follows Keras: the default learning rates (``sgd`` 0.01; ``adam``,
``adamw`` and ``rmsprop`` 0.001), ``batch_size=32``, ``epochs=1``, no gradient
clipping, ``validation_split`` taking the **last** samples of ``x`` and ``y``
before any shuffling (not a random split: shuffle first if the order of the
samples means something), ``validation_data`` taking precedence over
``validation_split``, and the losses and ``"accuracy"`` resolution of
:mod:`timesteps.training.losses`. Where it differs: the optimisers are
PyTorch's with their own defaults otherwise (Adam ``eps=1e-8`` where Keras has
``1e-7``; RMSprop ``alpha=0.99`` where Keras has ``rho=0.9``).

Binary cross-entropy on a ``Dense(..., activation="sigmoid")`` output is
computed from the logits while training and evaluating (the sigmoid is left out
of the last layer for that time and put back after), as Keras on TensorFlow does:
``binary_cross_entropy_with_logits`` is one fused, stable kernel, where sigmoid,
clip and log are three and the clip cuts the gradient of a saturated output.
Inside the clip range both give the same value. Other outputs use the clipped
probabilities of :mod:`timesteps.training.losses`.

Equal-length arrays are held as one tensor on the model's device; each epoch
draws one permutation (from ``seed`` and the epoch number), gathers the rows once
and cuts consecutive slices (views) of ``batch_size`` rows. That costs ~8 us per
batch where the data layer's ``Batches`` (built for ragged series: per-batch
gather, trimming and a ``Batch`` of seven fields) costs ~40-55 us, on a step of
~600 us for the bone-size model (``benchmarks/bench_bone.py``).
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch

from .._errors import near_matches, problem
from .._shapes import format_shape
from .config import OPTIMIZERS, TrainConfig
from .history import History
from .losses import LossFunction, MetricFunction, get_loss, get_metric

KERAS_LEARNING_RATES = {"sgd": 0.01, "adam": 0.001, "adamw": 0.001, "rmsprop": 0.001}
_PERMUTE_WHOLE_BYTES = 256 * 2**20


@dataclass
class _Compiled:
    loss_name: str
    loss: LossFunction
    metrics: list[str | Callable[..., Any]]
    optimizer: str | torch.optim.Optimizer
    lr: float
    weight_decay: float
    clip_norm: float | None


if TYPE_CHECKING:  # the mixin is only ever mixed into a torch.nn.Module
    _Module = torch.nn.Module
else:
    _Module = object


class Compilable(_Module):
    """Mixin giving a network Keras' ``compile``/``fit``/``evaluate``/``predict``.

    The class it is mixed into is a ``torch.nn.Module`` whose forward takes
    ``(x)`` or ``(x, lengths)`` with ``x`` of shape ``(B, T, F)``.
    """

    def compile(
        self,
        optimizer: str | torch.optim.Optimizer = "rmsprop",
        loss: str | Callable[..., Any] | None = None,
        metrics: Sequence[str | Callable[..., Any]] | None = None,
        *,
        lr: float | None = None,
        weight_decay: float = 0.0,
        clip_norm: float | None = None,
    ) -> None:
        """Choose the loss, optimiser and metrics for :meth:`fit`.

        Args:
            optimizer: ``"adam"``, ``"sgd"``, ``"adamw"``, ``"rmsprop"`` (Keras'
                default) or a ``torch.optim.Optimizer`` over this model's
                parameters.
            loss: ``"binary_crossentropy"`` (``"bce"``), ``"mse"``, ``"mae"``,
                ``"categorical_crossentropy"``,
                ``"sparse_categorical_crossentropy"``, or ``fn(y_true, y_pred)``.
            metrics: names such as ``"accuracy"``, ``"mae"``, ``"mse"``, or
                functions ``fn(y_true, y_pred)``.
            lr: learning rate; None takes Keras' default for the optimiser
                (``sgd`` 0.01, the others 0.001).
            weight_decay: L2 penalty of the optimiser.
            clip_norm: clip the gradients' global norm (Keras: no clipping).
        """
        if loss is None:
            raise ValueError(
                problem(
                    "compile needs a loss",
                    "loss='binary_crossentropy', 'mse', ... or fn(y_true, y_pred)",
                    "loss=None",
                    "pass loss=, e.g. model.compile(loss='mse', optimizer='adam')",
                )
            )
        loss_name, loss_fn = get_loss(loss)
        metric_list = _metric_list(metrics)
        for metric in metric_list:
            get_metric(metric, loss_name, 1)  # unknown names fail here, not in fit
        if isinstance(optimizer, torch.optim.Optimizer):
            rate = float(optimizer.param_groups[0]["lr"])
        elif optimizer in OPTIMIZERS:
            rate = KERAS_LEARNING_RATES[optimizer] if lr is None else lr
            TrainConfig(optimizer=optimizer, lr=rate, weight_decay=weight_decay)
        else:
            raise ValueError(
                problem(
                    "unknown optimizer",
                    "one of " + ", ".join(repr(o) for o in OPTIMIZERS) + " or a "
                    "torch.optim.Optimizer",
                    repr(optimizer),
                    near_matches(str(optimizer), OPTIMIZERS),
                )
            )
        self._compiled = _Compiled(
            loss_name, loss_fn, metric_list, optimizer, rate, weight_decay, clip_norm
        )
        self._optimizer = optimizer if not isinstance(optimizer, str) else None

    # -- fit ------------------------------------------------------------------------

    def fit(
        self,
        x: Any,
        y: Any,
        batch_size: int = 32,
        epochs: int = 1,
        verbose: int = 1,
        validation_split: float = 0.0,
        validation_data: tuple[Any, ...] | None = None,
        shuffle: bool = True,
        *,
        lengths: Any = None,
        early_stopping: int | None = None,
        seed: int | None = None,
        checkpoint_dir: str | None = None,
        resume: bool = False,
    ) -> History:
        """Train on arrays ``x`` ``(B, T, F)`` and targets ``y`` ``(B, ...)``.

        Args:
            x: ``(B, T, F)`` numpy array or tensor; rows shorter than T are
                padded after their end and their true ``lengths`` given.
            y: targets, first axis B: ``(B,)`` or ``(B, K)`` for one output per
                sample, class codes for sparse categorical cross-entropy.
            batch_size, epochs, verbose, shuffle: as in Keras.
            validation_split: the share of samples, taken from the **end** of
                ``x`` and ``y`` as Keras does, kept for validation.
            validation_data: ``(x_val, y_val)`` or ``(x_val, y_val,
                lengths_val)``; takes precedence over ``validation_split``.
            lengths: ``(B,)`` true lengths of padded rows (None: all T steps).
            early_stopping: patience in epochs on the validation loss (or the
                training loss without validation); the best weights are kept.
            seed: seeds the shuffling and torch's generators for a repeatable
                run; None draws the shuffling seed from torch's generator.
            checkpoint_dir, resume: write a checkpoint every epoch / continue
                from it (see :class:`timesteps.training.TrainConfig`).

        Returns the :class:`~timesteps.training.History` (``history.history``
        maps ``"loss"``, ``"val_loss"`` and each metric to its per-epoch values).
        """
        from .trainer import fit, make_optimizer

        compiled = self._require_compiled("fit")
        _check_batch_size(batch_size)
        if not 0.0 <= validation_split < 1.0:
            raise ValueError(
                problem(
                    "validation_split",
                    "a share in [0, 1)",
                    repr(validation_split),
                    "pass e.g. validation_split=0.2 for the last 20% of samples",
                )
            )
        device = _device_of(self)
        X, Y, L = self._tensors(x, y, lengths, "x", "y", device)
        validation = None
        if validation_data is not None:
            if validation_split:
                warnings.warn(
                    f"validation_data is given, so validation_split="
                    f"{validation_split} is ignored (as in Keras)",
                    UserWarning,
                    stacklevel=2,
                )
            validation = self._validation_arrays(validation_data, device)
        elif validation_split:
            X, Y, L, validation = _split_last(
                X, cast(torch.Tensor, Y), L, validation_split
            )
        if seed is None:
            shuffle_seed = int(torch.randint(0, 2**31 - 1, ()).item())
        else:
            shuffle_seed = seed
        train = ArrayBatches(X, Y, L, batch_size, shuffle=shuffle, seed=shuffle_seed)
        val = None
        if validation is not None:
            val = ArrayBatches(*validation, batch_size, shuffle=False)
        optimizer_name = compiled.optimizer
        config = TrainConfig(
            epochs=epochs,
            optimizer=optimizer_name if isinstance(optimizer_name, str) else "adam",
            lr=compiled.lr,
            weight_decay=compiled.weight_decay,
            clip_norm=compiled.clip_norm,
            early_stopping=early_stopping,
            seed=seed,
            verbose=verbose,
            checkpoint_dir=checkpoint_dir,
            resume=resume,
            device=str(device),
        )
        if self._optimizer is None:
            self._optimizer = make_optimizer(
                [p for p in self.parameters() if p.requires_grad], config
            )
        loss_fn, metrics = self._batch_functions(compiled, Y)
        with self._logits_head(compiled):
            return fit(self, loss_fn, train, val, config, metrics, self._optimizer)

    # -- evaluate, predict -------------------------------------------------------------

    def evaluate(
        self, x: Any, y: Any, batch_size: int = 32, *, lengths: Any = None
    ) -> dict[str, float]:
        """The loss and metrics over all of ``x`` and ``y``: exact means over the
        samples (not means of batch means), e.g. ``{"loss": 0.31, "accuracy":
        0.87}``."""
        from .trainer import evaluate

        compiled = self._require_compiled("evaluate")
        _check_batch_size(batch_size)
        X, Y, L = self._tensors(x, y, lengths, "x", "y", _device_of(self))
        loss_fn, metrics = self._batch_functions(compiled, Y)
        batches = ArrayBatches(X, Y, L, batch_size, shuffle=False)
        with self._logits_head(compiled):
            return evaluate(self, loss_fn, batches, metrics)

    def predict(
        self, x: Any, batch_size: int = 32, *, lengths: Any = None
    ) -> np.ndarray:
        """The model's output for ``x`` ``(B, T, F)`` as a numpy array, in
        evaluation mode (no dropout), batch by batch."""
        _check_batch_size(batch_size)
        device = _device_of(self)
        X, _, L = self._tensors(x, None, lengths, "x", "y", device)
        was_training = self.training
        self.eval()
        outputs = []
        try:
            with torch.no_grad():
                for batch in ArrayBatches(X, None, L, batch_size, shuffle=False):
                    outputs.append(_forward(self, batch).cpu())
        finally:
            self.train(was_training)
        return torch.cat(outputs).numpy()

    # -- helpers -----------------------------------------------------------------------

    def _require_compiled(self, method: str) -> _Compiled:
        compiled = getattr(self, "_compiled", None)
        if compiled is None:
            raise RuntimeError(
                problem(
                    f"{method}() before compile()",
                    "a compiled model",
                    "a model that was never compiled",
                    "call model.compile(loss=..., optimizer=...) first",
                )
            )
        return compiled

    def _tensors(
        self,
        x: Any,
        y: Any,
        lengths: Any,
        x_name: str,
        y_name: str,
        device: torch.device,
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """``x``, ``y`` and ``lengths`` as tensors on ``device``, checked: x by the
        network itself (one forward pass on one sample), y against its output."""
        X = _as_tensor(x, torch.float32, x_name, device)
        check_input = getattr(self, "check_input", None)
        if check_input is not None:  # Sequential's own check, on the whole of x
            X = check_input(X)
        L = None
        if lengths is not None:
            from ..layers.base import check_lengths

            L = check_lengths(lengths, X, "fit")
        output = self._probe(X)
        if y is None:
            return X, None, L
        compiled = self._require_compiled("fit")
        sparse = compiled.loss_name == "sparse_categorical_crossentropy"
        Y = _as_tensor(y, torch.int64 if sparse else torch.float32, y_name, device)
        return X, _shape_targets(Y, X, output, sparse, y_name), L

    def _probe(self, X: torch.Tensor) -> torch.Tensor:
        """Run one sample through the network (checks x's shape, builds unbuilt
        layers); returns its output ``(1, ...)``."""
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                return self(X[:1])
        finally:
            self.train(was_training)

    def _validation_arrays(
        self, data: Any, device: torch.device
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        if not isinstance(data, (tuple, list)) or len(data) not in (2, 3):
            raise ValueError(
                problem(
                    "validation_data",
                    "a tuple (x_val, y_val) or (x_val, y_val, lengths_val)",
                    f"{type(data).__name__} of length {len(data)}"
                    if isinstance(data, (tuple, list))
                    else type(data).__name__,
                )
            )
        lengths = data[2] if len(data) == 3 else None
        return self._tensors(data[0], data[1], lengths, "x_val", "y_val", device)

    def _batch_functions(
        self, compiled: _Compiled, Y: torch.Tensor | None
    ) -> tuple[Callable[..., Any], dict[str, Callable[..., Any]]]:
        loss = compiled.loss
        to_output: Callable[[torch.Tensor], torch.Tensor] = _same
        if self._sigmoid_head(compiled) is not None:
            # the network gives logits inside _logits_head: fused, stable loss
            loss = _bce_with_logits
            to_output = torch.sigmoid

        def loss_fn(module: torch.nn.Module, batch: ArrayBatch) -> tuple[Any, int]:
            return loss(_forward(module, batch), batch.y), batch.n

        n_outputs = 1 if Y is None or Y.ndim == 1 else int(Y[0].numel())
        metrics = {}
        for metric in compiled.metrics:
            name, function = get_metric(metric, compiled.loss_name, n_outputs)
            metrics[name] = _batch_metric(function, to_output)
        return loss_fn, metrics

    def _sigmoid_head(self, compiled: _Compiled) -> Any:
        """The last layer when it is ``Dense(..., activation="sigmoid")`` and the
        loss is binary cross-entropy, else None."""
        if compiled.loss_name != "binary_crossentropy":
            return None
        layers = getattr(self, "layers", None)
        if not layers:
            return None
        from ..layers.core import Dense

        last = layers[-1]
        if isinstance(last, Dense) and last.activation == "sigmoid":
            return last
        return None

    @contextlib.contextmanager
    def _logits_head(self, compiled: _Compiled) -> Iterator[None]:
        """Inside this block a sigmoid Dense head leaves out its sigmoid, so the
        network gives logits (see the module docs); it is put back on leaving."""
        head = self._sigmoid_head(compiled)
        if head is None:
            yield
            return
        head.activation = None
        try:
            yield
        finally:
            head.activation = "sigmoid"


# -- batches of equal-length arrays ---------------------------------------------------


class ArrayBatch:
    """One batch: ``x`` ``(B, T, F)``, ``y`` ``(B, ...)`` or None, ``lengths``
    ``(B,)`` or None (every row has all T steps), ``n`` = B."""

    __slots__ = ("lengths", "n", "x", "y")
    x: torch.Tensor
    y: Any  # a tensor wherever a loss or metric reads it
    lengths: torch.Tensor | None
    n: int

    def __init__(
        self, x: torch.Tensor, y: torch.Tensor | None, lengths: torch.Tensor | None
    ) -> None:
        self.x, self.y, self.lengths = x, y, lengths
        self.n = int(x.shape[0])


class ArrayBatches:
    """Batches of rows of tensors held whole on their device.

    Each epoch draws one permutation from ``(seed, epoch)`` and cuts the permuted
    rows into consecutive slices of ``batch_size`` (the last one smaller). Under
    ``torchrun``, :meth:`shard` gives rank r the rows ``r::world_size`` of every
    batch, so that W processes with DDP take exactly the steps one process takes.

    >>> import torch
    >>> batches = ArrayBatches(torch.zeros(10, 3, 1), torch.zeros(10), None, 4)
    >>> [b.n for b in batches], len(batches), batches.n_rows
    ([4, 4, 2], 3, 10)
    """

    def __init__(
        self,
        x: torch.Tensor,
        y: torch.Tensor | None,
        lengths: torch.Tensor | None,
        batch_size: int,
        shuffle: bool = True,
        seed: int = 0,
    ) -> None:
        self.x, self.y, self.lengths = x, y, lengths
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.epoch = 0
        self.rank, self.world_size = 0, 1
        self._whole = x.numel() * x.element_size() <= _PERMUTE_WHOLE_BYTES

    @property
    def n_rows(self) -> int:
        """Rows per epoch on this process."""
        if self.world_size == 1:
            return int(self.x.shape[0])
        return sum(len(range(self.rank, n, self.world_size)) for n in self._sizes())

    def __len__(self) -> int:
        return len(self._sizes())

    def _sizes(self) -> list[int]:
        n, size = int(self.x.shape[0]), self.batch_size
        sizes = [min(size, n - start) for start in range(0, n, size)]
        if self.world_size > 1 and sizes[-1] < self.world_size:
            sizes.pop()  # every rank needs a row of every batch
        return sizes

    def set_epoch(self, epoch: int) -> None:
        """Draw epoch ``epoch``'s permutation (a function of seed and epoch)."""
        self.epoch = epoch

    def shard(self, rank: int, world_size: int) -> ArrayBatches:
        """This process' rows of every batch (see the class docs)."""
        share = ArrayBatches(
            self.x, self.y, self.lengths, self.batch_size, self.shuffle, self.seed
        )
        share.rank, share.world_size = rank, world_size
        if not share._sizes():
            raise ValueError(
                problem(
                    "too few samples to give every process a row of a batch",
                    f">= world_size={world_size} samples",
                    f"{self.x.shape[0]} samples",
                )
            )
        return share

    def __iter__(self) -> Iterator[ArrayBatch]:
        x, y, lengths = self.x, self.y, self.lengths
        order = None
        if self.shuffle:
            generator = torch.Generator()
            generator.manual_seed(_epoch_seed(self.seed, self.epoch))
            order = torch.randperm(int(x.shape[0]), generator=generator)
            order = order.to(x.device)
            if self._whole:  # one gather per epoch, then slices (views)
                x = x[order]
                y = None if y is None else y[order]
                lengths = None if lengths is None else lengths[order]
                order = None
        start = 0
        for size in self._sizes():
            picks: Any = slice(start, start + size)
            if self.world_size > 1:
                every = torch.arange(start, start + size, device=x.device)
                picks = every[self.rank :: self.world_size]
            if order is not None:
                picks = order[picks]
            yield ArrayBatch(
                x[picks],
                None if y is None else y[picks],
                None if lengths is None else lengths[picks],
            )
            start += size


def _epoch_seed(seed: int, epoch: int) -> int:
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0])


# -- small helpers -----------------------------------------------------------------


def _forward(module: torch.nn.Module, batch: ArrayBatch) -> torch.Tensor:
    if batch.lengths is None:
        return module(batch.x)
    return module(batch.x, batch.lengths)


def _batch_metric(
    function: MetricFunction, to_output: Callable[[torch.Tensor], torch.Tensor]
) -> Callable[..., Any]:
    def metric(module: torch.nn.Module, batch: ArrayBatch) -> tuple[Any, int]:
        return function(to_output(_forward(module, batch)), batch.y)

    return metric


def _same(output: torch.Tensor) -> torch.Tensor:
    return output


def _bce_with_logits(logits: torch.Tensor, y_true: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.binary_cross_entropy_with_logits(logits, y_true)


def _metric_list(metrics: Any) -> list[str | Callable[..., Any]]:
    if metrics is None:
        return []
    if isinstance(metrics, str) or callable(metrics):
        return [metrics]
    return list(metrics)


def _device_of(module: Any) -> torch.device:
    for parameter in module.parameters():
        return parameter.device
    return torch.device("cpu")


def _check_batch_size(batch_size: Any) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int):
        raise TypeError(problem("batch_size", "an int >= 1", repr(batch_size)))
    if batch_size < 1:
        raise ValueError(problem("batch_size", "an int >= 1", repr(batch_size)))


def _as_tensor(
    value: Any, dtype: torch.dtype, name: str, device: torch.device
) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        tensor = value.detach()
    else:
        try:
            array = np.asarray(value)
        except ValueError:  # ragged nested lists
            raise ValueError(
                problem(
                    f"{name} must be one array with a samples axis B",
                    "a (B, T, F) array (or (B, ...) targets)",
                    f"a {type(value).__name__} of unequal parts",
                    "pad the series to one length T and pass their true lengths "
                    "with lengths=, or build a SequenceSet and use a task model",
                )
            ) from None
        if array.dtype.kind not in "biuf":
            raise TypeError(
                problem(
                    f"{name} must hold numbers",
                    "a numeric array",
                    f"dtype {array.dtype}",
                    "encode categories as numbers first",
                )
            )
        array = np.ascontiguousarray(array)
        if not array.flags.writeable:  # e.g. from pandas: torch wants its own copy
            array = array.copy()
        tensor = torch.from_numpy(array)
    return tensor.to(device=device, dtype=dtype)


def _shape_targets(
    Y: torch.Tensor, X: torch.Tensor, output: torch.Tensor, sparse: bool, name: str
) -> torch.Tensor:
    """``Y`` reshaped to the network's per-sample output (``(B,)`` targets for a
    ``(B, 1)`` output become ``(B, 1)``), or to the output without its classes
    axis for sparse class codes."""
    B = int(X.shape[0])
    per_sample = tuple(output.shape[1:])
    if sparse:
        per_sample = per_sample[:-1]
    if Y.ndim == 0 or int(Y.shape[0]) != B:
        raise ValueError(
            problem(
                f"{name} must hold one target per sample of x",
                f"{B} targets along the first axis (samples axis B)",
                f"shape {tuple(Y.shape)}",
                "pass the targets in the same order as the samples of x",
            )
        )
    if int(Y[0].numel()) != math.prod(per_sample):
        output_shape = format_shape((B, *per_sample), "B")
        raise ValueError(
            problem(
                f"{name} does not match the network's output",
                f"targets of shape {output_shape}"
                + (" (class codes)" if sparse else ""),
                f"shape {tuple(Y.shape)}",
                "use a final layer with as many outputs as targets per sample, "
                "or sparse_categorical_crossentropy for int class codes",
            )
        )
    return Y.reshape(B, *per_sample)


def _split_last(
    X: torch.Tensor, Y: torch.Tensor, L: torch.Tensor | None, share: float
) -> tuple[Any, ...]:
    """Keras' validation_split: the last ``share`` of the samples, unshuffled."""
    B = int(X.shape[0])
    cut = math.floor(B * (1.0 - share))
    if cut <= 0 or cut >= B:
        raise ValueError(
            problem(
                "validation_split leaves no samples on one side",
                "at least one training and one validation sample",
                f"{B} samples split at {cut}",
                "pass a validation_split that keeps samples on both sides",
            )
        )
    tail = None if L is None else L[cut:]
    head = None if L is None else L[:cut]
    return X[:cut], Y[:cut], head, (X[cut:], Y[cut:], tail)

"""Trace a model on a real batch and explain every layer it runs.

Forward hooks sit on every outermost :class:`~timesteps.layers.base.Layer` (the
layers inside a wrapper such as ``Bidirectional`` or ``TimeDistributed`` are
shown as part of it) and on plain ``torch.nn`` modules with parameters that are
not inside a layer. Each hook records the shapes that really went in and came
out, which layer made its input (by tensor identity) and whose returned state
it started from. The model is traced on a copy, so a stateful layer's carried
state and the model's training mode are left as they were.
"""

from __future__ import annotations

import copy
import inspect
import logging
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch

from .._errors import problem
from .._shapes import format_shape
from .sentences import RECURRENT, sentences
from .table import Explanation, LayerRow

logger = logging.getLogger(__name__)

DUMMY_BATCH = 2  # samples B of the dummy batch traced when no data is given
DATA_BATCH = 32  # samples B taken from a SequenceSet when batch_size is None
EXAMPLE_LENGTH = 10  # T traced for an input_shape whose T is None
CONFIG_KEYS = (
    "units",
    "return_sequences",
    "return_state",
    "stateful",
    "bidirectional",
    "filters",
    "kernel_size",
    "strides",
    "padding",
    "dilation_rate",
    "n",
    "activation",
    "merge_mode",
    "go_backwards",
)


def explain(model: Any, data: Any = None, batch_size: int | None = None) -> Explanation:
    """Trace ``model`` on a batch and explain every layer: shapes in the axis
    vocabulary, parameter counts with their formulas (PyTorch's and Keras'), and
    sentences about what is surprising in this model.

    Args:
        model: a ``Sequential``, a single layer, a task model (``Classifier``,
            ``Forecaster`` ...: its ``network`` is traced through
            ``forward_batch``), or any ``torch.nn.Module`` made of layers.
        data: what to trace on: a ``SequenceSet`` (its first ``batch_size``
            series, default 32), a ``(B, T, F)`` array or tensor (all of it,
            unless ``batch_size`` is given), or a ``Batch``. Default: a dummy
            batch of random values of the model's declared input shape with
            B=2; a T of None is traced with an example length T=10.
        batch_size: samples B to take from ``data`` (or the dummy batch size).

    Returns:
        An :class:`Explanation`: ``print(explanation)`` for the table,
        ``explanation.to_dict()`` / ``to_json()`` for data.

    >>> import timesteps as ts
    >>> net = ts.Sequential([ts.LSTM(300), ts.Dense(20)], input_shape=(20, 1))
    >>> e = ts.explain(net)
    >>> e.rows[0].shapes, e.rows[0].params, e.rows[0].keras_params
    ('(B=2, T=20, F=1) -> (B=2, H=300)', 363600, 362400)
    """
    if batch_size is not None and (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, (int, np.integer))
        or batch_size < 1
    ):
        raise ValueError(
            problem(
                "batch_size (samples B to trace)",
                "an integer >= 1 or None",
                repr(batch_size),
                "pass e.g. batch_size=8",
            )
        )
    return trace(model, data=data, batch_size=batch_size)


def trace(
    model: Any,
    data: Any = None,
    batch_size: int | None = None,
    example_length: int = EXAMPLE_LENGTH,
) -> Explanation:
    """:func:`explain` with the length used for a free T (``diagram`` unrolls a
    T=None model over the steps it draws)."""
    from ..layers.base import Layer

    subject = _Subject.of(model, Layer)
    batch, notes = _batch(subject, data, batch_size, example_length)
    tracer = _Tracer(subject, Layer)
    output = tracer.run(batch)
    rows = tracer.rows(batch)
    total = sum(p.numel() for p in subject.root.parameters())
    traced = sum(row.params for row in rows)
    if total != traced:
        rows.append(_other_row(total - traced))
    ragged = bool((batch.lengths != batch.x.shape[1]).any())
    if output is not None:
        logger.debug("traced output shape %s", tuple(output.shape))
    return Explanation(
        model=subject.description,
        input_shape=list(subject.input_shape or batch.x.shape[1:]),
        batch=format_shape(tuple(batch.x.shape), _letters(batch.x.dim())),
        rows=rows,
        total_params=total,
        total_keras_params=sum(row.keras_params for row in rows),
        sentences=sentences(rows, ragged=ragged),
        notes=notes,
    )


# -- what is traced ---------------------------------------------------------------


class _Subject:
    """The module to hook (``root``), how to call it on a batch, and its
    declared per-sample input shape."""

    def __init__(
        self,
        root: torch.nn.Module,
        call: Callable[[Any], Any],
        input_shape: tuple[int | None, ...] | None,
        description: str,
        model: Any,
    ) -> None:
        self.root, self.call = root, call
        self.input_shape, self.description = input_shape, description
        self.model = model

    @classmethod
    def of(cls, model: Any, layer_type: type) -> _Subject:
        if hasattr(model, "forward_batch") and hasattr(model, "network"):
            if not isinstance(model.network, torch.nn.Module):
                raise ValueError(
                    problem(
                        f"{type(model).__name__} has no network yet",
                        "a fitted model (its layers are sized by the data)",
                        "a model that was not fitted",
                        "call model.fit(data) first, or explain a Sequential",
                    )
                )
            model = _copy(model)
            network = model.network
            shape = _shape(getattr(model, "input_shape", None)) or _declared(network)
            name = type(model).__name__
            own = type(model).__repr__ is not object.__repr__
            text = f"{repr(model) if own else name}: {_describe(network, layer_type)}"
            return cls(network, model.forward_batch, shape, text, model)
        model = _copy(model)
        if isinstance(model, torch.nn.Module):
            shape = _declared(model)
            takes_lengths = _accepts_lengths(model)

            def call(batch: Any) -> Any:
                if takes_lengths and batch.x.dim() == 3:
                    return model(batch.x, lengths=batch.lengths)
                return model(batch.x)

            return cls(model, call, shape, _describe(model, layer_type), model)
        raise TypeError(
            problem(
                "explain() traces a model",
                "a Sequential, a layer, a task model (Classifier, Forecaster ...) "
                "or a torch.nn.Module made of layers",
                type(model).__name__,
                "build one, e.g. ts.Sequential([ts.LSTM(10), ts.Dense(1)], "
                "input_shape=(3, 1))",
            )
        )


def _copy(model: Any) -> Any:
    """A deep copy to trace on, so that carried state and modes stay untouched."""
    try:
        return copy.deepcopy(model)
    except Exception as error:  # an uncopyable attribute: trace the model itself
        logger.debug("tracing the model itself, deepcopy failed: %s", error)
        return model


def _shape(shape: Any) -> tuple[int | None, ...] | None:
    if shape is None:
        return None
    return tuple(None if s is None else int(s) for s in shape)


def _declared(module: torch.nn.Module) -> tuple[int | None, ...] | None:
    for name in ("input_shape", "declared_input_shape"):
        shape = _shape(getattr(module, name, None))
        if shape is not None:
            return shape
    for child in module.children():  # the first layer of a container
        shape = _declared(child)
        if shape is not None:
            return shape
    return None


def _accepts_lengths(module: torch.nn.Module) -> bool:
    try:
        parameters = inspect.signature(module.forward).parameters
    except (TypeError, ValueError):
        return False
    return "lengths" in parameters


def _is_container(module: torch.nn.Module, layer_type: type) -> bool:
    """A layer that only holds other layers in order (``Sequential``)."""
    layers = getattr(module, "layers", None)
    return (
        isinstance(layers, (list, tuple, torch.nn.ModuleList))
        and all(isinstance(layer, layer_type) for layer in layers)
        and len(layers) > 0
    )


def _describe(module: torch.nn.Module, layer_type: type) -> str:
    """Keras-style: ``Sequential([LSTM(300), Dense(20)], input_shape=(20, 1))``."""
    if _is_container(module, layer_type):
        layers: Any = module.layers
        inner = ", ".join(repr(layer) for layer in layers)
        shape = _declared(module)
        tail = f", input_shape={shape}" if shape is not None else ""
        return f"{type(module).__name__}([{inner}]{tail})"
    if isinstance(module, layer_type):
        return repr(module)
    if isinstance(module, torch.nn.ModuleList):
        return "[" + ", ".join(_describe(m, layer_type) for m in module) + "]"
    parts = [
        f"{name}={_describe(child, layer_type)}"
        for name, child in module.named_children()
        if _has_layers(child, layer_type) or any(True for _ in child.parameters())
    ]
    return f"{type(module).__name__}({', '.join(parts)})"


def _has_layers(module: torch.nn.Module, layer_type: type) -> bool:
    return any(isinstance(m, layer_type) for m in module.modules())


# -- the batch ----------------------------------------------------------------------


def _batch(
    subject: _Subject, data: Any, batch_size: int | None, example_length: int
) -> tuple[Any, list[str]]:
    from ..data.batches import Batch
    from ..data.sequence_set import SequenceSet

    if data is None:
        return _dummy(subject, batch_size or DUMMY_BATCH, example_length)
    if isinstance(data, Batch):
        return _take(data, batch_size), []
    make = getattr(subject.model, "batches", None)
    if callable(make) and hasattr(subject.model, "forward_batch"):
        # a task model checks, scales and views its data itself
        return _take(
            next(iter(make(data, batch_size=batch_size or DATA_BATCH))), None
        ), []
    if isinstance(data, SequenceSet):
        return _from_sequences(data, batch_size or DATA_BATCH), []
    if isinstance(data, (np.ndarray, torch.Tensor)):
        x = torch.as_tensor(np.asarray(data) if isinstance(data, np.ndarray) else data)
        x = x.to(torch.float32)
        if x.dim() not in (2, 3):
            raise ValueError(
                problem(
                    "data to trace on must be a batch (B, T, F) or (B, F)",
                    "2 or 3 axes",
                    f"{x.dim()} axes {tuple(x.shape)}",
                    "add a features axis with x[..., None] for one feature",
                )
            )
        x = x[:batch_size] if batch_size else x
        lengths = torch.full((x.shape[0],), x.shape[1] if x.dim() == 3 else 1)
        return Batch(x=x, lengths=lengths, index=torch.arange(x.shape[0])), []
    raise TypeError(
        problem(
            "data to trace on",
            "a SequenceSet, a (B, T, F) array or tensor, a Batch, or None",
            type(data).__name__,
            "pass ts.SequenceSet.from_arrays(...) or a numpy array (B, T, F)",
        )
    )


def _dummy(subject: _Subject, B: int, example_length: int) -> tuple[Any, list[str]]:
    from ..data.batches import Batch

    shape = subject.input_shape
    if shape is None:
        raise ValueError(
            problem(
                f"explain() needs an input shape for {type(subject.model).__name__}",
                "a model with input_shape=(T, F), or data to trace on",
                "no declared input shape and data=None",
                "pass data=x with a (B, T, F) array, or build the model with "
                "input_shape=(T, F)",
            )
        )
    notes = ["a dummy batch of random values"]
    sizes = [example_length if s is None else int(s) for s in shape]
    if len(shape) == 2 and shape[0] is None:
        notes.append(
            f"input_shape has T=None (any length), so T={example_length} is an "
            "example; every layer works the same for any T"
        )
    x = torch.randn(B, *sizes)
    lengths = torch.full((B,), sizes[0] if len(sizes) == 2 else 1)
    batch = Batch(x=x, lengths=lengths, index=torch.arange(B))
    _dummy_extras(subject.model, batch)
    return batch, notes


def _dummy_extras(model: Any, batch: Any) -> None:
    """Static features and known-future inputs for a task model that takes them:
    zeros of the sizes it learned (``static_names_``) or its network declares
    (``static_features``, ``future_features`` over ``horizon`` steps)."""
    B = batch.x.shape[0]
    network = getattr(model, "network", None)
    n_static = len(getattr(model, "static_names_", None) or [])
    n_static = n_static or int(getattr(network, "static_features", 0) or 0)
    if n_static:
        batch.static = torch.zeros(B, n_static)
    n_future = len(getattr(model, "known_names_", None) or [])
    n_future = n_future or int(getattr(network, "future_features", 0) or 0)
    horizon = getattr(model, "horizon", None) or getattr(network, "horizon", None)
    if n_future and horizon:
        batch.future = torch.zeros(B, int(horizon), n_future)


def _take(batch: Any, batch_size: int | None) -> Any:
    if batch_size is None or batch_size >= len(batch):
        return batch
    from ..data.batches import Batch

    picks = slice(0, batch_size)
    fields: dict[str, Any] = {
        name: value[picks] if isinstance(value, torch.Tensor) else value
        for name, value in vars(batch).items()
    }
    return Batch(**fields)


def _from_sequences(data: Any, batch_size: int) -> Any:
    """The first ``batch_size`` series, padded after their ends, missing values
    as zeros (tracing needs shapes, not values)."""
    from ..data.batches import Batches
    from ..data.views import InputView

    part = data.subset(np.arange(min(batch_size, len(data))))
    part = part.replace(values=np.nan_to_num(part.values))
    batches = Batches(
        InputView(part), batch_size=len(part), shuffle=False, bucket=False
    )
    return next(iter(batches))


# -- hooks ----------------------------------------------------------------------------


class _Record:
    def __init__(self, path: str, part: str, module: torch.nn.Module) -> None:
        self.path, self.part, self.module = path, part, module
        self.calls = 0
        self.order = -1
        self.x: torch.Tensor | None = None
        self.output: torch.Tensor | None = None
        self.states: list[torch.Tensor] = []
        self.source: _Record | str | None = None
        self.state_from: _Record | None = None
        self.fed_back_from: _Record | None = None  # a later layer's output


class _Tracer:
    def __init__(self, subject: _Subject, layer_type: type) -> None:
        self.subject, self.layer_type = subject, layer_type
        self.records: list[_Record] = []
        self.called: list[_Record] = []
        self.made: dict[int, tuple[_Record, str]] = {}  # id(tensor) -> who, role
        self.keep: list[torch.Tensor] = []  # ids stay unique while traced
        self.inputs: set[int] = set()

    def targets(self) -> Iterator[tuple[str, str, torch.nn.Module]]:
        root = self.subject.root
        if self._is_leaf(root):
            yield "", "", root
            return
        yield from self._walk(root, "", "", top=True)

    def _is_leaf(self, module: torch.nn.Module) -> bool:
        if isinstance(module, self.layer_type):
            return not _is_container(module, self.layer_type)
        own = any(True for _ in module.parameters(recurse=False))
        return own and not any(True for _ in module.children())

    def _walk(
        self, module: torch.nn.Module, prefix: str, part: str, top: bool
    ) -> Iterator[tuple[str, str, torch.nn.Module]]:
        """Outermost layers under ``module``. A model made of parts (children
        that hold layers: encoder, decoder, head) names each row's part."""
        children = list(module.named_children())
        in_parts = top and not _is_container(module, self.layer_type)
        in_parts = in_parts and any(not self._is_leaf(c) for _, c in children)
        for name, child in children:
            path = f"{prefix}.{name}" if prefix else name
            child_part = name if in_parts else part
            if self._is_leaf(child):
                yield path, child_part, child
            else:
                yield from self._walk(child, path, child_part, top=False)

    def run(self, batch: Any) -> torch.Tensor | None:
        handles = []
        for path, part, module in self.targets():
            record = _Record(path, part, module)
            self.records.append(record)
            handles.append(
                module.register_forward_hook(self._hook(record), with_kwargs=True)
            )
        for value in vars(batch).values():
            if isinstance(value, torch.Tensor):
                self.inputs.add(id(value))
        self.subject.root.eval()
        try:
            with torch.no_grad():
                output = self.subject.call(batch)
        finally:
            for handle in handles:
                handle.remove()
        first = _tensors(output)
        return first[0] if first else None

    def _hook(self, record: _Record) -> Callable[..., None]:
        def hook(
            module: torch.nn.Module,
            args: tuple[Any, ...],
            kwargs: dict[str, Any],
            output: Any,
        ) -> None:
            record.calls += 1
            if record.calls > 1:
                self._fed_back(record, args, kwargs)
                return
            record.order = len(self.called)
            self.called.append(record)
            inputs = _tensors((args, kwargs))
            record.x = inputs[0] if inputs else None
            if record.x is not None:
                record.source = self._maker(record.x)
            for tensor in inputs[1:]:
                maker = self.made.get(id(tensor))
                if maker is not None and maker[1] == "state":
                    record.state_from = maker[0]
            outputs = _tensors(output)
            record.output = outputs[0] if outputs else None
            record.states = outputs[1:]
            for role, tensors in (("output", outputs[:1]), ("state", outputs[1:])):
                for tensor in tensors:
                    self.made[id(tensor)] = (record, role)
                    self.keep.append(tensor)

        return hook

    def _fed_back(self, record: _Record, args: Any, kwargs: Any) -> None:
        """On a later call: is the input the output of a layer that ran after
        this one (a decoder reading its own last prediction)?"""
        inputs = _tensors((args, kwargs))
        maker = self.made.get(id(inputs[0])) if inputs else None
        if maker is not None and maker[1] == "output" and maker[0].order > record.order:
            record.fed_back_from = maker[0]

    def _maker(self, x: torch.Tensor) -> _Record | str | None:
        maker = self.made.get(id(x))
        if maker is not None and maker[1] == "output":
            return maker[0]
        return "input" if id(x) in self.inputs else None

    def rows(self, batch: Any) -> list[LayerRow]:
        rows: list[LayerRow] = []
        letters: dict[int, str] = {}
        for record in self.called:
            row = self._row(record, letters, batch)
            letters[id(record)] = "".join(row.output_letters)
            rows.append(row)
        return rows

    def _row(self, record: _Record, letters: dict[int, str], batch: Any) -> LayerRow:
        module: Any = record.module
        x, y = record.x, record.output
        in_shape: list[int | None] = [] if x is None else list(x.shape)
        out_shape: list[int | None] = [] if y is None else list(y.shape)
        source = record.source
        if isinstance(source, _Record):
            in_letters = letters[id(source)]
        else:
            in_letters = _letters(len(in_shape))
        out_letters = _letters(len(out_shape))
        is_layer = isinstance(module, self.layer_type)
        if is_layer:
            axes = module.output_axes(in_letters)
            if len(axes) == len(out_shape):
                out_letters = axes
            breakdown = module.param_breakdown(tuple(in_shape[1:]))
            counts = (
                breakdown.count,
                breakdown.formula,
                breakdown.keras_count,
                breakdown.keras_formula,
            )
        else:
            counts = _torch_counts(module)
        return LayerRow(
            path=record.path,
            part=record.part,
            kind=type(module).__name__,
            spec=repr(module) if is_layer else repr(module).split("\n")[0],
            input_shape=in_shape,
            input_letters=list(in_letters),
            output_shape=out_shape,
            output_letters=list(out_letters),
            params=int(counts[0]),
            formula=str(counts[1]),
            keras_params=int(counts[2]),
            keras_formula=str(counts[3]),
            config=_config(module, self.layer_type),
            cell=_cell(module, self.layer_type),
            calls=record.calls,
            source=source.order if isinstance(source, _Record) else None,
            state_from=None if record.state_from is None else record.state_from.order,
            fed_back_from=_order(record.fed_back_from),
            states=[list(s.shape) for s in record.states],
        )


def _order(record: _Record | None) -> int | None:
    return None if record is None else record.order


def _tensors(value: Any) -> list[torch.Tensor]:
    """Every tensor in a nest of tuples, lists and dicts, in order."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for item in value for t in _tensors(item)]
    if isinstance(value, dict):
        return [t for item in value.values() for t in _tensors(item)]
    return []


def _letters(rank: int) -> str:
    return {1: "B", 2: "BF", 3: "BTF"}.get(rank, "B" + "?" * max(rank - 1, 0))


def _torch_counts(module: torch.nn.Module) -> tuple[int, str, int, str]:
    """A plain torch module: its parameters' sizes added up."""
    parts, count = [], 0
    for name, p in module.named_parameters():
        count += p.numel()
        parts.append(" x ".join(str(s) for s in p.shape) + f" ({name})")
    formula = " + ".join(parts) or "0"
    return count, formula, count, formula


def _inner(module: torch.nn.Module, layer_type: type) -> torch.nn.Module | None:
    """The layer a wrapper (Bidirectional, TimeDistributed) runs."""
    for name in ("layer", "forward_layer", "cell"):
        inner = getattr(module, name, None)
        if isinstance(inner, torch.nn.Module) and isinstance(inner, layer_type):
            return inner
    return None


def _cell(module: torch.nn.Module, layer_type: type) -> str | None:
    for klass in type(module).__mro__:
        if klass.__name__ in RECURRENT:
            return klass.__name__
    inner = _inner(module, layer_type)
    if inner is not None and type(module).__name__ == "Bidirectional":
        return _cell(inner, layer_type)
    return None


def _config(module: torch.nn.Module, layer_type: type) -> dict[str, Any]:
    """The attributes explain and diagram read, as JSON-able values."""
    out: dict[str, Any] = {}
    inner = _inner(module, layer_type)
    for source in (inner, module):
        if source is None:
            continue
        for key in CONFIG_KEYS:
            value = getattr(source, key, None)
            if isinstance(value, (bool, int, str)) or (
                isinstance(value, (tuple, list))
                and all(isinstance(v, int) for v in value)
            ):
                out[key] = list(value) if isinstance(value, tuple) else value
    if inner is not None:
        out["inner"] = repr(inner)
    if type(module).__name__ == "Bidirectional":
        out["bidirectional"] = True
    return out


def _other_row(count: int) -> LayerRow:
    return LayerRow(
        path="",
        part="",
        kind="other",
        spec="(parameters outside the traced layers)",
        input_shape=[],
        input_letters=[],
        output_shape=[],
        output_letters=[],
        params=count,
        formula=f"{count}",
        keras_params=count,
        keras_formula=f"{count}",
    )

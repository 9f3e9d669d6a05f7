"""Saving and loading models: JSON for what they are, safetensors for weights.

A saved model is a folder with two files:

- ``model.json``: ``"format": 1``, the model kind and its constructor
  arguments, what it learned besides weights (feature names, scaler, classes,
  target scaling), the network's layers (``class_name`` + ``config`` of each),
  and the SHA-256 digest and tensor list of the weights file;
- ``weights.safetensors``: every tensor of the network's ``state_dict``.

Loading rebuilds the network from the JSON and fills in the weights. Nothing is
unpickled and only the package's own model, network and layer classes can be
named, so loading never runs code from the files. A damaged, truncated or
edited file is refused with a ValueError naming the file and what is wrong.
Both files are written to temporary files first and moved into place.

>>> import tempfile, torch, timesteps as ts
>>> from timesteps.layers import LSTM, Dense, Sequential
>>> net = Sequential([LSTM(4), Dense(1)], input_shape=(None, 2))
>>> folder = tempfile.mkdtemp()
>>> _ = save(net, folder)
>>> again = ts.load(folder)
>>> x = torch.randn(3, 5, 2)
>>> torch.equal(net.eval()(x), again(x))
True
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, cast

import torch

from .._errors import problem
from .._files import write_atomic
from ..layers import Sequential
from .base import TaskModel
from .builders import network_config, network_from_config

FORMAT = 1
MODEL_FILE = "model.json"
WEIGHTS_FILE = "weights.safetensors"


def save(obj: TaskModel | Sequential, path: str | Path) -> Path:
    """Write a fitted task model or a ``Sequential`` to the folder ``path``
    (created if needed); returns the folder."""
    from safetensors.torch import save as save_tensors

    from .. import __version__

    folder = Path(path)
    if isinstance(obj, Sequential):
        kind, network, config, state, custom = "Sequential", obj, None, None, False
    elif isinstance(obj, TaskModel):
        obj._check_fitted("save")
        assert obj.network is not None  # fitted
        kind, network = obj.kind, cast(Sequential, obj.network)
        config, state, custom = obj._init_config(), obj._state(), obj.custom_network
    else:
        raise TypeError(
            problem(
                "save takes a timesteps model",
                "a task model (Classifier, Forecaster, ...) or a Sequential",
                type(obj).__name__,
            )
        )
    tensors = {
        name: value.detach().cpu().contiguous().clone()
        for name, value in network.state_dict().items()
    }
    blob = save_tensors(tensors, metadata={"format": str(FORMAT)})
    document = {
        "format": FORMAT,
        "library": "timesteps",
        "version": __version__,
        "kind": kind,
        "config": config,
        "custom_network": custom,
        "network": network_config(network),
        "state": state,
        "weights": {
            "file": WEIGHTS_FILE,
            "sha256": hashlib.sha256(blob).hexdigest(),
            "tensors": {
                name: {
                    "dtype": str(t.dtype).removeprefix("torch."),
                    "shape": list(t.shape),
                }
                for name, t in tensors.items()
            },
        },
    }
    text = json.dumps(document, indent=1, allow_nan=False)
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / WEIGHTS_FILE, blob)
    write_atomic(folder / MODEL_FILE, text.encode("utf-8"))
    return folder


def load(path: str | Path) -> Any:
    """Read a model that :func:`save` (or ``model.save``) wrote: the task model,
    or the ``Sequential``, ready to predict, in evaluation mode.

    It predicts exactly what the saved model predicted (same weights, same
    scaler, same classes)."""
    folder = Path(path)
    model_file = folder / MODEL_FILE
    if not model_file.is_file():
        raise FileNotFoundError(
            problem(
                "no saved model there",
                f"a folder with {MODEL_FILE} and {WEIGHTS_FILE}",
                f"{folder} without {MODEL_FILE}",
                "pass the folder given to model.save()",
            )
        )
    document = _read_document(model_file)
    network = _read_network(document, model_file)
    _load_weights(network, document, folder / WEIGHTS_FILE)
    network.eval()
    if document["kind"] == "Sequential":
        return network
    model = _new_model(document, model_file)
    try:
        model._set_state(document["state"])
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(
            problem(
                f"{model_file}: the learned state of the {document['kind']}",
                "feature names, scaler and targets as save() wrote them",
                f"an unreadable state ({type(error).__name__}: {error})",
                "the file was edited or damaged: save the model again",
            )
        ) from None
    model.network = network
    model.custom_network = bool(document.get("custom_network"))
    return model


def _models() -> dict[str, type[TaskModel]]:
    from .autoencoder import Autoencoder
    from .classifier import Classifier, Regressor
    from .forecaster import Forecaster
    from .generator import Generator
    from .tagger import Tagger

    kinds: list[type[TaskModel]] = [
        Classifier,
        Regressor,
        Tagger,
        Forecaster,
        Generator,
        Autoencoder,
    ]
    return {cls.kind: cls for cls in kinds}


def _read_document(model_file: Path) -> dict[str, Any]:
    try:
        document = json.loads(model_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(
            problem(
                f"{model_file} is not a readable saved model",
                "the JSON that model.save() wrote",
                f"invalid JSON ({error})",
                "the file is damaged or truncated: save the model again",
            )
        ) from None
    if not isinstance(document, dict) or document.get("library") != "timesteps":
        raise ValueError(
            problem(
                f"{model_file} is not a timesteps model",
                'a JSON object with "library": "timesteps"',
                f"{type(document).__name__}",
                "pass the folder given to model.save()",
            )
        )
    if document.get("format") != FORMAT:
        raise ValueError(
            problem(
                f"{model_file}: unsupported format",
                f'"format": {FORMAT}',
                f'"format": {document.get("format")!r}',
                "load it with the timesteps version that saved it "
                f"({document.get('version')!r})",
            )
        )
    kinds = ["Sequential", *_models()]
    if document.get("kind") not in kinds:
        raise ValueError(
            problem(
                f"{model_file}: unknown model kind",
                "one of " + ", ".join(kinds),
                repr(document.get("kind")),
                "the file was edited or damaged: save the model again",
            )
        )
    weights = document.get("weights")
    if not isinstance(weights, dict) or not isinstance(weights.get("sha256"), str):
        raise ValueError(
            problem(
                f"{model_file}: the weights' description is missing",
                'a "weights" entry with "sha256" and "tensors"',
                repr(weights)[:80],
                "the file was edited or damaged: save the model again",
            )
        )
    return document


def _read_network(document: dict[str, Any], model_file: Path) -> torch.nn.Module:
    try:
        return network_from_config(document.get("network"))
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as error:
        raise ValueError(
            problem(
                f"{model_file}: the network's layers cannot be rebuilt",
                "the layer configurations that model.save() wrote",
                f"{type(error).__name__}: {error}",
                "the file was edited or damaged: save the model again",
            )
        ) from None


def _load_weights(
    network: torch.nn.Module, document: dict[str, Any], weights_file: Path
) -> None:
    from safetensors.torch import load as load_tensors

    if not weights_file.is_file():
        raise ValueError(
            problem(
                f"the weights file is missing: {weights_file}",
                f"{WEIGHTS_FILE} beside {MODEL_FILE}",
                "no such file",
                "copy the whole folder that model.save() wrote",
            )
        )
    blob = weights_file.read_bytes()
    digest = hashlib.sha256(blob).hexdigest()
    expected = document["weights"]["sha256"]
    if digest != expected:
        raise ValueError(
            problem(
                f"{weights_file} does not match {MODEL_FILE}",
                f"SHA-256 {expected[:16]}... ({MODEL_FILE})",
                f"SHA-256 {digest[:16]}... of {len(blob)} bytes",
                "the weights file was changed or truncated: save the model again",
            )
        )
    try:
        tensors = load_tensors(blob)
    except Exception as error:  # safetensors raises its own error type
        raise ValueError(
            problem(
                f"{weights_file} is not a readable safetensors file",
                "the tensors that model.save() wrote",
                f"{type(error).__name__}: {error}",
                "save the model again",
            )
        ) from None
    try:
        network.load_state_dict(tensors, strict=True)
    except RuntimeError as error:
        raise ValueError(
            problem(
                f"{weights_file} does not fit the network in {MODEL_FILE}",
                "one tensor of the right shape for every weight",
                str(error).splitlines()[0][:200],
                "save the model again",
            )
        ) from None


def _new_model(document: dict[str, Any], model_file: Path) -> TaskModel:
    cls = _models()[document["kind"]]
    config = document.get("config")
    try:
        return cls(**dict(config or {}))
    except (TypeError, ValueError) as error:
        raise ValueError(
            problem(
                f"{model_file}: the {cls.kind}'s configuration",
                f"the constructor arguments of {cls.kind}",
                f"{type(error).__name__}: {error}",
                "the file was edited or damaged: save the model again",
            )
        ) from None

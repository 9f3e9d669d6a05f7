"""Checkpoints: everything needed to continue a run exactly, written atomically.

One file, ``checkpoint.safetensors`` in the run's folder, rewritten at the end of
every epoch. Tensors (weights, optimiser moments, the best epoch's weights, the
torch generator state) are safetensors entries; everything else (epoch, history,
early-stopping state, optimiser hyperparameters, numpy and ``random`` generator
states) is JSON in the file's metadata, with tensors referenced by name.
Loading never unpickles anything, so a checkpoint cannot run code. A SHA-256
digest of the JSON and every tensor's bytes is stored too: a truncated or edited
file is refused with a ValueError instead of silently loading wrong numbers.

The file is written to a temporary file in the same folder, flushed, fsynced and
moved over the old one with ``os.replace``: a crash leaves either the old
checkpoint or the new one, never half of one.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch

from .._errors import problem
from .._files import write_atomic
from .history import History

FILENAME = "checkpoint.safetensors"
_FORMAT = "timesteps.checkpoint"
_VERSION = "1"


@dataclass
class Checkpoint:
    """The state of a run at the end of an epoch.

    ``epoch`` counts completed epochs; ``stopping`` holds the early-stopping state
    (``best``, ``wait``, ``stopped``); ``best_module`` the weights of the best epoch
    when early stopping keeps them; ``rng`` the generator states from
    :func:`capture_rng`.
    """

    epoch: int
    module: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    history: History
    stopping: dict[str, Any]
    best_module: dict[str, torch.Tensor] | None
    rng: dict[str, Any]


def checkpoint_path(folder: str | Path) -> Path:
    """Where a run whose ``checkpoint_dir`` is ``folder`` keeps its checkpoint."""
    return Path(folder) / FILENAME


# -- generator states ----------------------------------------------------------


def capture_rng() -> dict[str, Any]:
    """The states of Python's ``random``, numpy's global generator and torch's
    generators (CPU, and CUDA when it is in use)."""
    kind, keys, position, has_gauss, gauss = cast(
        tuple[str, np.ndarray, int, int, float], np.random.get_state(legacy=True)
    )
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": (kind, keys.tolist(), position, has_gauss, gauss),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    """Put the generators back in the states :func:`capture_rng` returned."""
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
    kind, keys, position, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, np.uint32), position, has_gauss, gauss))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(list(state["cuda"]))


# -- writing -------------------------------------------------------------------


def save_checkpoint(folder: str | Path, checkpoint: Checkpoint) -> Path:
    """Write ``checkpoint`` atomically to ``folder/checkpoint.safetensors``."""
    from safetensors.torch import save

    tensors: dict[str, torch.Tensor] = {}
    state = {
        "epoch": checkpoint.epoch,
        "module": _encode(checkpoint.module, tensors, "module"),
        "optimizer": _encode(checkpoint.optimizer, tensors, "optimizer"),
        "history": checkpoint.history.to_dict(),
        "stopping": _encode(checkpoint.stopping, tensors, "stopping"),
        "best_module": _encode(checkpoint.best_module, tensors, "best"),
        "rng": _encode(checkpoint.rng, tensors, "rng"),
    }
    text = json.dumps(state)
    metadata = {
        "format": _FORMAT,
        "version": _VERSION,
        "state": text,
        "digest": _digest(text, tensors),
    }
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = checkpoint_path(folder)
    write_atomic(path, save(tensors, metadata=metadata))
    return path


def _encode(value: Any, tensors: dict[str, torch.Tensor], prefix: str) -> Any:
    """JSON for ``value``, with each tensor moved into ``tensors`` and replaced by
    a reference to its name. Dict keys may be str, int, float, bool or None."""
    if isinstance(value, torch.Tensor):
        name = prefix
        tensors[name] = value.detach().to("cpu", copy=True).contiguous()
        return {"__tensor__": name}
    if isinstance(value, dict):
        items = []
        for key, item in value.items():
            if not isinstance(key, (str, int, float, bool, type(None))):
                raise TypeError(f"checkpoint dict keys must be simple, got {key!r}")
            items.append([key, _encode(item, tensors, f"{prefix}.{key}")])
        return {"__dict__": items}
    if isinstance(value, tuple):
        return {
            "__tuple__": [
                _encode(v, tensors, f"{prefix}.{i}") for i, v in enumerate(value)
            ]
        }
    if isinstance(value, list):
        return [_encode(v, tensors, f"{prefix}.{i}") for i, v in enumerate(value)]
    if isinstance(value, (str, int, float, bool, type(None))):
        return value
    raise TypeError(
        f"cannot store a {type(value).__name__} in a checkpoint ({prefix}): only "
        "tensors, numbers, strings, lists, tuples and dicts are stored"
    )


def _digest(text: str, tensors: dict[str, torch.Tensor]) -> str:
    digest = hashlib.sha256(text.encode())
    for name in sorted(tensors):
        tensor = tensors[name]
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


# -- reading -------------------------------------------------------------------


def load_checkpoint(folder: str | Path) -> Checkpoint:
    """Read the checkpoint in ``folder``; a damaged file raises ValueError."""
    from safetensors import safe_open

    path = checkpoint_path(folder)
    try:
        with safe_open(str(path), framework="pt") as file:
            metadata = file.metadata() or {}
            names = list(file.keys())  # safe_open is no mapping: keys() is needed
            tensors = {name: file.get_tensor(name) for name in names}
    except Exception as error:  # safetensors raises its own error types
        raise _damaged(
            path, f"an unreadable file ({type(error).__name__}: {error})"
        ) from None
    if metadata.get("format") != _FORMAT or metadata.get("version") != _VERSION:
        raise _damaged(
            path,
            f"format={metadata.get('format')!r} version={metadata.get('version')!r}",
        )
    text = metadata.get("state", "")
    if metadata.get("digest") != _digest(text, tensors):
        raise _damaged(path, "contents that do not match their SHA-256 digest")
    try:
        state = json.loads(text)
        return Checkpoint(
            epoch=int(state["epoch"]),
            module=_decode(state["module"], tensors),
            optimizer=_decode(state["optimizer"], tensors),
            history=History.from_dict(state["history"]),
            stopping=_decode(state["stopping"], tensors),
            best_module=_decode(state["best_module"], tensors),
            rng=_decode(state["rng"], tensors),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise _damaged(
            path, f"an incomplete state ({type(error).__name__}: {error})"
        ) from None


def _decode(value: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(value, list):
        return [_decode(v, tensors) for v in value]
    if isinstance(value, dict):
        if "__tensor__" in value:
            return tensors[value["__tensor__"]]
        if "__tuple__" in value:
            return tuple(_decode(v, tensors) for v in value["__tuple__"])
        return {key: _decode(item, tensors) for key, item in value["__dict__"]}
    return value


def _damaged(path: Path, received: str) -> ValueError:
    return ValueError(
        problem(
            f"checkpoint {path} cannot be used",
            "a complete timesteps checkpoint written by fit(checkpoint_dir=...)",
            received,
            "delete the file to start the run fresh, or point checkpoint_dir at "
            "an intact copy",
        )
    )

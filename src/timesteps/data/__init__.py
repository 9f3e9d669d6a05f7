"""The data layer: tables and arrays to checked, ragged series, task views and
length-bucketed batches. Nothing here pads a series or joins two of them."""

from __future__ import annotations

from .._lazy import lazy_exports

_EXPORTS = {
    "SequenceSet": ".sequence_set",
    "read_csv": ".tables",
    "read_parquet": ".tables",
    "Windows": ".windows",
    "Batch": ".batches",
    "Batches": ".batches",
    "Scaler": ".scaling",
    "SeriesTargetView": ".views",
    "StepTargetView": ".views",
    "ReconstructionView": ".views",
    "InputView": ".views",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = list(_EXPORTS)

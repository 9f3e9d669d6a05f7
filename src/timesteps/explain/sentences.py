"""Plain sentences for what is surprising in one traced model.

Each rule looks at the traced rows and says something only when it applies to
this model: a layer that keeps only the last step, what ``units`` means, a Dense
applied to every step, a strided Conv1D that shortens T, state carried between
batches, a repeated vector, a bidirectional layer, a time-distributed layer, and
where PyTorch and Keras count parameters differently.
"""

from __future__ import annotations

from .table import LayerRow

RECURRENT = ("SimpleRNN", "LSTM", "GRU")
STATE_NAMES = {"SimpleRNN": "h", "LSTM": "(h, c)", "GRU": "h"}


def sentences(rows: list[LayerRow], ragged: bool = False) -> list[str]:
    """All sentences that apply to ``rows``, in layer order.

    ``ragged``: the traced batch held series of different lengths, so "the last
    step" of a series is its own last real step, not the padded end.
    """
    out: list[str] = []
    units_said = False
    for i, row in enumerate(rows):
        following = rows[i + 1] if i + 1 < len(rows) else None
        if row.cell in RECURRENT:
            out += _recurrent(row, following, ragged)
            if not units_said:
                out.append(_units(row))
                units_said = True
        if row.kind == "Dense" and len(row.input_shape) == 3:
            out.append(_dense_per_step(row))
        if row.kind == "Conv1D":
            out += _conv(row)
        if row.kind == "RepeatVector":
            out.append(_repeat(row))
        if row.kind == "TimeDistributed":
            out.append(_time_distributed(row))
        if row.state_from is not None:
            out.append(_initial_state(row, rows[row.state_from]))
        if row.calls > 1:
            out.append(_calls(row, rows))
        if row.params != row.keras_params:
            out.append(_counts(row))
    return out


def _calls(row: LayerRow, rows: list[LayerRow]) -> str:
    one_step = len(row.input_shape) == 3 and row.input_shape[1] == 1
    per_call = ", one step per call" if one_step else ""
    back = ""
    if row.fed_back_from is not None:
        back = (
            f"; each call reads the output of {rows[row.fed_back_from].spec} from "
            "the call before (its own last prediction, fed back)"
        )
    return (
        f"{row.spec} runs {row.calls} times in one forward pass{per_call}, with the "
        f"same weights each time{back}; its parameters are counted once."
    )


def _each(shape: list[int | None]) -> str:
    """``each of the 20 steps``, or ``its one step``."""
    if len(shape) > 1 and shape[1] == 1:
        return "its one step"
    return f"each of the {_t(shape)} steps"


def _t(shape: list[int | None]) -> str:
    return "T" if shape[1] is None else str(shape[1])


def _recurrent(row: LayerRow, following: LayerRow | None, ragged: bool) -> list[str]:
    out = []
    size = row.output_shape[-1]
    steps = _t(row.input_shape)
    if len(row.input_shape) == 3 and len(row.output_shape) == 2:
        own = " (for a shorter series, its own last real step)" if ragged else ""
        out.append(
            f"The time axis disappears here: {row.spec} returns one vector of "
            f"{size} per sample, the state after the last of the {steps} steps"
            f"{own}: {row.shapes}."
        )
    elif len(row.output_shape) == 3:
        reader = ""
        if following is not None and len(following.input_shape) == 3:
            reader = f", so {following.spec} after it reads a sequence"
        out.append(
            f"{row.spec} keeps its output at every step (return_sequences=True): "
            f"one vector of {size} for {_each(row.output_shape)}, "
            f"{row.output_text}{reader}."
        )
    if row.config.get("bidirectional") or row.kind == "Bidirectional":
        out.append(_bidirectional(row, size))
    if row.config.get("stateful"):
        batch = row.input_shape[0]
        out.append(
            f"{row.spec} is stateful: the final state {STATE_NAMES[row.cell or 'LSTM']}"
            f" of row i of one batch is the initial state of row i of the next "
            f"batch, so each of the B={batch} rows must continue the same series "
            "from batch to batch (in order, not shuffled); call reset_states() "
            "before new series."
        )
    return out


def _bidirectional(row: LayerRow, size: int | None) -> str:
    units = row.config.get("units")
    inner = row.config.get("inner", f"{row.cell}({units})")
    mode = row.config.get("merge_mode", "concat")
    if mode == "concat":
        merged = f"concatenates them: {size} = 2 x {units} values out"
    else:
        merged = f"merges them by {mode}: {size} values out"
    return (
        f"{row.spec} reads the sequence twice, forwards and backwards, with two "
        f"{inner} layers and {merged}, with twice the parameters of one direction."
    )


def _units(row: LayerRow) -> str:
    units = row.config.get("units", row.output_shape[-1])
    steps, features = _t(row.input_shape), row.input_shape[-1]
    state = STATE_NAMES.get(row.cell or "", "h")
    return (
        f"{units} units is not one per timestep: H={units} is the size of the state "
        f"{state} that {row.spec} carries from one step to the next. The same "
        f"weights run at each of the {steps} steps, so H does not depend on "
        f"T={steps} or on F={features}."
    )


def _dense_per_step(row: LayerRow) -> str:
    return (
        f"{row.spec} gets a sequence and applies the same weights to "
        f"{_each(row.input_shape)} on its own: {row.shapes}."
    )


def _conv(row: LayerRow) -> list[str]:
    t_in, t_out = row.input_shape[1], row.output_shape[1]
    if t_in is None or t_out is None or t_in == t_out:
        return []
    k = row.config.get("kernel_size")
    s = row.config.get("strides", 1)
    d = row.config.get("dilation_rate", 1)
    padding = row.config.get("padding", "valid")
    k, s, d = (_first(v) for v in (k, s, d))
    how = ""
    if padding == "valid" and k is not None:
        span = f"{d} x ({k} - 1) + 1" if d != 1 else str(k)
        how = f" = floor(({t_in} - {span}) / {s}) + 1 (padding='valid')"
    elif padding in ("same", "causal"):
        how = f" = ceil({t_in} / {s}) (padding='{padding}')"
    return [
        f"{row.spec} shortens the time axis from T={t_in} to T={t_out}{how}; "
        f"every layer after it sees {t_out} steps, and series lengths shrink "
        "the same way."
    ]


def _first(value: object) -> int | None:
    if isinstance(value, (list, tuple)):
        return int(value[0])
    return None if value is None else int(value)  # type: ignore[call-overload]


def _repeat(row: LayerRow) -> str:
    n = row.output_shape[1]
    return (
        f"{row.spec} copies the vector of {row.input_shape[-1]} to {n} steps, "
        f"{row.shapes}: the layer after it gets the same input at every step."
    )


def _time_distributed(row: LayerRow) -> str:
    inner = row.config.get("inner", "its layer")
    return (
        f"{row.spec} applies {inner} to {_each(row.input_shape)} on its own, with "
        f"the same weights at every step: {row.shapes}."
    )


def _initial_state(row: LayerRow, source: LayerRow) -> str:
    where = f" in {source.part}" if source.part else ""
    here = f" in {row.part}" if row.part else ""
    return (
        f"{row.spec}{here} starts from the final state of {source.spec}{where}: "
        "that state is all it knows about the input sequence."
    )


def _counts(row: LayerRow) -> str:
    more = row.params - row.keras_params
    word = "more" if more > 0 else "fewer"
    why = ""
    if row.cell in RECURRENT and more > 0:
        why = (
            ": PyTorch keeps two bias vectors (input and recurrent) where Keras "
            "keeps one"
        )
    return (
        f"PyTorch counts {row.params:,} parameters for {row.spec}, Keras "
        f"{row.keras_params:,} ({abs(more):,} {word}){why}."
    )

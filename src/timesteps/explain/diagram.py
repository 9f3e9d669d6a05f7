"""Draw a network unrolled over its timesteps, as SVG (written by hand) or PNG
(the same layout drawn with matplotlib).

The picture is built bottom-up from an :class:`~timesteps.explain.table.Explanation`:
the inputs ``x_1 .. x_T`` at the bottom, one band per layer above them. A
recurrent layer is a row of cells, one per step, with its state passed from
each step to the next (``h``; ``h`` and ``c`` for an LSTM). Outputs that are kept
are solid arrows; with ``return_sequences=False`` only the last step's output is
kept and the others are drawn as short grey dashes. RepeatVector is a bar that
feeds every step above it, a Conv1D front shows fewer cells when its stride
shortens T, and parts of a model (encoder, decoder) are bracketed on the left.
Longer than ``MAX_FULL`` steps, the middle is elided into a "…" column.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from .._errors import problem
from .table import Explanation, LayerRow

MAX_FULL = 30  # up to this many steps are drawn one by one
ELIDED = 8  # cells drawn (first half, "…", second half) when eliding
DEFAULT_STEPS = 5  # unrolled length for a model whose T is None

COL_W = 78
BAND_H = 92
LEFT = 230
RIGHT = 230
PART_W = 96  # a column for part names (encoder, decoder) when a model has parts
TOP = 56
MIN_WIDTH = 640
BOTTOM = 56

COLORS = {
    "input": ("#eef0f3", "#6b7280"),
    "cell": ("#dbeafe", "#1d4ed8"),
    "dense": ("#ffedd5", "#c2410c"),
    "conv": ("#dcfce7", "#15803d"),
    "repeat": ("#ede9fe", "#6d28d9"),
    "other": ("#f3f4f6", "#374151"),
}
INK = "#111827"
MUTED = "#9ca3af"
STATE = "#1d4ed8"
BACKWARD = "#be185d"
FEEDBACK = "#b45309"


# -- the layout: boxes, lines and labels in pixels, y pointing down -------------


@dataclass
class Box:
    x: float  # centre
    y: float  # centre
    w: float
    h: float
    label: str
    kind: str


@dataclass
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    label: str = ""
    dashed: bool = False
    color: str = INK
    arrow: bool = True


@dataclass
class Label:
    x: float
    y: float
    text: str
    anchor: str = "start"  # start, middle, end
    size: float = 11
    bold: bool = False
    color: str = INK


@dataclass
class Layout:
    width: float
    height: float
    left: float = LEFT  # where the grid of steps starts
    label_x: float = 12  # where the layer names start (after the part names)
    right: float = RIGHT  # room for the shape labels after the grid
    grid_end: float = LEFT  # where the grid of steps ends
    boxes: list[Box] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)


@dataclass
class _Band:
    """One horizontal band: the input row or one layer."""

    row: LayerRow | None  # None for the model's input
    kind: str  # input, cell, dense, conv, repeat, other
    steps: list[int | None]  # the steps drawn (1-based), None for "…"
    per_step: bool  # one box per step, or one box for the band
    y: float = 0.0
    xs: list[float] = field(default_factory=list)
    boxes: list[Box | None] = field(default_factory=list)
    shape_text: str = ""  # the input band's shape, e.g. (B=2, T=20, F=1)
    dropped_drawn: bool = False


def shown_steps(T: int, n: int | None = None) -> list[int | None]:
    """The steps (1-based) to draw for a sequence of ``T`` steps when ``n`` are
    asked for; ``None`` marks the elided middle.

    >>> shown_steps(3)
    [1, 2, 3]
    >>> shown_steps(100)
    [1, 2, 3, 4, None, 97, 98, 99, 100]
    """
    n = T if n is None else n
    if n >= T and T <= MAX_FULL:
        return list(range(1, T + 1))
    m = max(2, n if n <= MAX_FULL else ELIDED)
    head, tail = (m + 1) // 2, m // 2
    return [*range(1, head + 1), None, *range(T - tail + 1, T + 1)]


def layout(explanation: Explanation, timesteps: int | None = None) -> Layout:
    """Place every box, arrow and label of the unrolled network."""
    rows = explanation.rows
    bands = [_input_band(explanation, timesteps)]
    bands += [_layer_band(row, timesteps) for row in rows]
    n_cols = max(len(b.steps) if b.per_step else 1 for b in bands)
    widest = max(_box_size(b.kind, _box_label(b, b.steps[-1] or 1))[0] for b in bands)
    grid = max(n_cols, 3) * max(COL_W, widest + 30)
    part_w = PART_W if any(row.part for row in rows) else 0
    names = ["input", *(row.spec for row in rows)]
    left = max(LEFT, part_w + 12 + max(_text_width(n, 12, True) for n in names) + 24)
    right = max(
        RIGHT, max(_text_width(r.output_text, 11) for r in rows) + 40 if rows else RIGHT
    )
    width = max(left + grid + right, MIN_WIDTH)
    title = _wrap(explanation.model, width - 24, 13)
    top = TOP + 18 * (len(title) - 1)
    height = top + BOTTOM + BAND_H * len(bands)
    out = Layout(width=width, height=height, left=left, label_x=12 + part_w)
    out.right, out.grid_end = right, left + grid
    for k, band in enumerate(bands):
        band.y = top + BAND_H * (len(bands) - 1 - k) + BAND_H / 2
        _place(band, out.left, grid, bands, k)
    for band in bands:
        _draw_band(out, band)
    for k in range(1, len(bands)):
        _connect(out, bands, k)
    _draw_parts(out, bands)
    _draw_top_outputs(out, bands[-1])
    for i, line in enumerate(title):
        out.labels.append(Label(12, 24 + 18 * i, line, size=13, bold=True))
    out.labels.append(
        Label(
            12,
            height - 18,
            "solid arrow: output kept   dashed grey: output dropped   "
            "blue: state to the next step"
            + (
                "   amber: output fed back as the next input"
                if any(r.fed_back_from is not None for r in rows)
                else ""
            ),
            size=10,
            color=MUTED,
        )
    )
    return out


def _input_band(explanation: Explanation, timesteps: int | None) -> _Band:
    first = explanation.rows[0] if explanation.rows else None
    shape = first.input_shape if first is not None else [None]
    text = first.input_text if first is not None else ""
    if len(shape) == 3 and shape[1] is not None:
        steps = shown_steps(shape[1], timesteps)
        return _Band(None, "input", steps, True, shape_text=text)
    return _Band(None, "input", [1], False, shape_text=text)


def _layer_band(row: LayerRow, timesteps: int | None) -> _Band:
    kind = _kind(row)
    steps_in = row.input_shape[1] if len(row.input_shape) == 3 else None
    if steps_in == 1 and row.calls > 1:  # one step per call: unroll the calls
        return _Band(row, kind, shown_steps(row.calls, timesteps), True)
    if kind == "repeat":
        return _Band(row, kind, shown_steps(row.output_shape[1] or 1, timesteps), False)
    if kind == "conv" and len(row.output_shape) == 3 and row.output_shape[1]:
        return _Band(row, kind, shown_steps(row.output_shape[1], timesteps), True)
    if steps_in is not None:
        return _Band(row, kind, shown_steps(steps_in, timesteps), True)
    return _Band(row, kind, [1], False)


def _kind(row: LayerRow) -> str:
    if row.cell is not None:
        return "cell"
    if row.kind == "RepeatVector":
        return "repeat"
    if row.kind == "Conv1D":
        return "conv"
    if row.kind in ("Dense", "TimeDistributed"):
        return "dense"
    return "other"


def _place(band: _Band, left: float, grid: float, bands: list[_Band], k: int) -> None:
    if band.per_step or band.kind == "repeat":
        width = grid / len(band.steps)
        band.xs = [left + width * (i + 0.5) for i in range(len(band.steps))]
    else:  # one box, above the step its input comes from
        source = _source_band(bands, k)
        x = source.xs[-1] if source is not None and source.xs else left + grid / 2
        band.xs = [x]


def _source_band(bands: list[_Band], k: int) -> _Band | None:
    row = bands[k].row
    if row is None:
        return None
    if row.source is not None:
        return bands[row.source + 1]
    return bands[0] if k == 1 else None


# -- bands ----------------------------------------------------------------------


def _draw_band(out: Layout, band: _Band) -> None:
    row = band.row
    title = "input" if row is None else row.spec
    shape = _output_text(row, band)
    out.labels.append(Label(out.label_x, band.y - 4, title, size=12, bold=True))
    if row is not None and row.calls > 1:
        out.labels.append(
            Label(
                out.label_x,
                band.y + 12,
                f"called {row.calls} times",
                size=10,
                color=MUTED,
            )
        )
    out.labels.append(Label(out.grid_end + 16, band.y + 4, shape, size=11))
    if band.kind == "repeat":
        _draw_repeat(out, band)
        return
    for x, step in zip(band.xs, band.steps, strict=True):
        if step is None:
            band.boxes.append(None)
            out.labels.append(Label(x, band.y + 5, "…", "middle", size=18))
            continue
        label = _box_label(band, step)
        w, h = _box_size(band.kind, label)
        box = Box(x, band.y, w, h, label, band.kind)
        band.boxes.append(box)
        out.boxes.append(box)
    if band.kind == "cell":
        _draw_states(out, band)


def _output_text(row: LayerRow | None, band: _Band) -> str:
    if row is None:
        return "x: " + band.shape_text
    return row.output_text


def _box_size(kind: str, label: str) -> tuple[float, float]:
    w, h = {
        "input": (42, 26),
        "cell": (54, 34),
        "dense": (50, 26),
        "conv": (50, 28),
        "repeat": (0, 22),
    }.get(kind, (58, 28))
    return max(w, _text_width(label, 10) + 12 if kind != "repeat" else 0), h


def _wrap(text: str, width: float, size: float) -> list[str]:
    """``text`` in lines that fit ``width`` pixels, broken after commas."""
    limit = max(20, int(width / (size * 0.66)))
    pieces = text.split(", ")
    lines, line = [], ""
    for i, piece in enumerate(pieces):
        piece += "," if i < len(pieces) - 1 else ""
        if line.strip() and len(line) + 1 + len(piece) > limit:
            lines.append(line)
            line = "    " + piece
        else:
            line = f"{line} {piece}" if line else piece
    lines.append(line)
    return lines


def _text_width(text: str, size: float, bold: bool = False) -> float:
    """A width estimate for DejaVu Sans: about 0.62 em per character."""
    return len(text) * size * (0.66 if bold else 0.6)


def _box_label(band: _Band, step: int) -> str:
    if band.row is None:
        return f"x_{step}" if band.per_step else "x"
    if band.kind == "cell":
        return band.row.cell or band.row.kind
    if band.kind == "conv":
        return f"conv {step}"
    if band.kind == "dense":
        return "Dense" if band.row.kind == "Dense" else "TD"
    return band.row.kind


def _draw_repeat(out: Layout, band: _Band) -> None:
    half = (band.xs[1] - band.xs[0]) / 2 if len(band.xs) > 1 else COL_W / 2
    left, right = band.xs[0] - half + 6, band.xs[-1] + half - 6
    box = Box(
        (left + right) / 2,
        band.y,
        right - left,
        22,
        f"same vector copied to {band.row.output_shape[1]} steps" if band.row else "",
        "repeat",
    )
    out.boxes.append(box)
    band.boxes = [box] * len(band.steps)


def _draw_states(out: Layout, band: _Band) -> None:
    row = band.row
    assert row is not None  # a cell band always has its layer
    names = ["h", "c"] if row.cell == "LSTM" else ["h"]
    backward = bool(row.config.get("bidirectional")) or row.kind == "Bidirectional"
    if backward:
        names = [", ".join(names)]
    offsets = [-8, 8] if len(names) == 2 else [0]
    if backward:
        offsets = [-8]
    for i in range(len(band.xs) - 1):
        a, b = band.xs[i], band.xs[i + 1]
        here, after = band.boxes[i], band.boxes[i + 1]
        elided = here is None or after is None
        x1 = a + (10 if here is None else here.w / 2)
        x2 = b - (10 if after is None else after.w / 2)
        for name, dy in zip(names, offsets, strict=True):
            out.lines.append(
                Line(x1, band.y + dy, x2, band.y + dy, name, dashed=elided, color=STATE)
            )
        if backward:
            out.lines.append(
                Line(x2, band.y + 8, x1, band.y + 8, "←", dashed=elided, color=BACKWARD)
            )


# -- connections between bands ----------------------------------------------------


def _connect(out: Layout, bands: list[_Band], k: int) -> None:
    band = bands[k]
    row = band.row
    assert row is not None  # bands above the input are layers
    source = _source_band(bands, k)
    if row.state_from is not None:
        _state_link(out, bands[row.state_from + 1], band)
    if row.fed_back_from is not None:
        _feedback(out, bands[row.fed_back_from + 1], band)
    if source is None:  # read a tensor made outside the layers
        _stub_inputs(out, band, row)
        return
    if band.kind == "conv":
        _conv_links(out, source, band, row)
    elif band.per_step and source.per_step and source.steps == band.steps:
        for s_box, t_box in zip(source.boxes, band.boxes, strict=True):
            if s_box is not None and t_box is not None:
                _up(out, s_box, t_box, source)
    elif band.per_step and source.kind == "repeat":
        for x, t_box in zip(band.xs, band.boxes, strict=True):
            if t_box is not None:
                out.lines.append(Line(x, source.y - 11, x, _bottom(t_box)))
    else:
        start = _output_point(source)
        target = band.boxes[0] if band.boxes and band.boxes[0] else None
        end_y = (
            band.y + 11
            if band.kind == "repeat"
            else (_bottom(target) if target else band.y)
        )
        if band.kind == "repeat":
            end_x = min(max(start[0], band.xs[0]), band.xs[-1])
        elif band.per_step:
            end_x = band.xs[len(band.xs) // 2]
        else:
            end_x = band.xs[0]
        out.lines.append(Line(start[0], start[1], end_x, end_y))
    if source.kind == "cell" and source.row is not None:
        _dropped(out, source, keep_all=len(source.row.output_shape) == 3)


def _up(out: Layout, s_box: Box, t_box: Box, source: _Band) -> None:
    out.lines.append(Line(s_box.x, _top(s_box), t_box.x, _bottom(t_box)))


def _output_point(band: _Band) -> tuple[float, float]:
    """Where a band's kept output leaves it: the last drawn box's top."""
    boxes = [b for b in band.boxes if b is not None]
    if not boxes:
        return band.xs[-1], band.y
    last = boxes[-1]
    return last.x, _top(last)


def _dropped(out: Layout, band: _Band, keep_all: bool) -> None:
    """Grey dashes over the cells whose output a layer does not keep."""
    if keep_all or band.dropped_drawn:
        return
    band.dropped_drawn = True
    boxes = [b for b in band.boxes if b is not None]
    for box in boxes[:-1]:
        out.lines.append(
            Line(
                box.x,
                _top(box),
                box.x,
                _top(box) - 16,
                dashed=True,
                color=MUTED,
                arrow=False,
            )
        )


def _conv_links(out: Layout, source: _Band, band: _Band, row: LayerRow) -> None:
    k = _int(row.config.get("kernel_size"), 1)
    s = _int(row.config.get("strides"), 1)
    d = _int(row.config.get("dilation_rate"), 1)
    where = {
        step: box
        for step, box in zip(source.steps, source.boxes, strict=True)
        if step is not None and box is not None
    }
    for step, box in zip(band.steps, band.boxes, strict=True):
        if step is None or box is None:
            continue
        first = (step - 1) * s + 1
        for j in range(k):
            src = where.get(first + j * d)
            if src is not None:
                out.lines.append(
                    Line(
                        src.x,
                        _top(src),
                        box.x,
                        _bottom(box),
                        color="#15803d",
                        arrow=False,
                    )
                )


def _int(value: Any, default: int) -> int:
    if isinstance(value, (list, tuple)):
        value = value[0]
    return default if value is None else int(value)


def _state_link(out: Layout, source: _Band, band: _Band) -> None:
    src = [b for b in source.boxes if b is not None]
    dst = [b for b in band.boxes if b is not None]
    if not src or not dst:
        return
    names = "h, c" if source.row is not None and source.row.cell == "LSTM" else "h"
    last, first = src[-1], dst[0]
    # an elbow: out of the last cell's right side, up just above the source
    # band, left past the first cell, and into its left side
    x1, x2 = last.x + last.w / 2, first.x - first.w / 2
    above = last.y - BAND_H / 2 + 8
    points = [
        (x1, last.y),
        (x1 + 12, last.y),
        (x1 + 12, above),
        (x2 - 12, above),
        (x2 - 12, first.y),
        (x2, first.y),
    ]
    for i, ((a, b), (c, d)) in enumerate(itertools.pairwise(points)):
        out.lines.append(
            Line(
                a,
                b,
                c,
                d,
                f"initial {names}" if i == 2 else "",
                color=STATE,
                arrow=i == len(points) - 2,
            )
        )


def _stub_inputs(out: Layout, band: _Band, row: LayerRow) -> None:
    out.labels.append(
        Label(out.label_x, band.y + 26, f"input {row.input_text}", size=10, color=MUTED)
    )
    boxes = [b for b in band.boxes if b is not None]
    if row.fed_back_from is not None:
        boxes = boxes[:1]  # later calls read the fed-back output
    for box in boxes:
        out.lines.append(Line(box.x, _bottom(box) + 18, box.x, _bottom(box)))


def _feedback(out: Layout, source: _Band, band: _Band) -> None:
    """Dashed arrows from each call's output to the next call's input."""
    pairs = zip(source.boxes, band.boxes[1:], strict=False)
    for i, (made, reads) in enumerate(pairs):
        if made is None or reads is None:
            continue
        out.lines.append(
            Line(
                made.x + made.w / 2,
                made.y,
                reads.x - reads.w / 2 + 6,
                _bottom(reads) + 12,
                "fed back" if i == 0 else "",
                dashed=True,
                color=FEEDBACK,
                arrow=False,
            )
        )
        out.lines.append(
            Line(
                reads.x - reads.w / 2 + 6,
                _bottom(reads) + 12,
                reads.x - reads.w / 2 + 6,
                _bottom(reads),
                color=FEEDBACK,
            )
        )


def _draw_top_outputs(out: Layout, band: _Band) -> None:
    if band.row is None:
        return
    boxes = [b for b in band.boxes if b is not None]
    sequence = len(band.row.output_shape) == 3
    if band.kind == "cell" and not sequence:
        _dropped(out, band, keep_all=False)
    kept = boxes if sequence and band.per_step else boxes[-1:]
    for box in kept:
        out.lines.append(Line(box.x, _top(box), box.x, _top(box) - 22, "y"))


def _draw_parts(out: Layout, bands: list[_Band]) -> None:
    """Bracket the bands of each named part (encoder, decoder) on the left."""
    groups: list[tuple[str, list[_Band]]] = []
    for band in bands[1:]:
        part = band.row.part if band.row is not None else ""
        if groups and groups[-1][0] == part:
            groups[-1][1].append(band)
        else:
            groups.append((part, [band]))
    if len(groups) < 2 and not (groups and groups[0][0]):
        return
    for part, members in groups:
        if not part:
            continue
        top = min(b.y for b in members) - BAND_H / 2 + 6
        bottom = max(b.y for b in members) + BAND_H / 2 - 6
        x = PART_W - 6
        out.lines.append(Line(x, top, x, bottom, color=MUTED, arrow=False))
        out.labels.append(
            Label(
                x - 6,
                (top + bottom) / 2 + 4,
                part,
                "end",
                size=11,
                bold=True,
                color="#6b7280",
            )
        )


def _top(box: Box) -> float:
    return box.y - box.h / 2


def _bottom(box: Box) -> float:
    return box.y + box.h / 2


# -- SVG ------------------------------------------------------------------------


def to_svg(lay: Layout) -> str:
    """The layout as a standalone SVG document."""
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{lay.width:.0f}" '
        f'height="{lay.height:.0f}" viewBox="0 0 {lay.width:.0f} {lay.height:.0f}" '
        'font-family="DejaVu Sans, Helvetica, Arial, sans-serif">',
        "<defs>",
        *(
            f'<marker id="arrow{i}" viewBox="0 0 10 10" refX="9" refY="5" '
            f'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
            f'<path d="M 0 0 L 10 5 L 0 10 z" fill="{color}"/></marker>'
            for i, color in enumerate(_line_colors())
        ),
        "</defs>",
        f'<rect width="{lay.width:.0f}" height="{lay.height:.0f}" fill="white"/>',
    ]
    colors = _line_colors()
    for line in lay.lines:
        dash = ' stroke-dasharray="4 3"' if line.dashed else ""
        marker = (
            f' marker-end="url(#arrow{colors.index(line.color)})"'
            if line.arrow and line.color in colors
            else ""
        )
        parts.append(
            f'<line x1="{line.x1:.1f}" y1="{line.y1:.1f}" x2="{line.x2:.1f}" '
            f'y2="{line.y2:.1f}" stroke="{line.color}" stroke-width="1.4"'
            f"{dash}{marker}/>"
        )
        if line.label:
            x, y = (line.x1 + line.x2) / 2, (line.y1 + line.y2) / 2
            dy = -4 if line.y1 == line.y2 else 0
            dx = 0 if line.y1 == line.y2 else 6
            anchor = "middle" if line.y1 == line.y2 else "start"
            parts.append(
                _svg_text(
                    Label(x + dx, y + dy, line.label, anchor, 9, color=line.color)
                )
            )
    for box in lay.boxes:
        fill, stroke = COLORS.get(box.kind, COLORS["other"])
        parts.append(
            f'<rect x="{box.x - box.w / 2:.1f}" y="{box.y - box.h / 2:.1f}" '
            f'width="{box.w:.1f}" height="{box.h:.1f}" rx="5" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="1.2"/>'
        )
        parts.append(_svg_text(Label(box.x, box.y + 4, box.label, "middle", 10)))
    parts += [_svg_text(label) for label in lay.labels]
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _line_colors() -> list[str]:
    return [INK, MUTED, STATE, BACKWARD, "#15803d", FEEDBACK]


def _svg_text(label: Label) -> str:
    weight = ' font-weight="bold"' if label.bold else ""
    return (
        f'<text x="{label.x:.1f}" y="{label.y:.1f}" font-size="{label.size}" '
        f'text-anchor="{label.anchor}" fill="{label.color}"{weight}>'
        f"{escape(label.text)}</text>"
    )


# -- PNG ------------------------------------------------------------------------


def to_png(lay: Layout, path: Path, dpi: int = 100) -> None:
    """Draw the layout with matplotlib (Agg) and write a PNG."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    scale = 72 / dpi  # SVG pixels to points
    fig = plt.figure(figsize=(lay.width / dpi, lay.height / dpi), dpi=dpi)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, lay.width)
    ax.set_ylim(lay.height, 0)
    ax.axis("off")
    for line in lay.lines:
        ax.add_patch(
            FancyArrowPatch(
                (line.x1, line.y1),
                (line.x2, line.y2),
                arrowstyle="-|>" if line.arrow else "-",
                mutation_scale=9,
                color=line.color,
                linewidth=1.2,
                linestyle=(0, (4, 3)) if line.dashed else "solid",
                shrinkA=0,
                shrinkB=0,
            )
        )
        if line.label:
            horizontal = line.y1 == line.y2
            ax.text(
                (line.x1 + line.x2) / 2 + (0 if horizontal else 6),
                (line.y1 + line.y2) / 2 - (4 if horizontal else 0),
                line.label,
                ha="center" if horizontal else "left",
                va="bottom",
                fontsize=9 * scale,
                color=line.color,
            )
    for box in lay.boxes:
        fill, stroke = COLORS.get(box.kind, COLORS["other"])
        ax.add_patch(
            FancyBboxPatch(
                (box.x - box.w / 2, box.y - box.h / 2),
                box.w,
                box.h,
                boxstyle="round,pad=0,rounding_size=5",
                facecolor=fill,
                edgecolor=stroke,
                linewidth=1.1,
            )
        )
        ax.text(
            box.x,
            box.y,
            box.label,
            ha="center",
            va="center",
            fontsize=10 * scale,
            color=INK,
        )
    for label in lay.labels:
        ha = {"start": "left", "middle": "center", "end": "right"}[label.anchor]
        ax.text(
            label.x,
            label.y,
            label.text,
            ha=ha,
            va="baseline",
            fontsize=label.size * scale,
            color=label.color,
            fontweight="bold" if label.bold else "normal",
        )
    fig.savefig(path, format="png", dpi=dpi, facecolor="white")
    plt.close(fig)


# -- the public function --------------------------------------------------------


def diagram(
    model: Any,
    path: str | Path,
    timesteps: int | None = None,
    data: Any = None,
) -> Path:
    """Draw ``model`` unrolled over its timesteps and write it to ``path``.

    Args:
        model: a ``Sequential``, a task model, a module made of layers, or an
            :class:`Explanation` already made by :func:`timesteps.explain`.
        path: where to write; ``.svg`` or ``.png`` picks the format.
        timesteps: how many steps to draw. Default: the model's T (a model
            whose T is None is unrolled over 5 steps). Up to 30 steps are drawn
            one by one; beyond that, or when fewer than T are asked for, the
            middle steps become a "…" column.
        data: a batch to trace on, as for :func:`timesteps.explain`.

    Returns:
        The path written.

    >>> import pathlib, tempfile, timesteps as ts
    >>> net = ts.Sequential([ts.LSTM(8), ts.Dense(1)], input_shape=(4, 1))
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> ts.diagram(net, folder / "lstm.svg").name
    'lstm.svg'
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".svg", ".png"):
        raise ValueError(
            problem(
                "diagram file type",
                "a path ending in .svg or .png",
                repr(str(path)),
                f"write to {path.with_suffix('.svg').name!r} "
                f"or {path.with_suffix('.png').name!r}",
            )
        )
    if timesteps is not None and (
        isinstance(timesteps, bool) or not isinstance(timesteps, int) or timesteps < 1
    ):
        raise ValueError(
            problem(
                "timesteps (steps to draw, T)",
                "an integer >= 1 or None",
                repr(timesteps),
                "pass e.g. timesteps=5",
            )
        )
    explanation = _explanation(model, timesteps, data)
    _check_steps(explanation, timesteps)
    lay = layout(explanation, timesteps)
    if suffix == ".svg":
        path.write_text(to_svg(lay), encoding="utf-8")
    else:
        to_png(lay, path)
    return path


def _explanation(model: Any, timesteps: int | None, data: Any) -> Explanation:
    if isinstance(model, Explanation):
        return model
    from .explain import trace

    return trace(model, data=data, example_length=timesteps or DEFAULT_STEPS)


def _check_steps(explanation: Explanation, timesteps: int | None) -> None:
    shape = explanation.rows[0].input_shape if explanation.rows else []
    T = shape[1] if len(shape) == 3 else None
    if timesteps is not None and T is not None and timesteps > T:
        raise ValueError(
            problem(
                "timesteps to draw",
                f"at most the model's T={T}",
                f"timesteps={timesteps}",
                f"pass timesteps<={T}, or build the "
                "model with input_shape=(None, F) to unroll any length",
            )
        )

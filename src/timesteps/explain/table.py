"""The result of :func:`timesteps.explain`: one row per layer, totals, sentences.

Shapes are written in the axis vocabulary (``timesteps._shapes``). Which letter
a size gets depends on what made the tensor:

| tensor                                   | letters                   |
|------------------------------------------|---------------------------|
| the model's input                        | ``(B, T, F)`` or ``(B, F)`` |
| a recurrent layer's output               | ``(B, T, H)`` or ``(B, H)`` |
| a Dense (or TimeDistributed Dense) output | ``(B, H)`` or ``(B, T, H)`` |
| a Conv1D output (features for the next layer) | ``(B, T, F)``         |
| RepeatVector's output                    | ``(B, T, <letter of its input>)`` |

H is ``units`` wherever a layer has them: the state size of a recurrent layer
and the output size of a Dense layer (the vocabulary of DESIGN.md, and the
letters each layer's ``output_axes`` gives, so tables and error messages agree).
A bidirectional layer's H is the merged size (2 x units for ``concat``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from .._shapes import format_shape
from ._render import Rendered


@dataclass
class LayerRow:
    """One outermost layer as it ran on the traced batch.

    ``source`` is the row whose output this layer read (None: the model's
    input or a tensor computed outside the layers); ``state_from`` the row whose
    returned states were passed in as this layer's initial state;
    ``fed_back_from`` the later row whose output came back as this layer's input
    on its next call (recursive decoding, ``calls`` > 1).
    """

    path: str
    part: str
    kind: str
    spec: str
    input_shape: list[int | None]
    input_letters: list[str]
    output_shape: list[int | None]
    output_letters: list[str]
    params: int
    formula: str
    keras_params: int
    keras_formula: str
    config: dict[str, Any] = field(default_factory=dict)
    cell: str | None = None
    calls: int = 1
    source: int | None = None
    state_from: int | None = None
    fed_back_from: int | None = None
    states: list[list[int | None]] = field(default_factory=list)

    @property
    def input_text(self) -> str:
        return format_shape(self.input_shape, self.input_letters)

    @property
    def output_text(self) -> str:
        return format_shape(self.output_shape, self.output_letters)

    @property
    def shapes(self) -> str:
        """``(B=50, T=3, F=1) -> (B=50, H=10)``."""
        return f"{self.input_text} -> {self.output_text}"


@dataclass
class Explanation(Rendered):
    """Every layer of a model with its shapes and parameters, traced on a batch.

    ``str()`` is a plain-text table, a rich console shows a rich table, and
    ``to_dict()``/``to_json()`` give the same content as data.
    """

    model: str
    input_shape: list[int | None]
    batch: str
    rows: list[LayerRow]
    total_params: int
    total_keras_params: int
    sentences: list[str]
    notes: list[str] = field(default_factory=list)

    # -- data -------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain data; every row also carries its ``shapes`` string."""
        out = asdict(self)
        for row, data in zip(self.rows, out["rows"], strict=True):
            data["shapes"] = row.shapes
        return out

    def to_json(self, **kwargs: Any) -> str:
        """``to_dict()`` as JSON text; :meth:`from_json` reads it back."""
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Explanation:
        names = {f.name for f in fields(LayerRow)}
        rows = [
            LayerRow(**{k: v for k, v in r.items() if k in names}) for r in data["rows"]
        ]
        own = {f.name for f in fields(cls)} - {"rows"}
        return cls(rows=rows, **{k: v for k, v in data.items() if k in own})

    @classmethod
    def from_json(cls, text: str) -> Explanation:
        return cls.from_dict(json.loads(text))

    def row(self, spec_or_path: str) -> LayerRow:
        """The first row whose spec (``"LSTM(300)"``) or path matches."""
        for row in self.rows:
            if spec_or_path in (row.spec, row.path):
                return row
        raise KeyError(spec_or_path)

    # -- rendering --------------------------------------------------------------

    @property
    def _has_parts(self) -> bool:
        return any(row.part for row in self.rows)

    def _columns(self) -> list[str]:
        names = ["layer", "input -> output", "params", "formula"]
        if self._has_parts:
            names.insert(0, "part")
        if self._keras_differs:
            names += ["Keras params", "Keras formula"]
        return names

    @property
    def _keras_differs(self) -> bool:
        return any(r.params != r.keras_params for r in self.rows)

    def _cells(self) -> list[list[str]]:
        table = []
        for row in self.rows:
            layer = row.spec if row.calls == 1 else f"{row.spec} x{row.calls} calls"
            cells = [layer, row.shapes, f"{row.params:,}", row.formula]
            if self._has_parts:
                cells.insert(0, row.part)
            if self._keras_differs:
                same = row.params == row.keras_params
                cells += [
                    "" if same else f"{row.keras_params:,}",
                    "" if same else row.keras_formula,
                ]
            table.append(cells)
        return table

    def _total_cells(self) -> list[str]:
        cells = ["total", "", f"{self.total_params:,}", "PyTorch"]
        if self._has_parts:
            cells.insert(0, "")
        if self._keras_differs:
            cells += [f"{self.total_keras_params:,}", "Keras"]
        return cells

    def _traced_on(self) -> str:
        return "; ".join([f"traced on {self.batch}", *self.notes])

    def _plain(self) -> str:
        header = self._columns()
        body = [*self._cells(), self._total_cells()]
        widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
        numeric = {i for i, h in enumerate(header) if "params" in h}

        def line(cells: list[str]) -> str:
            parts = [
                c.rjust(w) if i in numeric else c.ljust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            ]
            return "  ".join(parts).rstrip()

        rule = "  ".join("-" * w for w in widths)
        lines = [self.model, self._traced_on(), ""]
        lines += [line(header), rule, *(line(c) for c in body[:-1]), rule]
        lines.append(line(body[-1]))
        if self.sentences:
            lines.append("")
            lines += [f"- {s}" for s in self.sentences]
        return "\n".join(lines)

    def _rich_parts(self) -> list[Any]:
        from rich.table import Table
        from rich.text import Text

        table = Table(title=self.model, title_justify="left", show_footer=False)
        for name in self._columns():
            numeric = "params" in name
            table.add_column(
                name,
                justify="right" if numeric else "left",
                style="bold" if name == "layer" else None,
            )
        for cells in self._cells():
            table.add_row(*cells)
        table.add_section()
        table.add_row(*self._total_cells(), style="bold")
        parts: list[Any] = [Text(self._traced_on(), style="dim")]
        parts.append(table)
        parts += [Text(f"• {s}") for s in self.sentences]
        return parts

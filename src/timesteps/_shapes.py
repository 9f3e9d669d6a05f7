"""The axis vocabulary, spelled one way everywhere.

| axis      | letter | meaning                                          |
|-----------|--------|--------------------------------------------------|
| samples   | B      | independent sequences; a batch is a slice of them |
| timesteps | T      | positions along one sequence                     |
| features  | F      | values measured at one step                      |
| units     | H      | size of a recurrent layer's state and output     |
| horizon   | h      | future steps a forecaster predicts               |
| lookback  | L      | past steps a forecaster reads                    |

>>> format_shape((50, 3, 1), "BTF")
'(B=50, T=3, F=1)'
>>> format_shape((None, 10), "BH")
'(B, H=10)'
"""

from __future__ import annotations

from collections.abc import Sequence

AXES: dict[str, str] = {
    "B": "samples",
    "T": "timesteps",
    "F": "features",
    "H": "units",
    "h": "horizon",
    "L": "lookback",
    "S": "static features",
    "K": "outputs",
}


def format_shape(shape: Sequence[int | None], letters: str | Sequence[str]) -> str:
    """Write a shape in the axis vocabulary: ``(B=50, T=3, F=1)``.

    A ``None`` size (unknown batch size, variable length) is written as the bare
    letter. When ``letters`` is shorter than the shape the extra sizes are written
    without a letter.
    """
    names = list(letters)
    parts = []
    for i, size in enumerate(shape):
        letter = names[i] if i < len(names) else ""
        if size is None:
            parts.append(letter or "?")
        elif letter:
            parts.append(f"{letter}={size}")
        else:
            parts.append(str(size))
    return "(" + ", ".join(parts) + ")"


def axis_name(letter: str) -> str:
    """The word for an axis letter: ``axis_name("T") == "timesteps"``."""
    return AXES[letter]

"""The working commands: describe, explain, train, predict, forecast, evaluate.

Each command reads its files, calls the library, and prints; no modelling logic
lives here. Heavy imports happen inside the command bodies.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .inputs import (
    Data,
    FeaturesOption,
    IdOption,
    StepsOption,
    TargetOption,
    TimeOption,
    read_data,
)
from .output import show


def register(app: typer.Typer) -> None:
    """Add the commands of this module to ``app``."""
    app.command()(describe)
    app.command()(explain)


def describe(
    data: Data,
    id: IdOption = None,
    time: TimeOption = None,
    steps: StepsOption = None,
    features: FeaturesOption = None,
    target: TargetOption = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", help="Planned series per batch.", min=1)
    ] = 32,
    json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Describe DATA: shape, lengths, missing values, padding.

    Prints the shape as B series, T timesteps, F features, the length
    distribution, missing values, time spacing, targets, and the share of a batch
    that would be padding."""
    from ..explain.describe import describe as describe_data

    sequences = read_data(
        data, id=id, time=time, steps=steps, features=features, target=target
    )
    summary = describe_data(sequences, batch_size=batch_size)
    if json:
        typer.echo(summary.to_json(indent=2))
    else:
        show(summary)


def explain(
    model_or_layers: Annotated[
        list[str] | None,
        typer.Argument(
            help='A saved MODEL_DIR, or layers such as "LSTM(300)" "Dense(20)" '
            "(with --input).",
            show_default=False,
        ),
    ] = None,
    input: Annotated[
        str | None,
        typer.Option(
            "--input",
            "--input-shape",
            help="Per-sample input shape T,F for layers, e.g. 20,1.",
        ),
    ] = None,
    json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    diagram: Annotated[
        Path | None,
        typer.Option(
            "--diagram", help="Also draw the network unrolled, to FILE.svg or .png."
        ),
    ] = None,
) -> None:
    """Explain a model layer by layer: shapes, parameters, formulas.

    Prints input and output shapes in the axis vocabulary, parameter counts with
    their formulas (PyTorch and Keras) and plain sentences.

    Example: timesteps explain --input 20,1 "LSTM(300)" "Dense(20)"
    """
    network = _network(model_or_layers or [], input)
    from ..explain import diagram as draw
    from ..explain import explain as explain_model

    explanation = explain_model(network)
    if json:
        typer.echo(explanation.to_json(indent=2))
    else:
        show(explanation)
    if diagram is not None:
        written = draw(explanation, diagram)
        typer.echo(f"diagram written to {written}", err=json)


def _network(arguments: list[str], input: str | None) -> object:
    """A loaded model (one existing folder) or a Sequential built from layer
    specs and ``--input``."""
    from .._errors import problem

    if len(arguments) == 1 and Path(arguments[0]).is_dir():
        if input is not None:
            raise ValueError(
                problem(
                    "--input applies to layer specs",
                    "a MODEL_DIR alone (its input shape is saved with it)",
                    f"{arguments[0]} with --input {input}",
                    "drop --input",
                )
            )
        from ..models import load

        return load(arguments[0])
    if not arguments:
        raise ValueError(
            problem(
                "explain needs a model",
                'a MODEL_DIR, or --input T,F and layers such as "LSTM(300)"',
                "nothing",
                'try: timesteps explain --input 20,1 "LSTM(300)" "Dense(20)"',
            )
        )
    if input is None:
        raise ValueError(
            problem(
                "layer specs need the per-sample input shape",
                "--input T,F (e.g. --input 20,1), or an existing MODEL_DIR",
                f"layers {' '.join(arguments)} without --input",
                "add --input T,F; a missing folder is read as a layer spec",
            )
        )
    from ..explain import parse_layers

    return parse_layers(arguments, input)

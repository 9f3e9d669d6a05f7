"""Commands around a saved model: train, predict, forecast, evaluate.

``train`` writes the model folder (``model.json``, ``weights.safetensors``), the
training history (``history.json``, ``history.png``) and ``data.json``, the
options that read its DATA (``--id``, ``--time``, ...), so that ``predict``,
``forecast`` and ``evaluate`` read new files the same way without repeating them
(an option given again wins).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .._errors import problem
from .inputs import (
    Data,
    FeaturesOption,
    IdOption,
    StepsOption,
    TargetOption,
    TimeOption,
    names,
    read_data,
    write_table,
)

if TYPE_CHECKING:
    from ..data.sequence_set import SequenceSet

DATA_FILE = "data.json"

TASKS = {
    "classify": "Classifier",
    "regress": "Regressor",
    "tag": "Tagger",
    "forecast": "Forecaster",
    "reconstruct": "Autoencoder",
}
CELLS = ("lstm", "gru", "rnn")

ModelDir = Annotated[
    Path,
    typer.Argument(help="A folder written by timesteps train.", show_default=False),
]
OutFile = Annotated[
    Path,
    typer.Option(
        "--out", help="Output table: FILE.csv or FILE.parquet.", show_default=False
    ),
]


def register(app: typer.Typer) -> None:
    """Add the model commands to ``app``."""
    app.command()(train)
    app.command()(predict)
    app.command()(forecast)
    app.command()(evaluate)


def train(
    data: Data,
    task: Annotated[
        str,
        typer.Option(
            "--task",
            help="classify | regress | tag | forecast | reconstruct.",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path,
        typer.Option("--out", help="The model folder to write.", show_default=False),
    ],
    id: IdOption = None,
    time: TimeOption = None,
    steps: StepsOption = None,
    features: FeaturesOption = None,
    target: Annotated[
        str | None,
        typer.Option(
            "--target",
            help="Target column(s); for forecast: the feature(s) to forecast "
            "(default: every feature not --known-future).",
        ),
    ] = None,
    lookback: Annotated[
        int | None, typer.Option("--lookback", min=1, help="forecast: L steps read.")
    ] = None,
    horizon: Annotated[
        int | None, typer.Option("--horizon", min=1, help="forecast: h steps forecast.")
    ] = None,
    strategy: Annotated[
        str, typer.Option("--strategy", help="forecast: direct | recursive | seq2seq.")
    ] = "direct",
    known_future: Annotated[
        str | None,
        typer.Option(
            "--known-future", help="forecast: features known in advance, e.g. hour."
        ),
    ] = None,
    cell: Annotated[str, typer.Option("--cell", help="lstm | gru | rnn.")] = "lstm",
    units: Annotated[int, typer.Option("--units", min=1, help="H per layer.")] = 32,
    layers: Annotated[
        int, typer.Option("--layers", min=1, help="Stacked recurrent layers.")
    ] = 1,
    epochs: Annotated[int, typer.Option("--epochs", min=0)] = 20,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 32,
    lr: Annotated[float, typer.Option("--lr", help="Learning rate.")] = 1e-3,
    validation: Annotated[
        float,
        typer.Option(
            "--validation",
            help="Share held out for validation (by series; by time for "
            "forecast); 0 for none.",
        ),
    ] = 0.2,
    checkpoint_dir: Annotated[
        Path | None,
        typer.Option("--checkpoint-dir", help="Write a checkpoint every epoch."),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue from --checkpoint-dir.")
    ] = False,
    device: Annotated[
        str,
        typer.Option("--device", help="cpu | cuda | cuda:N | auto (a GPU if any)."),
    ] = "cpu",
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite an existing model folder.")
    ] = False,
) -> None:
    """Train a model on DATA and save it to --out.

    A classifier on a long table (one row per patient and visit):

    timesteps train visits.csv --id patient --time visit --target outcome
    --task classify --out model/

    A forecaster of the next 20 steps from the last 20:

    timesteps train load.csv --id meter --time hour --task forecast
    --lookback 20 --horizon 20 --out fc/
    """
    import timesteps as ts

    from ..explain import describe

    kind = _choice(task, TASKS, "--task")
    _choice(cell, CELLS, "--cell")
    _check_out(out, force)
    forecasting = kind == "Forecaster"
    if forecasting and (lookback is None or horizon is None):
        raise ValueError(
            problem(
                "--task forecast needs the window sizes",
                "--lookback L and --horizon h",
                f"--lookback {lookback} --horizon {horizon}",
                "add e.g. --lookback 20 --horizon 20",
            )
        )
    if not forecasting and (lookback or horizon or known_future):
        raise ValueError(
            problem(
                "--lookback, --horizon and --known-future apply to --task forecast",
                "none of them",
                f"--task {task} with them",
                "drop them, or use --task forecast",
            )
        )
    needs_target = kind in ("Classifier", "Regressor", "Tagger")
    if needs_target and target is None:
        raise ValueError(
            problem(
                f"--task {task} learns a target",
                "--target COLUMN",
                "no --target",
                "name the column to predict",
            )
        )
    spec: dict[str, Any] = {"id": id, "time": time, "steps": steps}
    spec["features"] = features
    spec["target"] = target if needs_target else None
    sequences = read_data(data, **spec)
    options: dict[str, Any] = {"cell": cell, "units": units, "layers": layers}
    if forecasting:
        options.update(
            lookback=lookback,
            horizon=horizon,
            strategy=strategy,
            target=names(target),
            known_future=names(known_future),
        )
    model = getattr(ts, kind)(**options)
    typer.echo(f"training {kind} on {describe(sequences).shape}", err=True)
    history = model.fit(
        sequences,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        validation=validation or None,
        checkpoint_dir=checkpoint_dir,
        resume=resume,
        device=device,
    )
    model.save(out)
    (out / "history.json").write_text(history.to_json(), encoding="utf-8")
    if history.epochs:
        history.plot(out / "history.png")
    (out / DATA_FILE).write_text(
        json.dumps({"task": task, **spec}, indent=1), encoding="utf-8"
    )
    frame = history.to_frame()
    last = {k: frame[k].iloc[-1] for k in ("loss", "val_loss") if k in frame}
    shown = ", ".join(f"{k} {v:.4g}" for k, v in last.items())
    best = "" if history.best_epoch is None else f", best epoch {history.best_epoch}"
    typer.echo(f"trained {history.epochs} epochs ({shown}{best})")
    typer.echo(f"model saved to {out}")


def predict(
    model_dir: ModelDir,
    data: Data,
    out: OutFile,
    id: IdOption = None,
    time: TimeOption = None,
    steps: StepsOption = None,
    features: FeaturesOption = None,
) -> None:
    """Predict DATA with a saved model and write the results table.

    One row per series (classify, regress), per step (tag, reconstruct), or per
    series and forecast step (forecast), keyed by the series id.
    """
    model, spec = _load(model_dir)
    sequences = _read(
        data, spec, model, id=id, time=time, steps=steps, features=features
    )
    if type(model).__name__ == "Forecaster" and getattr(model, "known_names_", None):
        raise ValueError(
            problem(
                "this forecaster reads known-future features",
                "timesteps forecast with --future FILE (their future values)",
                f"predict on {model_dir}",
                f"run: timesteps forecast {model_dir} {data} --future FILE --out {out}",
            )
        )
    result = model.predict(sequences)
    written = write_table(_frame(result, sequences), out)
    typer.echo(f"{len(result)} rows written to {written}")


def forecast(
    model_dir: ModelDir,
    data: Data,
    out: OutFile,
    horizon: Annotated[
        int | None,
        typer.Option("--horizon", min=1, help="Steps to forecast (default: h)."),
    ] = None,
    future: Annotated[
        Path | None,
        typer.Option(
            "--future",
            help="Table of the known-future features after each series' end "
            "(same --id/--time columns).",
        ),
    ] = None,
    id: IdOption = None,
    time: TimeOption = None,
    steps: StepsOption = None,
    features: FeaturesOption = None,
) -> None:
    """Forecast the steps after the end of every series in DATA.

    Writes one row per series and forecast step: the id, step (1..h), time and
    one column per forecast feature.
    """

    model, spec = _load(model_dir)
    if type(model).__name__ != "Forecaster":
        raise ValueError(
            problem(
                "forecast needs a Forecaster",
                "a model trained with --task forecast",
                f"a {type(model).__name__} in {model_dir}",
                f"use: timesteps predict {model_dir} {data} --out FILE",
            )
        )
    known = list(getattr(model, "known_names_", None) or [])
    if known and future is None:
        raise ValueError(
            problem(
                "this forecaster reads known-future features over the horizon",
                f"--future FILE: a table with {known} after each series' end",
                "no --future",
                "write those values (same id and time columns as DATA) and pass "
                "--future FILE",
            )
        )
    sequences = _read(
        data, spec, model, id=id, time=time, steps=steps, features=features
    )
    future_table = None
    if future is not None:
        future_table = _future_table(future, sequences.meta.get("time_name"))
    result = model.predict(sequences, future=future_table, horizon=horizon)
    written = write_table(result, out)
    typer.echo(f"{len(result)} rows written to {written}")


def evaluate(
    model_dir: ModelDir,
    data: Data,
    id: IdOption = None,
    time: TimeOption = None,
    steps: StepsOption = None,
    features: FeaturesOption = None,
    target: TargetOption = None,
    folds: Annotated[
        int,
        typer.Option(
            "--folds",
            min=1,
            help="forecast: rolling origins, h steps apart, at the end of every "
            "series.",
        ),
    ] = 1,
) -> None:
    """Score a saved model on labelled DATA.

    A forecaster is scored on the last h steps of every series of DATA (from
    the steps before them), beside the naive and seasonal naive forecasts:
    MAE, RMSE, sMAPE (%) and MASE.
    """
    model, spec = _load(model_dir)
    sequences = _read(
        data,
        spec,
        model,
        keep_target=True,
        id=id,
        time=time,
        steps=steps,
        features=features,
        target=target,
    )
    if type(model).__name__ == "Forecaster":
        from ..forecast import backtest

        table = backtest(
            model,
            sequences,
            horizon=model.horizon,
            lookback=model.lookback,
            folds=folds,
            refit=False,
        )
        scores = table.groupby("method", sort=False)[
            ["mae", "rmse", "smape", "mase"]
        ].mean()
        season = table.attrs["season"]
        typer.echo(
            f"forecasts of h={model.horizon} steps from {folds} origin(s) per "
            f"series, {int(table['series'].max())} series; seasonal naive and "
            f"MASE with season {season}"
        )
        typer.echo(scores.to_string(float_format="{:.4f}".format))
        return
    metrics = model.evaluate(sequences)
    width = max(len(k) for k in metrics)
    for key, value in metrics.items():
        shown = f"{int(value)}" if key.startswith("n_") else f"{value:.4f}"
        typer.echo(f"{key:<{width}}  {shown}")


# -- helpers ----------------------------------------------------------------------


def _future_table(path: Path, time_name: str | None) -> Any:
    import pandas as pd
    from pandas.api import types

    if not path.is_file():
        raise FileNotFoundError(
            problem(
                "--future file not found",
                "an existing CSV or Parquet file",
                repr(str(path)),
            )
        )
    table = (
        pd.read_csv(path) if path.suffix.lower() == ".csv" else pd.read_parquet(path)
    )
    if time_name in table and (
        types.is_object_dtype(table[time_name])
        or types.is_string_dtype(table[time_name])
    ):
        table[time_name] = pd.to_datetime(table[time_name])
    return table


def _choice(value: str, choices: Any, option: str) -> str:
    from .._errors import near_matches

    if value not in choices:
        raise ValueError(
            problem(
                f"unknown {option}",
                " | ".join(choices),
                repr(value),
                near_matches(value, list(choices)),
            )
        )
    return choices[value] if isinstance(choices, dict) else value


def _check_out(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise FileExistsError(
            problem("--out must be a folder", "a folder", f"the file {str(out)!r}")
        )
    if out.is_dir() and any(out.iterdir()) and not force:
        raise FileExistsError(
            problem(
                f"--out folder {str(out)!r} is not empty",
                "a new or empty folder",
                f"{sum(1 for _ in out.iterdir())} entries in it",
                "choose another --out, or pass --force to overwrite the model",
            )
        )


def _load(model_dir: Path) -> tuple[Any, dict[str, Any]]:
    """The saved model and the options train read its DATA with."""
    from ..models import load

    model = load(model_dir)
    spec_file = model_dir / DATA_FILE
    spec = json.loads(spec_file.read_text()) if spec_file.is_file() else {}
    spec.pop("task", None)
    return model, spec


def _read(
    data: Path,
    spec: dict[str, Any],
    model: Any,
    keep_target: bool = False,
    **overrides: Any,
) -> SequenceSet:
    """Read DATA with the training options, those given again winning; without
    the target unless ``keep_target`` (new data to predict need not have it).
    A long table's features default to those the model was trained on."""
    options = {**spec, **{k: v for k, v in overrides.items() if v is not None}}
    if not keep_target:
        options["target"] = None
    trained_on = list(getattr(model, "feature_names_", None) or [])
    if not options.get("steps") and not options.get("features") and trained_on:
        options["features"] = ",".join(trained_on)
    if options.get("steps") and len(trained_on) == 1:
        options["wide_name"] = trained_on[0]
    return read_data(data, **options)


def _frame(result: Any, sequences: SequenceSet) -> Any:
    """Results as a table: a DataFrame as is, arrays keyed by series id."""
    import numpy as np
    import pandas as pd

    if isinstance(result, pd.DataFrame):
        return result
    array = np.asarray(result)
    frame = pd.DataFrame({"id": sequences.ids})
    if array.ndim == 1:
        frame["prediction"] = array
    else:
        for k in range(array.shape[1]):
            frame[f"prediction{k}"] = array[:, k]
    return frame

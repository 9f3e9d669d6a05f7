"""``timesteps demo``: the whole flow on the embedded data, in well under a minute.

1. A longitudinal classification like the bone-size study: 4,000 patients, a
   bone size at three monthly visits, a binary outcome. The wide table becomes a
   SequenceSet ``(B=4000, T=3, F=1)``, is described, a ``SimpleRNN(10)``
   classifier is explained layer by layer, trained, and scored on held-out
   patients beside two rules a statistician would try first.
2. A multi-series forecast: 20 hourly series, the next 20 hours from the last
   20 (with the hour of day known in advance), scored on the last 20 hours of
   every series beside the naive and seasonal naive forecasts (MAE, RMSE,
   sMAPE, MASE).

Everything it prints is also written, with plots, to the ``--out`` folder.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .output import out_dir, show

if TYPE_CHECKING:
    import numpy as np

    from ..data.sequence_set import SequenceSet


@dataclass(frozen=True)
class Sizes:
    """How big the demo's data and training are (``--quick`` shrinks them)."""

    patients: int
    classifier_epochs: int
    n_series: int
    series_length: int
    forecaster_epochs: int


FULL = Sizes(
    patients=4000,
    classifier_epochs=10,
    n_series=20,
    series_length=400,
    forecaster_epochs=8,
)
QUICK = Sizes(
    patients=800,
    classifier_epochs=3,
    n_series=6,
    series_length=160,
    forecaster_epochs=2,
)
LOOKBACK = 20
HORIZON = 20
VISITS = ["bone_m1", "bone_m2", "bone_m3"]


def register(app: typer.Typer) -> None:
    """Add ``demo`` to ``app``."""
    app.command()(demo)


def demo(
    ctx: typer.Context,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Folder for the plots and report.md (default: a new "
            "timesteps-demo-YYYYmmdd-HHMMSS in the current folder).",
            show_default=False,
        ),
    ] = None,
    quick: Annotated[
        bool,
        typer.Option(
            "--quick", help="Smaller data and fewer epochs: a smoke test, not a result."
        ),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Write into a non-empty --out folder.")
    ] = False,
) -> None:
    """Run the whole flow on embedded data: classify, forecast, explain.

    A longitudinal classification (patients, 3 visits, binary outcome) and a
    multi-series forecast (next 20 hours from the last 20), each scored beside
    simple baselines; writes plots, the unrolled network diagrams and report.md.
    """
    start = time.perf_counter()
    folder = out_dir(out, force, "timesteps-demo")
    threads = _threads(ctx)
    sizes = QUICK if quick else FULL
    report = [
        "# timesteps demo",
        "",
        f"Settings: {'--quick' if quick else 'full'} sizes, {threads} torch thread(s).",
    ]
    report += _classification(folder, sizes)
    report += _forecasting(folder, sizes)
    seconds = time.perf_counter() - start
    report += ["", f"Finished in {seconds:.1f} s.", ""]
    (folder / "report.md").write_text("\n".join(report), encoding="utf-8")
    _heading("Done")
    for path in sorted(folder.iterdir()):
        typer.echo(f"  wrote {path}")
    typer.echo(f"demo finished in {seconds:.1f} s")


# -- 1. longitudinal classification -----------------------------------------------


def _classification(folder: Path, sizes: Sizes) -> list[str]:
    import timesteps as ts

    from ..data.tables import from_wide
    from ..explain import describe, diagram, explain

    _heading("1. Longitudinal classification: bone size at 3 visits -> outcome")
    table = ts.datasets.bone_size(n_patients=sizes.patients)
    typer.echo(f"wide table: {len(table)} rows (patients), columns {list(table)}")
    data = from_wide(table, id="patient_id", steps={"bone": VISITS}, target="outcome")
    summary = describe(data, batch_size=50)
    show(summary)

    train, test = data.split(fraction=0.2, seed=0)
    model = ts.Classifier(cell="rnn", units=10, seed=0)
    history = model.fit(
        train, epochs=sizes.classifier_epochs, batch_size=50, lr=1e-2, verbose=0
    )
    _heading("The model, traced on a batch")
    explanation = explain(model, data=test)
    show(explanation)
    diagram(model, folder / "classifier_diagram.svg", timesteps=len(VISITS))
    history.plot(folder / "classifier_history.png")

    accuracy = {
        "SimpleRNN(10) classifier": model.evaluate(test)["accuracy"],
        **_classification_baselines(train, test),
    }
    _heading(f"Accuracy on {len(test)} held-out patients")
    width = max(len(name) for name in accuracy)
    for name, value in accuracy.items():
        typer.echo(f"  {name:<{width}}  {value:.3f}")
    typer.echo(
        f"trained {history.epochs} epochs on {len(train)} patients "
        f"(best epoch {history.best_epoch}); a growth rule is hard to beat on "
        "3 visits: the network has to discover the growth itself"
    )
    return [
        "",
        "## 1. Longitudinal classification",
        "",
        f"Data: {summary.shape} (the bone-size study, wide table with "
        f"columns {', '.join(VISITS)}).",
        "",
        f"Model: {explanation.total_params:,} parameters (Keras would count "
        f"{explanation.total_keras_params:,}).",
        "",
        "```",
        str(explanation),
        "```",
        "",
        f"| method | accuracy on {len(test)} held-out patients |",
        "|---|---|",
        *(f"| {name} | {value:.3f} |" for name, value in accuracy.items()),
        "",
        "![training history](classifier_history.png)",
        "",
        "![SimpleRNN unrolled over 3 visits](classifier_diagram.svg)",
    ]


def _classification_baselines(
    train: SequenceSet, test: SequenceSet
) -> dict[str, float]:
    """Majority class, and the best threshold on the growth (last - first visit),
    both learned on the training part only."""
    import numpy as np

    labels_train = np.asarray(train.target)
    labels_test = np.asarray(test.target)
    values, counts = np.unique(labels_train, return_counts=True)
    majority = values[counts.argmax()]

    def growth(data: SequenceSet) -> np.ndarray:
        last = data.values[data.offsets[1:] - 1, 0]
        first = data.values[data.offsets[:-1], 0]
        return (last - first).astype(np.float64)

    g_train, g_test = growth(train), growth(test)
    positive = values.max()
    cuts = np.quantile(g_train, np.linspace(0.01, 0.99, 99))
    scores = [((g_train > c) == (labels_train == positive)).mean() for c in cuts]
    cut = float(cuts[int(np.argmax(scores))])
    rule = ((g_test > cut) == (labels_test == positive)).mean()
    return {
        f"majority class ({majority})": float((labels_test == majority).mean()),
        f"rule: growth > {cut:.2f} mm": float(rule),
    }


# -- 2. multi-series forecast -------------------------------------------------------


def _forecasting(folder: Path, sizes: Sizes) -> list[str]:
    import timesteps as ts

    from ..data.tables import from_long
    from ..explain import describe, diagram, explain
    from ..forecast import backtest

    _heading(f"2. Forecasting: the next h={HORIZON} hours from the last L={LOOKBACK}")
    frame = ts.datasets.forecast_series(
        n_series=sizes.n_series, length=sizes.series_length
    )
    data = from_long(frame, id="series", time="time")
    typer.echo(f"long table: {len(frame)} rows; {describe(data).shape}")
    past, future = data.split_by_time(steps=HORIZON)
    model = ts.Forecaster(
        lookback=LOOKBACK,
        horizon=HORIZON,
        target="value",
        known_future=["hour_sin", "hour_cos"],
        units=32,
        seed=0,
    )
    history = model.fit(
        past, epochs=sizes.forecaster_epochs, batch_size=64, lr=1e-2, verbose=0
    )
    # traced on one batch of training windows: a known-future model reads the
    # hours of its horizon too, which neither a dummy batch nor the forecast
    # inputs carry (explain(model) alone fails on such a model today)
    windows = past.windows(
        LOOKBACK, HORIZON, target="value", known_future=["hour_sin", "hour_cos"]
    )
    batch = next(iter(windows.to_batches(batch_size=32, shuffle=False)))
    explanation = explain(model, data=batch)
    show(explanation)
    diagram(explanation, folder / "forecaster_diagram.svg")
    history.plot(folder / "forecaster_history.png")

    table = backtest(
        model, data, horizon=HORIZON, lookback=LOOKBACK, folds=1, refit=False
    )
    season = table.attrs["season"]
    scores = table.set_index("method")[["mae", "rmse", "smape", "mase"]]
    scores.index = [_method_name(m, season) for m in scores.index]
    _heading(
        f"Errors over the last {HORIZON} hours of {len(data)} series "
        "(never seen in training)"
    )
    typer.echo(scores.to_string(float_format="{:.3f}".format))
    typer.echo(
        f"MASE below 1 beats the seasonal naive rule (season {season}) as it "
        "did in-sample; sMAPE is in percent"
    )
    forecasts = model.forecast(past, future=future)  # (B, h, K)
    _forecast_plot(folder / "forecast.png", past, future, forecasts, season)
    return [
        "",
        "## 2. Forecasting",
        "",
        f"Data: {len(data)} hourly series of {sizes.series_length} steps; the "
        f"last {HORIZON} steps of every series are held out.",
        "",
        f"Model: {explanation.total_params:,} parameters, trained "
        f"{history.epochs} epochs.",
        "",
        "```",
        str(explanation),
        "```",
        "",
        "| method | MAE | RMSE | sMAPE (%) | MASE |",
        "|---|---|---|---|---|",
        *(
            f"| {name} | {r.mae:.3f} | {r.rmse:.3f} | {r.smape:.3f} | {r.mase:.3f} |"
            for name, r in scores.iterrows()
        ),
        "",
        "![forecasts](forecast.png)",
        "",
        "![training history](forecaster_history.png)",
        "",
        "![the forecaster unrolled](forecaster_diagram.svg)",
    ]


def _method_name(method: str, season: int) -> str:
    names = {
        "model": "Forecaster (LSTM)",
        "naive": "naive (last value)",
        "seasonal_naive": f"seasonal naive ({season} h)",
    }
    return names.get(method, method)


def _forecast_plot(
    path: Path,
    past: SequenceSet,
    future: SequenceSet,
    forecasts: np.ndarray,
    season: int,
    shown: int = 4,
) -> None:
    """History, truth, the model's and the seasonal naive forecasts of the first
    ``shown`` series, one panel each."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from ..forecast import seasonal_naive

    value = past.feature_names.index("value")
    n = min(shown, len(past))
    figure = Figure(figsize=(8.0, 2.2 * n), layout="constrained")
    FigureCanvasAgg(figure)
    for i in range(n):
        axes = figure.add_subplot(n, 1, i + 1)
        before = past.series(i)[-3 * LOOKBACK :, value]
        after = future.series(i)[:HORIZON, value]
        t_before = np.arange(-len(before), 0)
        t_after = np.arange(HORIZON)
        seasonal = seasonal_naive(past.series(i)[:, value], HORIZON, season)
        axes.plot(t_before, before, color="black", lw=1, label="history")
        axes.plot(t_after, after, color="black", lw=1, ls="--", label="truth")
        axes.plot(t_after, forecasts[i, :, 0], color="C0", label="Forecaster")
        axes.plot(t_after, seasonal, color="C1", alpha=0.8, label="seasonal naive")
        axes.axvspan(-LOOKBACK, 0, color="grey", alpha=0.1)
        axes.set_ylabel(str(past.ids[i]))
    figure.axes[0].legend(loc="upper left", ncols=4, fontsize="small")
    figure.axes[-1].set_xlabel("hours from the forecast origin (shaded: lookback)")
    figure.savefig(path, format="png", dpi=100)


# -- shared ----------------------------------------------------------------------


def _heading(text: str) -> None:
    typer.echo("")
    typer.echo(text)
    typer.echo("-" * len(text))


def _threads(ctx: typer.Context) -> int:
    """Torch threads for the demo: ``--threads`` if given, else 1 (its models are
    small, where one thread is as fast as two and unaffected by a busy machine)."""
    import torch

    chosen = (ctx.obj or {}).get("threads")
    torch.set_num_threads(chosen or 1)
    return int(torch.get_num_threads())

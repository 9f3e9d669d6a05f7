"""A longitudinal study: 4,000 patients, a bone size at three visits, an outcome.

The table a researcher has is wide: one row per patient, one column per
monthly visit (``bone_m1``, ``bone_m2``, ``bone_m3``) and a 0/1 outcome. The
questions this example answers with printed, computed shapes:

- why the ``(4000, 3)`` table is not yet model input, and why it becomes
  ``(B=4000, T=3, F=1)``: 4,000 samples, 3 timesteps, 1 feature per step;
- why ``SimpleRNN(10)`` returns ``(B, 10)`` and not one value per visit: 10 is
  the size of the state it carries from visit to visit (units H), not a number
  of steps, and its parameter count does not depend on T;
- whether the trained model learned anything: its accuracy on held-out
  patients beside the majority-class baseline;
- how to add a second feature (weight) measured at other visits, with 2 to 6
  visits per patient, without changing the model code: a long table, one row
  per (patient, month), read into ragged series with an observed mask and the
  time since each feature was last measured.

Run: ``python examples/01_longitudinal_outcome.py`` (``TIMESTEPS_EXAMPLE_SMALL=1``
for the quick version the tests run).
"""

from __future__ import annotations

import os

import numpy as np
import torch

import timesteps as ts
from timesteps import format_shape

VISITS = ["bone_m1", "bone_m2", "bone_m3"]


def make_model() -> ts.Classifier:
    """The one model definition used for both tables below."""
    return ts.Classifier(cell="rnn", units=10, seed=0)  # SimpleRNN(10) + Dense


def majority_accuracy(train: ts.SequenceSet, test: ts.SequenceSet) -> float:
    """Accuracy of always predicting the training part's most common outcome."""
    majority = np.bincount(train.target).argmax()
    return float((test.target == majority).mean())


def wide_table() -> ts.SequenceSet:
    table = ts.datasets.bone_size(n_patients=4000)
    print(f"1. the wide table: {table.shape[0]} rows x {table.shape[1]} columns")
    print(table.head(3).to_string(index=False))

    try:  # the naive way: the three visit columns as a 2-D array
        ts.SequenceSet.from_arrays(table[VISITS].to_numpy())
    except ValueError as error:
        print(f"   the bare (4000, 3) array is refused:\n   {error}")

    data = ts.SequenceSet.from_wide(
        table, id="patient_id", steps=VISITS, target="outcome"
    )
    x = np.stack([data.series(i) for i in range(len(data))])
    print(
        f"   from_wide: {len(data)} series; as model input "
        f"{format_shape(x.shape, 'BTF')}"
    )
    print(
        f"   patient {data.ids[0]}: its 3 visits are "
        f"{format_shape(data.series(0).shape, 'TF')} = "
        f"{data.series(0).ravel().astype(float).round(2).tolist()}"
    )
    return data


def simple_rnn_shapes(data: ts.SequenceSet) -> None:
    x = torch.from_numpy(np.stack([data.series(i) for i in range(len(data))]))
    rnn = ts.SimpleRNN(10)
    h = rnn(x)
    print("\n2. what SimpleRNN(10) returns")
    print(
        f"   {format_shape(tuple(x.shape), 'BTF')} -> SimpleRNN(10) -> "
        f"{format_shape(tuple(h.shape), 'BH')}: one state vector of H=10 per "
        f"patient, after the last visit"
    )
    seq = ts.SimpleRNN(10, return_sequences=True)(x)
    print(
        f"   return_sequences=True keeps every visit: "
        f"{format_shape(tuple(seq.shape), 'BTH')}"
    )
    for T in (3, 12):
        net = ts.Sequential([ts.SimpleRNN(10), ts.Dense(1)], input_shape=(T, 1))
        first = ts.explain(net).rows[0]
        print(
            f"   T={T:<2}: SimpleRNN(10) has {first.params} parameters "
            f"({first.formula}); Keras counts {first.keras_params} "
            f"({first.keras_formula})"
        )
    print(
        "   units H=10 is the state size; the same weights run at every step, so "
        "neither T nor H depends on the other"
    )


def train_and_compare(
    data: ts.SequenceSet, epochs: int, title: str
) -> tuple[float, float]:
    train, test = data.split(fraction=0.2, seed=0)
    model = make_model()
    history = model.fit(train, epochs=epochs, lr=0.03, batch_size=50, verbose=0)
    accuracy = model.evaluate(test)["accuracy"]
    baseline = majority_accuracy(train, test)
    print(f"\n{title}")
    print(
        f"   {len(train)} patients to train on, {len(test)} held out; "
        f"{len(history.loss)} epochs"
    )
    print(f"   held-out accuracy: model {accuracy:.3f}, majority class {baseline:.3f}")
    return accuracy, baseline


def long_table(n_patients: int) -> ts.SequenceSet:
    table = ts.datasets.bone_size_long(n_patients=n_patients)
    visits = table.groupby("patient_id")["bone_size"].count()
    print(
        f"\n4. a long table: {len(table)} rows (patient, month), bone size at "
        f"{visits.min()}..{visits.max()} visits, weight at other months"
    )
    print(table.head(5).to_string(index=False))
    grid = table.pivot(index="patient_id", columns="month", values="bone_size")
    print(
        f"   the naive wide layout (one column per month 0..12) would be "
        f"{grid.isna().to_numpy().mean():.0%} empty, and zero-filling it makes "
        f"'not measured' look like a bone size of 0"
    )

    data = ts.SequenceSet.from_long(
        table, id="patient_id", time="month", target="outcome", time_features=True
    )
    lengths = data.lengths
    print(
        f"   from_long: B={len(data)} series, T_i from {lengths.min()} to "
        f"{lengths.max()}, F={data.n_features}: {data.feature_names}"
    )
    i = int(np.argmax(lengths))
    print(f"   patient {data.ids[i]}, months {data.series_times(i).tolist()}:")
    for name, column in zip(data.feature_names, data.series(i).T, strict=True):
        print(f"     {name:<20} {column.astype(float).round(1).tolist()}")
    return data


def main(small: bool = False) -> None:
    torch.manual_seed(0)
    data = wide_table()
    simple_rnn_shapes(data)
    train_and_compare(
        data,
        epochs=6 if small else 20,
        title="3. Classifier(cell='rnn', units=10) on (B=4000, T=3, F=1)",
    )
    long_data = long_table(n_patients=1000 if small else 4000)
    train_and_compare(
        long_data,
        epochs=10 if small else 30,
        title="5. the same make_model() on the long table, nothing else changed",
    )


if __name__ == "__main__":
    main(small=os.environ.get("TIMESTEPS_EXAMPLE_SMALL") == "1")

"""fit: learning, exact repeatability, exact epoch means, early stopping, logs."""

from __future__ import annotations

import json
import logging
import math

import pytest
import torch
from toys import (
    ToyBatch,
    ToyBatches,
    ToyNet,
    abs_error,
    mse_loss,
    toy_data,
    toy_run,
)

from timesteps.training import History, TrainConfig, evaluate, fit


def _params(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _assert_same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name


def test_loss_decreases_on_a_learnable_task() -> None:
    _, history = toy_run(25, dropout=0.0)
    assert history.epochs == 25
    assert history.val_loss[-1] < 0.03
    assert history.val_loss[-1] < history.val_loss[0] / 10
    assert history.loss[-1] < history.loss[0] / 10


def test_two_runs_with_one_seed_give_identical_weights() -> None:
    first, history_a = toy_run(3)  # dropout 0.2: the generators matter
    second, history_b = toy_run(3)
    _assert_same(_params(first), _params(second))
    assert history_a.history == history_b.history
    third, _ = toy_run(3, seed=5)
    assert not torch.equal(first.head.weight, third.head.weight)


def test_epoch_values_are_weighted_means_over_elements() -> None:
    # Batches of 3 and 1 rows: a mean of batch means would weigh the single row
    # as much as the three others.
    torch.manual_seed(3)
    net = torch.nn.Linear(2, 1)
    start = _params(net)
    x = torch.randn(4, 2)
    y = torch.randn(4, 1)
    batches = [ToyBatch(x[:3], y[:3]), ToyBatch(x[3:], y[3:])]
    validation = [ToyBatch(x[1:], y[1:] + 1), ToyBatch(x[:1], y[:1] - 1)]

    def loss_fn(module, batch):
        return torch.nn.functional.mse_loss(module(batch.x), batch.y), len(batch.x)

    config = TrainConfig(epochs=1, optimizer="sgd", lr=0.1, clip_norm=None, verbose=0)
    history = fit(net, loss_fn, batches, validation, config, {"mae": abs_error})

    # the same steps by hand
    hand = torch.nn.Linear(2, 1)
    hand.load_state_dict(start)
    optimizer = torch.optim.SGD(hand.parameters(), lr=0.1)
    loss_sum = error_sum = 0.0
    batch_means = []
    for batch in batches:
        with torch.no_grad():
            error_sum += float((hand(batch.x) - batch.y).abs().sum())
        loss = torch.nn.functional.mse_loss(hand(batch.x), batch.y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        loss_sum += float(loss.detach()) * len(batch.x)
        batch_means.append(float(loss.detach()))
    _assert_same(_params(net), _params(hand))
    assert history.loss[0] == pytest.approx(loss_sum / 4, rel=1e-12)
    assert history.loss[0] != pytest.approx(sum(batch_means) / 2, rel=1e-3)
    assert history["mae"][0] == pytest.approx(error_sum / 4, rel=1e-12)
    with torch.no_grad():
        val_errors = torch.cat([hand(b.x) - b.y for b in validation])
    assert history.val_loss[0] == pytest.approx(float(val_errors.pow(2).mean()), 1e-6)
    assert history["val_mae"][0] == pytest.approx(float(val_errors.abs().mean()), 1e-6)
    assert evaluate(net, loss_fn, validation)["loss"] == pytest.approx(
        history.val_loss[0], rel=1e-12
    )


def test_early_stopping_restores_the_weights_of_the_best_epoch() -> None:
    # validation targets have the opposite sign: once training learns, the
    # validation loss rises and patience runs out
    def run(epochs, early_stopping=None, restore_best=True):
        torch.manual_seed(1)
        net = ToyNet()
        x, y = toy_data()
        train = ToyBatches(x[:64], y[:64], 16)
        validation = ToyBatches(x[64:], -y[64:], 16, shuffle=False)
        config = TrainConfig(
            epochs=epochs,
            lr=0.02,
            verbose=0,
            early_stopping=early_stopping,
            restore_best=restore_best,
        )
        return net, fit(net, mse_loss, train, validation, config)

    net, history = run(40, early_stopping=2)
    best = history.best_epoch
    assert history.stopped_early
    assert history.epochs == best + 2 < 40
    assert min(history.val_loss) == history.val_loss[best - 1]
    snapshot, _ = run(best)  # the same run, ended after the best epoch
    _assert_same(_params(net), _params(snapshot))
    last, kept = run(40, early_stopping=2, restore_best=False)
    _assert_same(_params(last), _params(run(history.epochs)[0]))
    assert kept.best_epoch == best
    assert not torch.equal(last.head.weight, net.head.weight)


def test_early_stopping_without_validation_watches_the_training_loss() -> None:
    torch.manual_seed(1)
    x, y = toy_data(32)
    config = TrainConfig(epochs=4, lr=0.01, verbose=0, early_stopping=1, min_delta=1e9)
    history = fit(ToyNet(), mse_loss, ToyBatches(x, y, 16), config=config)
    # nothing improves by 1e9: the first epoch stays best, one more epoch of
    # patience, then stop
    assert history.epochs == 2 and history.best_epoch == 1 and history.stopped_early
    history = fit(
        ToyNet(),
        mse_loss,
        ToyBatches(x, y, 16),
        config=config.replace(min_delta=0.0, early_stopping=None),
    )
    assert history.best_epoch == 1 + history.loss.index(min(history.loss))
    assert not history.stopped_early


def test_a_non_finite_loss_warns_and_stops() -> None:
    x, y = toy_data(32)

    def exploding(module, batch):
        loss, n = mse_loss(module, batch)
        return loss * math.inf, n

    config = TrainConfig(epochs=5, verbose=0)
    with pytest.warns(RuntimeWarning, match=r"training loss is (inf|nan) in epoch 1"):
        history = fit(ToyNet(), exploding, ToyBatches(x, y, 16), config=config)
    assert history.epochs == 1


def test_per_epoch_lines_are_logged_at_info(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="timesteps.training"):
        toy_run(2, verbose=1)
    lines = [r.getMessage() for r in caplog.records if "epoch" in r.getMessage()]
    assert [line.split(" - ")[0] for line in lines] == ["epoch 1/2", "epoch 2/2"]
    assert "val_loss" in lines[0] and "samples/s" in lines[0]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="timesteps.training"):
        toy_run(1, verbose=0)
    assert caplog.records == []


def test_the_progress_bar_draws_only_on_a_terminal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    toy_run(1, verbose=1)
    assert capsys.readouterr().err == ""
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    monkeypatch.setenv("COLUMNS", "160")
    toy_run(2, verbose=1)
    err = capsys.readouterr().err
    assert "epoch 1/2" in err and "epoch 2/2" in err and "4/4" in err


def test_the_module_keeps_its_mode_and_history_round_trips(tmp_path) -> None:
    net, history = toy_run(2)
    assert net.training
    again = History.from_json(history.to_json())
    assert again.to_dict() == history.to_dict()
    frame = history.to_frame()
    assert list(frame.index) == [1, 2] and frame.index.name == "epoch"
    assert list(frame.columns[:4]) == ["loss", "mae", "val_loss", "val_mae"]
    assert frame["val_loss"].tolist() == history.val_loss
    assert (frame["steps_per_s"] > 0).all()
    rows_per_step = frame["samples_per_s"] / frame["steps_per_s"]
    assert rows_per_step.tolist() == pytest.approx([16.0, 16.0])  # 64 rows, 4 steps
    path = history.plot(tmp_path / "history.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads(history.to_json())["best_epoch"] == history.best_epoch


def test_errors_name_the_problem_and_the_fix() -> None:
    x, y = toy_data(16)
    batches = ToyBatches(x, y, 8)
    quiet = TrainConfig(epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"loss: a scalar tensor.*received loss of"):
        fit(ToyNet(), lambda m, b: (m(b.x) - b.y, 8), batches, config=quiet)
    with pytest.raises(ValueError, match=r"unknown optimizer.*did you mean 'adam'"):
        TrainConfig(optimizer="adma")
    with pytest.raises(ValueError, match=r"resume=True needs.*checkpoint_dir"):
        TrainConfig(resume=True)
    with pytest.raises(ValueError, match=r"metric 'val_mae'"):
        fit(ToyNet(), mse_loss, batches, config=quiet, metrics={"val_mae": abs_error})
    with pytest.raises(ValueError, match=r"train: expected at least one batch"):
        fit(ToyNet(), mse_loss, [], config=quiet)
    with pytest.raises(TypeError, match=r"module: expected a torch.nn.Module"):
        fit(lambda x: x, mse_loss, batches, config=quiet)
    with pytest.raises(ValueError, match=r"at least one trainable parameter"):
        fit(torch.nn.ReLU(), mse_loss, batches, config=quiet)

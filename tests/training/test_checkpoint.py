"""Checkpoints: exact resume (in-process and after a killed process), atomic
writes, and refusal of damaged or foreign files."""

from __future__ import annotations

import logging
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from toys import ToyNet, toy_run

from timesteps.training import load_checkpoint
from timesteps.training.checkpoint import FILENAME

HERE = Path(__file__).parent
# early_stopping with a patience that never runs out: its state (best loss,
# best weights) is part of what a resumed run must carry on exactly
SETTINGS = {"early_stopping": 50}


def _assert_same_weights(a: torch.nn.Module, b: torch.nn.Module) -> None:
    a_state, b_state = a.state_dict(), b.state_dict()
    assert a_state.keys() == b_state.keys()
    for name in a_state:
        assert torch.equal(a_state[name], b_state[name]), name


@pytest.fixture(scope="module")
def straight() -> tuple[torch.nn.Module, object]:
    """Six epochs in one go: what every resumed run must reproduce."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return toy_run(6, **SETTINGS)
    finally:
        torch.set_num_threads(threads)


def test_three_epochs_then_resume_equals_six_straight(straight, tmp_path) -> None:
    toy_run(3, checkpoint_dir=tmp_path, **SETTINGS)
    assert load_checkpoint(tmp_path).epoch == 3
    resumed, history = toy_run(6, checkpoint_dir=tmp_path, resume=True, **SETTINGS)
    net, expected = straight
    _assert_same_weights(resumed, net)
    assert history.history == expected.history
    assert history.best_epoch == expected.best_epoch
    assert history.epochs == 6


def test_a_killed_run_resumes_to_the_uninterrupted_result(straight, tmp_path) -> None:
    # The worker trains with checkpoints and dies (os._exit, no cleanup) in the
    # middle of epoch 3: at its 10th step, with 4 steps per epoch.
    script = textwrap.dedent(
        f"""
        import os, sys
        sys.path.insert(0, {str(HERE)!r})
        import torch
        torch.set_num_threads(1)
        import toys

        calls = 0
        plain = toys.mse_loss

        def dying(module, batch):
            global calls
            calls += torch.is_grad_enabled()  # training steps only
            if calls == 10:
                os._exit(17)
            return plain(module, batch)

        toys.mse_loss = dying
        toys.toy_run(6, checkpoint_dir={str(tmp_path)!r}, **{SETTINGS!r})
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 17, done.stderr
    assert load_checkpoint(tmp_path).epoch == 2
    assert sorted(os.listdir(tmp_path)) == [FILENAME]  # no temporary file left
    resumed, history = toy_run(6, checkpoint_dir=tmp_path, resume=True, **SETTINGS)
    net, expected = straight
    _assert_same_weights(resumed, net)
    assert history.history == expected.history


def test_resuming_a_finished_run_changes_nothing(tmp_path) -> None:
    net, history = toy_run(2, checkpoint_dir=tmp_path)
    again, resumed = toy_run(2, checkpoint_dir=tmp_path, resume=True)
    _assert_same_weights(again, net)
    assert resumed.history == history.history


def test_resume_without_a_checkpoint_starts_fresh(
    tmp_path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="timesteps.training"):
        net, _ = toy_run(1, checkpoint_dir=tmp_path, resume=True, verbose=1)
    assert "no checkpoint in" in caplog.text
    _assert_same_weights(net, toy_run(1)[0])


def test_starting_over_an_existing_checkpoint_warns(tmp_path) -> None:
    toy_run(1, checkpoint_dir=tmp_path)
    with pytest.warns(UserWarning, match=r"holds a checkpoint and resume=False"):
        toy_run(1, checkpoint_dir=tmp_path)


def test_the_checkpoint_holds_everything_to_continue(tmp_path) -> None:
    toy_run(2, checkpoint_dir=tmp_path, **SETTINGS)
    saved = load_checkpoint(tmp_path)
    assert saved.epoch == 2 and saved.history.epochs == 2
    assert set(saved.module) == set(ToyNet().state_dict())
    assert saved.best_module is not None and set(saved.best_module) == set(saved.module)
    assert saved.optimizer["param_groups"][0]["betas"] == (0.9, 0.999)  # a tuple
    assert saved.optimizer["state"][0]["exp_avg"].dtype == torch.float32
    assert saved.stopping["wait"] in (0, 1)
    assert saved.rng["torch"].dtype == torch.uint8
    assert len(saved.rng["numpy"][1]) == 624


def test_a_truncated_checkpoint_is_refused_clearly(tmp_path) -> None:
    toy_run(1, checkpoint_dir=tmp_path)
    path = tmp_path / FILENAME
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ValueError, match=r"cannot be used.*Fix: delete the file"):
        toy_run(2, checkpoint_dir=tmp_path, resume=True)


def test_a_changed_byte_is_refused(tmp_path) -> None:
    toy_run(1, checkpoint_dir=tmp_path)
    path = tmp_path / FILENAME
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x01  # a bit of the last tensor's data
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"do not match their SHA-256 digest"):
        load_checkpoint(tmp_path)


class _Trap:
    def __reduce__(self):
        return (os.system, ("touch trap-was-run",))


def test_a_pickle_is_never_loaded(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / FILENAME).write_bytes(pickle.dumps({"model": _Trap()}))
    with pytest.raises(ValueError, match=r"unreadable file"):
        load_checkpoint(tmp_path)
    assert not (tmp_path / "trap-was-run").exists()


def test_a_checkpoint_of_another_model_is_refused(tmp_path) -> None:
    toy_run(1, checkpoint_dir=tmp_path)
    from toys import ToyBatches, mse_loss, toy_data

    from timesteps.training import TrainConfig, fit

    x, y = toy_data(32)
    config = TrainConfig(epochs=2, verbose=0, checkpoint_dir=tmp_path, resume=True)
    bigger = ToyNet(units=9)
    with pytest.raises(ValueError, match=r"model weights in .* do not fit"):
        fit(bigger, mse_loss, ToyBatches(x, y, 16), config=config)

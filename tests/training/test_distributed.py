"""Two processes under torchrun (gloo, CPU) against one process.

Why they agree: DDP averages the two ranks' gradients of their batch-mean losses;
when the two ranks' batches of a step are the two halves of the one process'
batch (equal sizes), that average is the gradient of the whole batch's mean, so
every step is the same update up to float rounding (the order of the sums).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from ddp_worker import data_layer_run, toy_batches_run
from safetensors.torch import load_file

from timesteps.training import load_checkpoint

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ddp")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(HERE)}
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone",
        "--nproc_per_node", "2", str(HERE / "ddp_worker.py"), str(out),
    ]  # fmt: skip
    # a session of its own, so that a hung run is ended with all its workers
    launcher = subprocess.Popen(
        command, env=env, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        _, stderr = launcher.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        os.killpg(launcher.pid, signal.SIGKILL)
        launcher.communicate()
        raise
    assert launcher.returncode == 0, stderr[-3000:]
    return out


@pytest.mark.parametrize(
    ("name", "run", "batch"),
    [("toy", toy_batches_run, 16), ("data", data_layer_run, 16)],
)
def test_two_ranks_match_one_process_with_the_same_global_batches(
    two_ranks: Path, name, run, batch
) -> None:
    rank0 = load_file(two_ranks / "rank0.safetensors")
    rank1 = load_file(two_ranks / "rank1.safetensors")
    histories = [json.loads((two_ranks / f"rank{r}.json").read_text()) for r in (0, 1)]
    net, history = run(batch)
    for key, value in net.state_dict().items():
        # DDP keeps the ranks bit-identical ...
        assert torch.equal(rank0[f"{name}.{key}"], rank1[f"{name}.{key}"]), key
        # ... and equal to one process up to the order of float sums
        torch.testing.assert_close(rank0[f"{name}.{key}"], value, rtol=0, atol=2e-6)
    # the epoch losses are summed over both ranks: the same on each, and equal
    # to the one process' losses
    assert histories[0][name] == histories[1][name]
    for key, values in history.history.items():
        assert histories[0][name][key] == pytest.approx(values, rel=1e-5)


def test_rank_zero_alone_writes_the_checkpoint(two_ranks: Path) -> None:
    folder = two_ranks / "checkpoints"
    assert os.listdir(folder) == ["checkpoint.safetensors"]
    assert load_checkpoint(folder).epoch == 3

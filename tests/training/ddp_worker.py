"""Training runs compared between one process and two under torchrun.

Run as ``torchrun --nproc_per_node 2 ddp_worker.py OUT``: each rank writes its
weights and histories to OUT/rank{r}.safetensors and OUT/rank{r}.json. The test
runs the same functions in one process with twice the batch size.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import torch
from toys import ToyBatches, ToyNet, mse_loss, toy_data

from timesteps.data.batches import Batches
from timesteps.data.sequence_set import SequenceSet
from timesteps.data.views import SeriesTargetView
from timesteps.training import TrainConfig, fit


def config(**changes):
    return TrainConfig(epochs=3, lr=0.01, verbose=0, **changes)


def toy_batches_run(global_batch: int, checkpoint_dir=None):
    """ToyBatches, shuffled: shard gives each rank half of every global batch."""
    torch.manual_seed(1)
    net = ToyNet()
    x, y = toy_data(64)
    batches = ToyBatches(x, y, global_batch, seed=3)
    history = fit(net, mse_loss, batches, config=config(checkpoint_dir=checkpoint_dir))
    return net, history


def data_layer_run(batch_size: int):
    """timesteps Batches, unshuffled: rank r takes batches r, r + 2, ... so the
    two batches of b rows that run together are one batch of 2b rows."""
    torch.manual_seed(1)
    net = ToyNet()
    x, y = toy_data(64)
    data = SequenceSet(
        x.reshape(-1, 2).numpy(), np.arange(0, 64 * 5 + 1, 5), target=y[:, 0].numpy()
    )
    batches = Batches(SeriesTargetView(data), batch_size=batch_size, shuffle=False)

    def loss_fn(module, batch):
        out = module(batch.x)[:, 0]
        return torch.nn.functional.mse_loss(out, batch.y), len(batch.x)

    return net, fit(net, loss_fn, batches, config=config())


def main(out: Path) -> None:
    from safetensors.torch import save_file

    torch.set_num_threads(1)
    rank = int(os.environ["RANK"])
    toy_net, toy_history = toy_batches_run(16, checkpoint_dir=out / "checkpoints")
    data_net, data_history = data_layer_run(8)
    tensors = {f"toy.{k}": v for k, v in toy_net.state_dict().items()}
    tensors |= {f"data.{k}": v for k, v in data_net.state_dict().items()}
    save_file(tensors, out / f"rank{rank}.safetensors")
    histories = {"toy": toy_history.history, "data": data_history.history}
    (out / f"rank{rank}.json").write_text(json.dumps(histories))


if __name__ == "__main__":
    main(Path(sys.argv[1]))

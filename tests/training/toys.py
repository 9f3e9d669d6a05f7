"""Small models and batches for the trainer's tests (also imported by the worker
scripts the distributed and interruption tests start)."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class ToyBatch:
    x: torch.Tensor  # (B, T, F)
    y: torch.Tensor  # (B, 1)


class ToyBatches:
    """Equal-length rows, reshuffled per epoch from (seed, epoch); ``shard`` gives
    rank r the rows ``r::world_size`` of every batch, so W processes with batches
    of b rows take the steps one process with batches of W x b rows takes."""

    def __init__(self, x, y, batch_size, shuffle=True, seed=0):
        self.x, self.y = x, y
        self.batch_size, self.shuffle, self.seed = batch_size, shuffle, seed
        self.epoch, self.rank, self.world_size = 0, 0, 1

    @property
    def n_rows(self):
        return len(self.x) // self.world_size

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def set_epoch(self, epoch):
        self.epoch = epoch

    def shard(self, rank, world_size):
        share = ToyBatches(self.x, self.y, self.batch_size, self.shuffle, self.seed)
        share.rank, share.world_size = rank, world_size
        return share

    def __iter__(self):
        n = len(self.x)
        order = torch.arange(n)
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed * 1000 + self.epoch)
            order = torch.randperm(n, generator=generator)
        for start in range(0, n, self.batch_size):
            rows = order[start : start + self.batch_size][self.rank :: self.world_size]
            yield ToyBatch(self.x[rows], self.y[rows])


class ToyNet(torch.nn.Module):
    """GRU(8) on the last step, then Linear(1): a small recurrent regressor."""

    def __init__(self, features=2, units=8, dropout=0.0):
        super().__init__()
        self.rnn = torch.nn.GRU(features, units, batch_first=True)
        self.dropout = torch.nn.Dropout(dropout)
        self.head = torch.nn.Linear(units, 1)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(self.dropout(out[:, -1]))


def toy_data(n=96, steps=5, features=2, seed=0):
    """y = mean of the first feature over time + 0.5 x last value of the second."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, steps, features, generator=generator)
    y = x[:, :, 0].mean(1, keepdim=True) + 0.5 * x[:, -1, 1:2]
    return x, y


def mse_loss(module, batch):
    return torch.nn.functional.mse_loss(module(batch.x), batch.y), len(batch.x)


def abs_error(module, batch):
    return (module(batch.x) - batch.y).abs().sum(), batch.y.numel()


def toy_run(
    epochs, checkpoint_dir=None, resume=False, seed=0, dropout=0.2, verbose=0, **extra
):
    """A run used by several tests: fresh ToyNet (weights from torch seed 1)."""
    from timesteps.training import TrainConfig, fit

    torch.manual_seed(1)
    net = ToyNet(dropout=dropout)
    x, y = toy_data()
    train = ToyBatches(x[:64], y[:64], batch_size=16, seed=seed)
    validation = ToyBatches(x[64:], y[64:], batch_size=16, shuffle=False)
    config = TrainConfig(
        epochs=epochs,
        lr=0.01,
        seed=seed,
        verbose=verbose,
        checkpoint_dir=checkpoint_dir,
        resume=resume,
        **extra,
    )
    history = fit(net, mse_loss, train, validation, config, {"mae": abs_error})
    return net, history

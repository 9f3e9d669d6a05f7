"""Training past one process: ``torchrun`` and DistributedDataParallel.

Under ``torchrun`` (environment variables ``RANK``, ``WORLD_SIZE`` and
``LOCAL_RANK`` set, ``WORLD_SIZE > 1``) :func:`~timesteps.training.fit`:

- starts the process group (``gloo`` on CPU, ``nccl`` on CUDA, where each process
  takes ``cuda:LOCAL_RANK``), unless the caller already started one;
- wraps the module in ``DistributedDataParallel``, which copies rank 0's weights
  to every process and averages the gradients of every step over the processes;
- trains each process on ``train.shard(rank, world_size)``, its share of the
  batches, and validates on its share of the validation batches;
- sums the loss and metric sums and counts over the processes once per epoch, so
  every process sees the same exact means and takes the same early-stopping
  decision;
- lets rank 0 alone log, draw progress and write checkpoints.

Why one process with batches of 2b samples and two processes with batches of b
give the same weights: each step, DDP averages the two processes' gradients of
their batch-mean losses. When the two shards' batches number k are the two halves
of the global batch k and hold as many elements each, that average is the
gradient of the global batch's mean loss: the same update, equal up to float
rounding. ``Batches.shard`` is built to keep that (same batch order on every
rank, equal batch counts); the trainer checks the counts.
"""

from __future__ import annotations

import atexit
import logging
import os
from dataclasses import dataclass, field
from typing import Any

import torch

from .._errors import problem

log = logging.getLogger(__name__)


@dataclass
class Distributed:
    """This process' place in a run: rank, number of processes, device."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def active(self) -> bool:
        """True when more than one process trains."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """True on rank 0, the process that logs and writes checkpoints."""
        return self.rank == 0

    def wrap(self, module: torch.nn.Module) -> torch.nn.Module:
        """The module DDP-wrapped when several processes train, else itself."""
        if not self.active:
            return module
        from torch.nn.parallel import DistributedDataParallel

        device_ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(module, device_ids=device_ids)

    def shard(self, batches: Any, name: str) -> Any:
        """This process' share of ``batches`` (all of them in one process)."""
        if not self.active or batches is None:
            return batches
        if not hasattr(batches, "shard"):
            raise TypeError(
                problem(
                    f"{name} under torchrun",
                    "batches with shard(rank, world_size), such as timesteps Batches",
                    type(batches).__name__,
                    "build the batches with timesteps.data.Batches",
                )
            )
        return batches.shard(self.rank, self.world_size)

    def check_equal_steps(self, steps: int) -> None:
        """Every process must take the same number of steps per epoch, or DDP's
        gradient averaging waits forever for the process that ran out."""
        if not self.active:
            return
        import torch.distributed as dist

        counts = torch.tensor([steps, -steps], device=self.device)
        dist.all_reduce(counts, op=dist.ReduceOp.MAX)
        most, fewest = int(counts[0]), -int(counts[1])
        if most != fewest:
            raise ValueError(
                problem(
                    "training batches per process",
                    "the same number of batches on every process",
                    f"between {fewest} and {most} (this is rank {self.rank}, "
                    f"{steps} batches)",
                    "shard the batches with Batches.shard, which evens them out",
                )
            )

    def sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """``tensor`` summed over the processes (itself in one process)."""
        if self.active:
            import torch.distributed as dist

            dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor

    def barrier(self) -> None:
        """Wait until every process got here."""
        if self.active:
            import torch.distributed as dist

            dist.barrier()


def setup(device: str) -> Distributed:
    """Join the run ``torchrun`` started, if any, and pick this process' device.

    Reads ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``. The process group is
    started once per process and kept for later ``fit`` calls (a group cannot be
    started again under ``torchrun`` once ended); it ends when the process
    exits. A group the caller already started is used as it is.
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        rank, world_size = dist.get_rank(), dist.get_world_size()
        local_rank = int(os.environ.get("LOCAL_RANK", rank))
        return Distributed(rank, world_size, local_rank, _device(device, local_rank))
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if "RANK" not in os.environ or world_size <= 1:
        return Distributed(device=torch.device(device))
    if not dist.is_available():
        raise RuntimeError(
            problem(
                "torchrun started several processes",
                "a torch build with torch.distributed",
                "torch.distributed unavailable",
            )
        )
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    place = _device(device, local_rank)
    if place.type == "cuda":
        torch.cuda.set_device(place)
    backend = "nccl" if place.type == "cuda" else "gloo"
    dist.init_process_group(backend=backend)
    atexit.register(_end_group)
    log.info("process %d of %d on %s (%s)", rank, world_size, place, backend)
    return Distributed(rank, world_size, local_rank, place)


def _end_group() -> None:
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()


def _device(device: str, local_rank: int) -> torch.device:
    place = torch.device(device)
    if place.type == "cuda" and place.index is None:
        return torch.device("cuda", local_rank)
    return place

"""The process group of a ``torchrun`` launch, as the trainer and the feature extractor use it.

interpnet does not start processes itself: ``torchrun`` (or any launcher that sets ``RANK``,
``WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT``) does, and :func:`current` joins the
process group it describes (``nccl`` on CUDA, ``gloo`` on the CPU) or uses the one the caller
already initialised. Models train with PyTorch's ``DistributedDataParallel``; this module only
adds how interpnet splits a global batch between the ranks so that N processes compute the
gradient one process would.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class Distributed:
    """This process's place in the group: ``rank`` of ``world_size`` (0 of 1 alone)."""

    rank: int = 0
    world_size: int = 1

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes files and logs."""
        return self.rank == 0

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def sum(self, values: Sequence[float], device: torch.device | str = "cpu") -> list[float]:
        """Each value summed over the ranks (float64, so the order of ranks hardly matters)."""
        if not self.enabled:
            return [float(v) for v in values]
        t = torch.tensor([float(v) for v in values], dtype=torch.float64, device=device)
        dist.all_reduce(t)
        return t.tolist()

    def part(self, n: int) -> torch.Tensor:
        """This rank's contiguous share of ``range(n)`` (the first ranks get one more)."""
        return torch.arange(n).tensor_split(self.world_size)[self.rank]

    def shard(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, float]:
        """This rank's share of a global batch ``index``: its positions in the batch, the items,
        and the weight of its mean loss such that DDP's average of the ranks' gradients is
        the gradient of the mean loss over the whole batch (``world_size * n_rank / n``). A
        rank left without items (a batch smaller than the world) gets one item and weight 0,
        as DDP needs every rank to run a forward and backward pass."""
        if not self.enabled:
            return torch.arange(len(index)), index, 1.0
        pos = self.part(len(index))
        if len(pos) == 0:
            return torch.zeros(1, dtype=torch.long), index[:1], 0.0
        return pos, index[pos], self.world_size * len(pos) / len(index)

    def wrap(self, module: nn.Module, device: torch.device) -> nn.Module:
        """``module`` in ``DistributedDataParallel`` when there is a group, else itself."""
        if not self.enabled:
            return module
        ids = [device.index] if device.type == "cuda" and device.index is not None else None
        return nn.parallel.DistributedDataParallel(module, device_ids=ids)

    def local_device(self, device: torch.device) -> torch.device:
        """On CUDA under ``torchrun``, the GPU of this process's ``LOCAL_RANK``."""
        if device.type != "cuda" or not self.enabled or device.index is not None:
            return device
        local = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(local)
        return local


def current(backend: str | None = None) -> Distributed:
    """The process group this process belongs to: the caller's if one is initialised, else
    the one ``torchrun``'s environment describes (joined here), else none (one process)."""
    if dist.is_available() and dist.is_initialized():
        return Distributed(dist.get_rank(), dist.get_world_size())
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1 or not dist.is_available():
        return Distributed()
    if backend is None:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend=backend)
    return Distributed(dist.get_rank(), dist.get_world_size())


def join(device: torch.device) -> Distributed:
    """:func:`current`, with the backend for ``device``: ``nccl`` on CUDA, ``gloo`` on the CPU."""
    return current("nccl" if device.type == "cuda" else "gloo")


def is_main_process() -> bool:
    """True unless this is a non-zero rank of a launch (read from the group or ``RANK``)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank() == 0
    return int(os.environ.get("RANK", "0")) == 0

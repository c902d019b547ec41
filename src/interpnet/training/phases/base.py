"""What a training phase is: a small object the :class:`~interpnet.training.Trainer`'s epoch
loop drives, and the :class:`TrainingContext` it trains in."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from interpnet.data.splits import SplitData
from interpnet.distributed import Distributed
from interpnet.model import InterpNet
from interpnet.rundir import RunDirectory
from interpnet.training.args import TrainingArgs
from interpnet.training.batching import class_groups, length_buckets
from interpnet.training.checkpoint import Checkpointer
from interpnet.training.pairs import SplitPairs
from interpnet.training.state import TrainingState, epoch_generator


@dataclass
class TrainingContext:
    """What every phase reads and shares: the model, its data (``train``/``val``), the options,
    the process group and device, the run directory and its checkpointer; ``pairs`` (r(x) and
    reference pairs of each split, once the explainer phases have read them) and ``forward``
    (the module the current phase runs: its learner, in DistributedDataParallel under a
    process group)."""

    model: InterpNet
    data: dict[str, SplitData]
    args: TrainingArgs
    dist: Distributed
    device: torch.device
    run: RunDirectory
    checkpointer: Checkpointer
    progress: bool = True
    log: Callable[[str], None] = print
    pairs: dict[str, SplitPairs] = field(default_factory=dict)
    forward: nn.Module | None = None

    def read_pairs(self) -> None:
        """r(x) of train and val, and their reference pairs (:class:`SplitPairs`)."""
        self.pairs = {
            name: SplitPairs.read(
                self.model,
                split,
                split.tokens(),
                self.args.max_length,
                self.device,
            )
            for name, split in self.data.items()
        }

    def batches(
        self,
        n: int,
        batch_size: int,
        phase: str,
        epoch: int,
        desc: str,
        lengths: torch.Tensor | None = None,
        classes: torch.Tensor | None = None,
    ) -> Iterable[torch.Tensor]:
        """Shuffled batches of ``n`` items; of similar ``lengths``, or in groups of
        ``args.class_groups`` items of one of ``classes``, when given."""
        gen = epoch_generator(self.args.seed, phase, epoch)
        order = torch.randperm(n, generator=gen)
        if lengths is not None:
            chunks = length_buckets(order, lengths, batch_size, gen)
        elif classes is not None:
            chunks = class_groups(order, classes, self.args.class_groups, batch_size)
        else:
            chunks = order.split(batch_size)
        return tqdm(chunks, desc=desc, unit="batch", leave=False, disable=not self.progress)


class Phase:
    """One phase of training. The trainer's loop calls :meth:`setup` once, then
    :meth:`epoch` until ``max_epochs`` or ``args.patience`` epochs without a better
    :meth:`score`, keeping the best weights and multiplying the learning rate by
    :attr:`lr_decay` after each epoch that is not better."""

    name = ""
    lr_decay = 0.5

    def __init__(self, ctx: TrainingContext) -> None:
        self.ctx = ctx

    def enabled(self) -> bool:
        """Whether the run trains this phase."""
        return True

    def max_epochs(self) -> int:
        raise NotImplementedError

    def initial_lr(self) -> float:
        raise NotImplementedError

    def learner(self) -> nn.Module:
        """The module this phase trains."""
        raise NotImplementedError

    def optimizer(self, lr: float) -> torch.optim.Optimizer:
        raise NotImplementedError

    def setup(self, state: TrainingState) -> None:
        """Before the first epoch (also of a resumed phase)."""

    def epoch(self, optimizer: torch.optim.Optimizer, epoch: int) -> dict[str, Any]:
        """Train one epoch and validate; the epoch's log record (``train_loss``, ``lr``, ...)."""
        raise NotImplementedError

    def score(self, record: dict[str, Any]) -> list[float]:
        """The validation score of an epoch's record: higher is better."""
        raise NotImplementedError

"""The checkpointer: a run's training state (model, optimizer, RNG and :class:`TrainingState`,
one atomic file) and its best weights."""

from __future__ import annotations

from typing import Any

import torch

from interpnet.distributed import Distributed
from interpnet.errors import CheckpointError
from interpnet.model import InterpNet
from interpnet.rundir import RunDirectory
from interpnet.storage import load_tensors
from interpnet.training.optim_state import flatten_optimizer, unflatten_optimizer
from interpnet.training.state import TrainingState


class Checkpointer:
    """Reads and writes ``run``'s training state and best weights; in a process group only
    rank 0 writes."""

    def __init__(self, run: RunDirectory, dist: Distributed) -> None:
        self.run, self.dist = run, dist
        self.param_groups: list[dict[str, Any]] = []  # the optimizer's, as last read

    def read(self) -> TrainingState | None:
        """The saved state, or None when no epoch has finished yet."""
        saved = self.run.read_state()
        if saved is None:
            return None
        self.param_groups = saved.get("param_groups") or []
        return TrainingState.from_dict(saved)

    def save(
        self, model: InterpNet, state: TrainingState, optimizer: torch.optim.Optimizer | None
    ) -> None:
        if not self.dist.is_main:
            return
        tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
        tensors["rng"] = torch.get_rng_state()
        groups: list[dict] = []
        if optimizer is not None:
            opt_tensors, groups = flatten_optimizer(optimizer.state_dict())
            tensors.update(opt_tensors)
        self.run.save_state(tensors, {**state.to_dict(), "param_groups": groups})

    def restore(self, model: InterpNet, optimizer: torch.optim.Optimizer) -> None:
        """Model, optimizer and RNG as the last saved state left them."""
        tensors = load_tensors(self.run.state_weights, "training state")
        model_state = {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}
        try:
            model.load_state_dict(model_state)
            if self.param_groups:
                optimizer.load_state_dict(unflatten_optimizer(tensors, self.param_groups))
        except (RuntimeError, ValueError, KeyError) as err:
            raise CheckpointError(
                f"{self.run.state_dir}: training state does not match "
                f"this run ({str(err).splitlines()[0]})"
            ) from None
        torch.set_rng_state(tensors["rng"])

    def save_best(self, model: InterpNet) -> None:
        if self.dist.is_main:
            model.save_pretrained(self.run.path)

    def load_best(self, model: InterpNet, prefix: str = "") -> None:
        """Load the best weights (only those whose names start with ``prefix``)."""
        self.dist.barrier()  # rank 0 has written them
        best = load_tensors(self.run.weights, "best weights")
        if prefix:
            best = {k: v for k, v in best.items() if k.startswith(prefix)}
            model.load_state_dict(best, strict=False)
        else:
            model.load_state_dict(best)

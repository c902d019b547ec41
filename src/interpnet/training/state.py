"""Where training stands (:class:`TrainingState`), saved after every epoch so that a run
resumes where it stopped."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import torch

PHASES = ("classifier", "explainer", "discriminative")


@dataclass
class TrainingState:
    """The phase being trained (or ``done``), its finished epochs, its best validation score so
    far (a list compared lexicographically), epochs since that best and the learning rate."""

    phase: str
    epoch: int = 0
    best: list[float] | None = None
    bad_epochs: int = 0
    lr: float = 0.0

    @classmethod
    def fresh(cls, phase: str, lr: float) -> TrainingState:
        return cls(phase, lr=lr)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingState:
        return cls(**{f.name: data[f.name] for f in fields(cls)})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def logged_epochs(self) -> dict[str, int]:
        """{phase: last epoch this state covers}: all of the phases before its phase, its
        finished epochs, none of the phases after it."""
        order = PHASES.index(self.phase) if self.phase in PHASES else len(PHASES)
        return {
            phase: 10**9 if i < order else self.epoch if i == order else 0
            for i, phase in enumerate(PHASES)
        }


def epoch_generator(seed: int, phase: str, epoch: int) -> torch.Generator:
    """The generator that orders the batches of one epoch of one phase."""
    if phase == "discriminative":
        return torch.Generator().manual_seed(seed * 1_000_003 + 500_000 + epoch)
    return torch.Generator().manual_seed(seed * 1_000_003 + epoch * 2 + (phase == "explainer"))

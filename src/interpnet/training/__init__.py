"""Training: the two-phase :class:`Trainer` for any classifier, its :class:`TrainingArgs`, and
the CLI's :class:`TrainConfig` with the functions that build a run from it."""

from interpnet.training.args import TrainingArgs
from interpnet.training.config import RECIPES, TrainConfig
from interpnet.training.configured import configured_trainer, resume_run
from interpnet.training.fit import fit
from interpnet.training.trainer import Trainer

__all__ = [
    "RECIPES",
    "TrainConfig",
    "Trainer",
    "TrainingArgs",
    "configured_trainer",
    "fit",
    "resume_run",
]

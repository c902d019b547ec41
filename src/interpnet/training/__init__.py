"""Training: the :class:`Trainer` for any classifier, its :class:`TrainingArgs`, and the CLI's
flat :class:`TrainConfig` (the functions that build a run from it are workflows:
:mod:`interpnet.workflows.train`)."""

from interpnet.training.args import TrainingArgs
from interpnet.training.build import build_model
from interpnet.training.callbacks import Callback, EarlyStopping, EpochLog
from interpnet.training.config import RECIPES, TrainConfig
from interpnet.training.fit import fit
from interpnet.training.trainer import Trainer

__all__ = [
    "Callback",
    "EarlyStopping",
    "EpochLog",
    "build_model",
    "RECIPES",
    "TrainConfig",
    "Trainer",
    "TrainingArgs",
    "fit",
]

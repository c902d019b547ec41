"""Two-phase training with the paper's recipe."""

from interpnet.training.config import TrainConfig
from interpnet.training.trainer import Trainer

__all__ = ["TrainConfig", "Trainer"]

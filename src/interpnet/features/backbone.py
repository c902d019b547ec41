"""What a pretrained backbone is (:class:`Backbone`: a frozen feature extractor and the
preprocessing its weights expect) and how its weights load from disk; the builders by name are
in :mod:`interpnet.features.backbones`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from interpnet.storage import load_tensors, load_torch_file

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


@dataclass
class Backbone:
    """A frozen feature extractor: ``features(x)`` -> (N, D) pooled features, plus the
    preprocessing its weights expect (shorter side -> ``resize``, centre crop ``crop``)."""

    name: str
    model: nn.Module
    feature_layer: str  # module whose (pooled) output is the feature vector
    crop: int = 224
    resize: int = 256
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    classify: Callable[[torch.Tensor], torch.Tensor] | None = field(default=None, repr=False)
    # the global pooling module: its input is the backbone's last feature map (None: unknown)
    pool_layer: str | None = None

    def preprocessing(self) -> dict:
        return {
            "resize_shorter": self.resize,
            "center_crop": self.crop,
            "mean": self.mean,
            "std": self.std,
        }

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 (N, 3, H, W) -> normalised float."""
        mean = torch.tensor(self.mean, device=images.device).view(1, 3, 1, 1)
        std = torch.tensor(self.std, device=images.device).view(1, 3, 1, 1)
        return (images.float() / 255.0 - mean) / std


def load_backbone_weights(path: Path) -> dict[str, torch.Tensor]:
    """A pretrained backbone's state dict from a file on disk (safetensors, or a torch.save
    file read without running pickled code)."""
    if path.suffix == ".safetensors":
        return load_tensors(path, "backbone weights")
    return load_torch_file(path, "backbone weights")

"""Image files -> what a trained model's classifier takes, from the model's input spec.

A run records its input spec (``InterpNet.input_spec``): ``{"kind": "image", "preprocessing":
{...}}`` for a classifier on pixels, or ``{"kind": "features", "backbone": ..., "side_inputs":
{...}}`` for one on frozen-backbone features; this module turns image files into that input.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from interpnet.data.images import ImagePreprocessing
from interpnet.errors import InterpnetError
from interpnet.features.backbones import MAP, Backbone, get_backbone, image_features


class FileInputs:
    """Callable: a list of image paths -> a batch of classifier inputs (on ``device``).

    The backbone of a feature-trained model is built once, on first use.
    """

    def __init__(self, input_spec: dict[str, Any], device: str | torch.device = "cpu"):
        self.spec = dict(input_spec or {})
        self.device = device
        self._backbone: Backbone | None = None
        self.preprocess: ImagePreprocessing | None = None  # how files become pixel inputs
        kind = self.spec.get("kind")
        if kind == "image":
            pre = self.spec.get("preprocessing") or {"size": self.spec.get("image_size")}
            if pre.get("size") is None:
                raise InterpnetError("the model's input spec has no image size")
            self.preprocess = ImagePreprocessing.from_dict(pre)
        elif kind != "features":
            raise InterpnetError(
                "this model was not trained on image files (its input spec is "
                f"{self.spec or 'empty'}); give it input tensors instead"
            )

    @property
    def seen_as(self) -> ImagePreprocessing | None:
        """How an image file looks to the model: its classifier's pixel input, or the crop its
        backbone reads (a feature run's maps lie on the backbone's grid of it); None for a
        feature run before its first call."""
        if self.preprocess is not None:
            return self.preprocess
        if self._backbone is None:
            return None
        return ImagePreprocessing(self._backbone.crop, self._backbone.resize)

    def __call__(self, paths: Sequence[str | Path]) -> torch.Tensor:
        paths = list(paths)
        if self.spec["kind"] == "image":
            return self.preprocess(paths).to(self.device)
        if self._backbone is None:
            self._backbone = get_backbone(self.spec["backbone"])
            self._backbone.model.to(self.device)
        sides = list(self.spec.get("side_inputs", {}))
        layers = [name for name in sides if name != MAP]
        spatial = MAP in sides
        return image_features(self._backbone, paths, layers, self.device, spatial).to(self.device)

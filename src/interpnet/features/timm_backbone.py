"""``timm/<name>`` backbones: a timm architecture with its pretrained weights read from the
local Hugging Face cache (where ``timm.create_model(name, pretrained=True)`` leaves them), never
downloaded. The classifier head is replaced by the identity, whose output is the pooled
pre-logits features."""

from __future__ import annotations

import math
from pathlib import Path

from interpnet.errors import ConfigError, InterpnetError
from interpnet.features.backbone import Backbone, load_backbone_weights
from interpnet.libraries import check_registered, import_library

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def cached_weights(hub_id: str) -> Path | None:
    """The weights file of the Hugging Face repository ``hub_id`` in the local cache
    (``$HF_HUB_CACHE``), or None."""
    from huggingface_hub import try_to_load_from_cache

    for filename in WEIGHT_FILES:
        found = try_to_load_from_cache(hub_id, filename)
        if isinstance(found, str):
            return Path(found)
    return None


def timm_backbone(name: str) -> Backbone:
    """The timm model ``name`` (e.g. ``resnet50`` or ``vit_small_patch16_224.augreg_in21k``)
    as a frozen feature extractor with its pretrained weights and preprocessing."""
    timm = import_library("timm", f"backbone timm/{name}")
    check_registered("timm", timm, name)
    model = timm.create_model(name, pretrained=False)
    hub_id = model.pretrained_cfg.get("hf_hub_id")
    path = cached_weights(hub_id) if hub_id else None
    if path is None:
        raise InterpnetError(
            f"timm/{name}: pretrained weights ({hub_id or 'no Hugging Face repository'}) not in "
            "the local Hugging Face cache; interpnet does not download: fetch them once with "
            f"timm.create_model({name!r}, pretrained=True) where the network is reachable"
        )
    model.load_state_dict(load_backbone_weights(path))
    model.reset_classifier(0)  # the head becomes the identity: its output is the features
    head = model.pretrained_cfg.get("classifier")
    head = head[0] if isinstance(head, list | tuple) else head
    if head not in dict(model.named_modules()):
        raise ConfigError(f"timm/{name}: no classifier module {head!r} to read features from")
    modules = dict(model.named_modules())
    pool = next((n for n in ("global_pool", "head.global_pool") if n in modules), None)
    config = timm.data.resolve_data_config({}, model=model)
    crop = int(config["input_size"][-1])
    return Backbone(
        f"timm/{name}",
        model,
        feature_layer=head,
        crop=crop,
        resize=int(math.floor(crop / config.get("crop_pct", 0.875))),
        mean=tuple(config["mean"]),
        std=tuple(config["std"]),
        pool_layer=pool,
    )

"""Frozen pretrained backbones and a resumable feature cache."""

from interpnet.features.backbones import Backbone, available_backbones, get_backbone, register
from interpnet.features.cache import FeatureCache, extract_features

__all__ = [
    "Backbone",
    "FeatureCache",
    "available_backbones",
    "extract_features",
    "get_backbone",
    "register",
]

"""Models: classifiers, the introspector, the explainer and the InterpNet wrapper."""

from interpnet.introspector import Introspector
from interpnet.model.classifier import CNNClassifier, MLPClassifier, build_classifier
from interpnet.model.conditioning import VARIANTS, Conditioning
from interpnet.model.explainer import (
    EXPLAINERS,
    Explainer,
    ExplainerConfig,
    register_explainer,
    sentence_loss,
)
from interpnet.model.interpnet import Explanation, InterpNet
from interpnet.model.loading import load_classifier
from interpnet.model.lrcn import LRCNExplainer

__all__ = [
    "EXPLAINERS",
    "VARIANTS",
    "CNNClassifier",
    "Conditioning",
    "Explainer",
    "ExplainerConfig",
    "Explanation",
    "InterpNet",
    "Introspector",
    "LRCNExplainer",
    "MLPClassifier",
    "build_classifier",
    "load_classifier",
    "register_explainer",
    "sentence_loss",
]

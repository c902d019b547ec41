"""Models: classifiers, the introspector, the explainer and the InterpNet wrapper."""

from interpnet.introspector import Introspector
from interpnet.model.classifier import CNNClassifier, MLPClassifier, build_classifier
from interpnet.model.conditioning import VARIANTS, Conditioning
from interpnet.model.explainer import ExplainerConfig, LRCNExplainer, sentence_loss
from interpnet.model.interpnet import Explanation, InterpNet
from interpnet.model.loading import load_classifier

__all__ = [
    "VARIANTS",
    "CNNClassifier",
    "Conditioning",
    "ExplainerConfig",
    "Explanation",
    "InterpNet",
    "Introspector",
    "LRCNExplainer",
    "MLPClassifier",
    "build_classifier",
    "load_classifier",
    "sentence_loss",
]

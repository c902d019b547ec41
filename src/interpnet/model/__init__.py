"""Models: classifiers, the introspector, the explainer and the InterpNet wrapper."""

from interpnet.model.classifier import CNNClassifier, MLPClassifier, build_classifier
from interpnet.model.conditioning import VARIANTS, Conditioning
from interpnet.model.explainer import LRCNExplainer, sentence_loss
from interpnet.model.interpnet import Explanation, InterpNet
from interpnet.model.introspector import Introspector

__all__ = [
    "VARIANTS",
    "CNNClassifier",
    "Conditioning",
    "Explanation",
    "InterpNet",
    "Introspector",
    "LRCNExplainer",
    "MLPClassifier",
    "build_classifier",
    "sentence_loss",
]

"""interpnet: natural-language explanations generated from a classifier's own activations.

Reference implementation of InterpNET (Barratt 2017, arXiv 1710.09511).
"""

from interpnet.model import (
    CNNClassifier,
    Conditioning,
    Explanation,
    InterpNet,
    Introspector,
    LRCNExplainer,
    MLPClassifier,
)
from interpnet.text import Vocabulary, detokenize, tokenize

__version__ = "0.1.0"

__all__ = [
    "CNNClassifier",
    "Conditioning",
    "Explanation",
    "InterpNet",
    "Introspector",
    "LRCNExplainer",
    "MLPClassifier",
    "Vocabulary",
    "detokenize",
    "tokenize",
]

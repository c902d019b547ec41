"""interpnet: natural-language explanations generated from a classifier's own activations.

Reference implementation of InterpNET (Barratt 2017, arXiv 1710.09511).
"""

from interpnet.attribution import WordAttribution, WordAttributor
from interpnet.data.parts import PartAnnotations
from interpnet.decoding import Decoding
from interpnet.evidence import EvidenceMaps, WordEvidence
from interpnet.model import (
    CNNClassifier,
    Conditioning,
    Explainer,
    ExplainerConfig,
    Explanation,
    InterpNet,
    Introspector,
    LRCNExplainer,
    MLPClassifier,
    load_classifier,
    register_explainer,
)
from interpnet.rundir import RunDirectory
from interpnet.text import Vocabulary, detokenize, tokenize
from interpnet.training import Trainer, TrainingArgs, build_model, fit
from interpnet.workflows.evaluation import Evaluation, evaluate
from interpnet.workflows.explain import explain_files
from interpnet.workflows.grounding import ground_explanations
from interpnet.workflows.intervention import intervention_test
from interpnet.workflows.rerank import Reranker
from interpnet.workflows.run import Run

__version__ = "0.1.0"

__all__ = [
    "CNNClassifier",
    "Conditioning",
    "Decoding",
    "Explainer",
    "ExplainerConfig",
    "Evaluation",
    "EvidenceMaps",
    "Explanation",
    "InterpNet",
    "Introspector",
    "LRCNExplainer",
    "MLPClassifier",
    "PartAnnotations",
    "Reranker",
    "Run",
    "RunDirectory",
    "Trainer",
    "TrainingArgs",
    "Vocabulary",
    "WordAttribution",
    "WordAttributor",
    "WordEvidence",
    "build_model",
    "build_report",
    "detokenize",
    "evaluate",
    "explain_files",
    "fit",
    "ground_explanations",
    "intervention_test",
    "load_classifier",
    "register_explainer",
    "tokenize",
]


def __getattr__(name: str):
    # the report pulls in matplotlib and Jinja2: imported when first asked for
    if name == "build_report":
        from interpnet.report.html import build_report

        return build_report
    raise AttributeError(f"module 'interpnet' has no attribute {name!r}")

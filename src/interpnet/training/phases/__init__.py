"""The training phases: classifier, explainer, and the discriminative (policy-gradient) phase,
each a small :class:`~interpnet.training.phases.base.Phase` the trainer's loop drives."""

from interpnet.training.phases.base import Phase, TrainingContext
from interpnet.training.phases.classifier import ClassifierPhase
from interpnet.training.phases.explainer import ExplainerPhase
from interpnet.training.phases.policy_gradient import PolicyGradientPhase

__all__ = ["ClassifierPhase", "ExplainerPhase", "Phase", "PolicyGradientPhase", "TrainingContext"]

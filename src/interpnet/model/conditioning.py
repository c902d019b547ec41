"""Conditioning variants: which parts of the classifier the explainer reads.

- ``captioning``: the input features x only (an image captioner).
- ``interpnet``: InterpNET_k: x, the first k hidden layers and the softmax output.
- ``output-only``: InterpNET_0: the softmax output only.
- ``gve-label``: x plus a learned embedding of the class (true class in training, predicted
  class at test time): the "explanation-label" baseline of Hendricks et al. 2016.
- ``gve``: ``gve-label`` trained further with GVE's discriminative loss (a reward for
  sentences a sentence classifier assigns to the true class): the full GVE baseline.
- ``custom``: the layers named in ``layers`` (plus optional input/softmax) of any classifier.

``decision_label=True`` adds, to a variant that reads the softmax, a learned embedding of the
classifier's decision (the argmax of that softmax, in training and at test time alike): the
decision as a discrete input beside r(x), as gve-label's label is, but the network's own.

For a classifier with a ``feature_layer_name`` (the CNN), "x" is that layer's output, the
feature vector the paper's MLP classifies; otherwise x is the classifier's input.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from torch import nn

from interpnet.errors import ConfigError
from interpnet.introspector import Introspector
from interpnet.options import option

VARIANTS = ("captioning", "interpnet", "output-only", "gve-label", "gve", "custom")


@dataclass
class Conditioning:
    """A conditioning variant, serialisable to JSON."""

    variant: str = option(
        "interpnet",
        help=(
            "what the explainer reads: one of captioning, interpnet, output-only, gve-label, gve, "
            "custom"
        ),
        choices=VARIANTS,
    )
    num_hidden: int = option(
        2,
        help="for variant interpnet: how many hidden layers r(x) includes (InterpNET_k)",
    )
    layers: list[str] = option(
        factory=list,
        help="for variant custom: module names whose activations form r(x)",
    )
    include_input: bool = option(
        False,
        help="for variant custom: add the classifier input to r(x)",
    )
    include_softmax: bool = option(
        False,
        help="for variant custom: add the softmax output to r(x)",
    )
    pool: str = option(
        "avg",
        help=(
            "how a spatial activation (N, C, H, W) becomes part of r(x): 'avg' (global average "
            "pooling), 'max', 'flatten', or 'none' (every position kept, for an explainer that "
            "attends over them: --explainer attention or transformer)"
        ),
        choices=("avg", "max", "flatten", "none"),
    )
    decision_label: bool = option(
        False,
        help=(
            "give the explainer a learned embedding of the classifier's decision (the argmax of "
            "r(x)'s softmax) beside r(x)"
        ),
    )

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ConfigError(f"unknown variant {self.variant!r}; choose one of {VARIANTS}")
        reads_softmax = self.variant in ("interpnet", "output-only") or (
            self.variant == "custom" and self.include_softmax
        )
        if self.decision_label and not reads_softmax:
            raise ConfigError(
                f"decision_label embeds the argmax of the softmax in r(x); the {self.variant} "
                "variant reads no softmax (use interpnet, output-only, or custom with "
                "include_softmax)"
            )

    def phase3_defaults(self) -> dict[str, Any]:
        """The discriminative phase the variant trains when none is asked for: for ``gve``
        (GVE, Hendricks et al. 2016: gve-label trained further with the true-class reward), 10
        epochs of the true-class reward; for any other, none."""
        if self.variant == "gve":
            return {"discriminative_epochs": 10, "rewards": {"class-true": 1.0}}
        return {"discriminative_epochs": 0, "rewards": {}}

    def check_phase3(self, discriminative_epochs: int, rewards: dict[str, float]) -> None:
        """The variant's demands on the discriminative phase (``gve`` needs the true-class
        reward, else it is only gve-label)."""
        if self.variant == "gve" and not (discriminative_epochs > 0 and "class-true" in rewards):
            raise ConfigError(
                "the gve variant is gve-label trained with the true-class reward: set "
                "discriminative_epochs > 0 and rewards={'class-true': 1.0}"
            )

    @property
    def uses_label(self) -> bool:
        """Whether the explainer takes a class label: the true class in training for
        gve-label/gve, the classifier's decision for ``decision_label``."""
        return self.variant in ("gve-label", "gve") or self.decision_label

    @property
    def name(self) -> str:
        """A short display name, e.g. ``InterpNET_2``."""
        if self.variant == "interpnet":
            name = f"InterpNET_{self.num_hidden}"
        else:
            name = {"output-only": "InterpNET_0", "gve": "GVE"}.get(self.variant, self.variant)
        return name + " + decision label" if self.decision_label else name

    def to_dict(self) -> dict:
        return asdict(self)

    def introspector(self, classifier: nn.Module) -> Introspector:
        """The introspector that collects this variant's r(x) from ``classifier``."""
        if self.variant == "custom":
            return Introspector(
                classifier, self.layers, self.include_input, self.include_softmax, self.pool
            )
        feature = getattr(classifier, "feature_layer_name", None)
        x_layers = [feature] if feature else []
        x_input = feature is None
        if self.variant == "output-only":
            return Introspector(classifier, [], include_softmax=True, pool=self.pool)
        if self.variant in ("captioning", "gve-label", "gve"):
            return Introspector(classifier, x_layers, include_input=x_input, pool=self.pool)
        hidden = list(getattr(classifier, "hidden_layer_names", []))
        if not 0 <= self.num_hidden <= len(hidden):
            raise ConfigError(
                f"interpnet variant asks for {self.num_hidden} hidden layers but the classifier "
                f"has {len(hidden)} ({hidden}); lower num_hidden or add hidden layers"
            )
        return Introspector(
            classifier,
            x_layers + hidden[: self.num_hidden],
            include_input=x_input,
            include_softmax=True,
            pool=self.pool,
        )
